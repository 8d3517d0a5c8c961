"""The reference data JobMatch ships in matching/data/ (sources and licences in its README): where each file is and
how it reads. The one module that names these files; pure Python, so matching/ml/ and the services both use it.
"""

import csv
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
ESCO_CSV = DATA_DIR / "esco_v1.1.1_occupations_en.csv"  # ESCO v1.1.1 occupations (CC BY 4.0)
ONET_TSV = DATA_DIR / "onet_27.0_titles.tsv"  # O*NET 27.0 occupation, alternate and reported titles (CC BY 4.0)
JOBBERT_VALIDATION_CSV = DATA_DIR / "jobbert_eval_validation_en.csv"  # evaluation only (MIT)
# The official ESCO <-> O*NET-SOC 2019 crosswalk (ESCO reuse policy; O*NET CC BY 4.0): training groups only.
CROSSWALK_CSV = DATA_DIR / "esco_onet_crosswalk_v1.csv"
GLOBAL_CALIBRATION_DIR = DATA_DIR / "global_calibration"  # fits of the encoders that ship with the product
ENCODERS_DIR = DATA_DIR / "encoders"  # trained encoders shipped as their int8 ONNX export, with training.json
CONFIDENCE_DIR = DATA_DIR / "confidence"  # confidence calibrators of the encoders that ship with the product

csv.field_size_limit(10_000_000)  # ESCO descriptions and label lists run past the csv module's default

# ISCO-08 major groups: the talent map's colours, the demo's `occupation_group`, and OPIS classes.
ISCO_MAJOR_GROUPS = {
    "0": "armed forces",
    "1": "managers",
    "2": "professionals",
    "3": "technicians and associate professionals",
    "4": "clerical support workers",
    "5": "service and sales workers",
    "6": "skilled agricultural, forestry and fishery workers",
    "7": "craft and related trades workers",
    "8": "plant and machine operators and assemblers",
    "9": "elementary occupations",
}


@dataclass(frozen=True)
class Occupation:
    uri: str
    isco_group: str
    label: str
    alt_labels: list[str]
    description: str
    hidden_labels: tuple[str, ...] = ()

    @property
    def major_group(self) -> str:
        return ISCO_MAJOR_GROUPS.get(self.isco_group[:1], "unknown")


def _lines(cell: str) -> list[str]:
    return [label.strip() for label in cell.split("\n") if label.strip()]


@cache
def _esco(path: Path) -> tuple[Occupation, ...]:
    with path.open(newline="", encoding="utf-8") as handle:
        return tuple(
            Occupation(
                uri=row["conceptUri"],
                isco_group=row["iscoGroup"],
                label=row["preferredLabel"].strip(),
                alt_labels=_lines(row["altLabels"]),
                description=row["description"].strip(),
                hidden_labels=tuple(_lines(row["hiddenLabels"])),
            )
            for row in csv.DictReader(handle)
        )


def esco_occupations(path: Path = ESCO_CSV) -> list[Occupation]:
    """Every ESCO occupation, in the file's order (read once per process)."""
    return list(_esco(path))


def validation_titles(path: Path = JOBBERT_VALIDATION_CSV) -> list[tuple[str, str]]:
    """(vacancy title, ESCO occupation URI) of the JobBERT validation split, for evaluation and global thresholds."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["vacancyTitle"].strip(), row["conceptUri"]) for row in csv.DictReader(handle)]


def esco_titles(path: Path = ESCO_CSV, *, hidden: bool = True) -> tuple[dict[str, list[str]], dict[str, str]]:
    """{occupation uri: [preferred, alternative (and hidden) labels]}, {uri: description}."""
    titles, descriptions = {}, {}
    for occupation in esco_occupations(path):
        labels = [occupation.label, *occupation.alt_labels, *(occupation.hidden_labels if hidden else ())]
        titles[occupation.uri] = [label for label in labels if label]
        descriptions[occupation.uri] = occupation.description
    return titles, descriptions


def onet_titles(path: Path = ONET_TSV) -> tuple[dict[str, list[str]], dict[str, str]]:
    """{O*NET-SOC code: [occupation, alternate and reported titles]}, {code: description}."""
    titles, descriptions = defaultdict(list), {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            code = "onet:" + row["onetsoc_code"]
            titles[code] += [t for t in (row["title"].strip(), row["short_title"].strip()) if t]
            if row["title_type"] == "occupation":
                descriptions[code] = row["description"].strip()
    return dict(titles), descriptions


def esco_onet_crosswalk(path: Path = CROSSWALK_CSV) -> list[tuple[str, str, str]]:
    """(O*NET-SOC code, ESCO occupation URI, match type: exactMatch, closeMatch, broadMatch, narrowMatch) rows;
    the file's metadata lines above its header, and the mappings to ISCO groups, are skipped."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("O*NET Id,"))
    rows = csv.DictReader(lines[header:])
    return [
        (row["O*NET Id"].strip(), row["ESCO or ISCO URI"].strip(), row["Type of Match"].strip())
        for row in rows
        if "/occupation/" in row["ESCO or ISCO URI"]
    ]
