"""The fallback threshold of an encoder version, fitted on shipped validation data (never on a tenant's rows).

Pairs: every JobBERT validation title (a noisy vacancy title tagged with its ESCO occupation) against ESCO
preferred labels. Positive: the title vs its own occupation's label. Negatives, two per title: the nearest other
occupation's label (the confusion a search actually shows: results are near neighbours) and one random other
occupation's label (the bulk of a tenant's rows). Encoding ~13k titles and ~3k labels takes 30-60 s on 2 CPU cores,
so this runs in a worker or a command, once per version, and the result is stored (GlobalCalibration).
"""

import csv
import logging
import time
from pathlib import Path

import numpy as np

from tenants.models import Tenant

from ..ml.metrics import opis
from ..ml.thresholds import fit_threshold
from ..models import EncoderVersion, GlobalCalibration
from .demo import DATA_DIR, load_esco_occupations
from .encoding import encoder_for

logger = logging.getLogger(__name__)

VALIDATION_CSV = DATA_DIR / "jobbert_eval_validation_en.csv"
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
CURVE_POINTS = 200  # dense enough to read a max-false-accept-rate tenant's point off the best-F1 fit


def validation_pairs(
    *, version: EncoderVersion, titles: int | None = None, occupations: int | None = None, seed: int = 0,
    path: Path = VALIDATION_CSV,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(similarities, is_positive, ISCO major group) over the validation pairs; `titles` and `occupations`
    subsample (titles first, then other occupations up to that many labels) for quick runs and tests."""
    rng = np.random.default_rng(seed)
    esco = {o.uri: o for o in load_esco_occupations()}
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["vacancyTitle"].strip(), r["conceptUri"]) for r in csv.DictReader(handle) if r["conceptUri"] in esco]
    if titles is not None and titles < len(rows):
        rows = [rows[i] for i in sorted(rng.choice(len(rows), size=titles, replace=False))]
    uris = sorted({uri for _, uri in rows})
    others = sorted(set(esco) - set(uris))
    if occupations is not None:
        others = list(rng.permutation(others)[: max(occupations - len(uris), 0)])
    uris += sorted(others)
    column = {uri: i for i, uri in enumerate(uris)}
    encoder = encoder_for(version)
    title_vectors, _ = encoder.encode([title for title, _ in rows])
    label_vectors, _ = encoder.encode([esco[uri].label for uri in uris])
    own = np.array([column[uri] for _, uri in rows])
    positive, nearest, random = [], [], []
    for start in range(0, len(rows), 2048):  # 2048 x 3007 floats per block keeps memory flat
        block = title_vectors[start : start + 2048] @ label_vectors.T
        index = np.arange(len(block))
        mine = own[start : start + 2048]
        positive.append(block[index, mine])
        block[index, mine] = -np.inf
        nearest.append(block.max(axis=1))
        pick = (mine + rng.integers(1, len(uris), size=len(block))) % len(uris)  # any column but its own
        random.append(block[index, pick])
    groups = np.array([ISCO_MAJOR_GROUPS.get(esco[uri].isco_group[:1], "unknown") for _, uri in rows], dtype=object)
    similarities = np.concatenate([np.concatenate(positive), np.concatenate(nearest), np.concatenate(random)])
    is_positive = np.r_[np.ones(len(rows), dtype=bool), np.zeros(2 * len(rows), dtype=bool)]
    return similarities, is_positive, np.concatenate([groups, groups, groups])


def calibrate_global(
    *, version: EncoderVersion, titles: int | None = None, occupations: int | None = None, seed: int = 0
) -> GlobalCalibration:
    """Fit and store the version's global best-F1 threshold, its curve and OPIS across ISCO major groups."""
    started = time.monotonic()
    similarities, is_positive, groups = validation_pairs(
        version=version, titles=titles, occupations=occupations, seed=seed
    )
    fitted = fit_threshold(similarities, is_positive, curve_points=CURVE_POINTS)
    consistency = opis(similarities, is_positive, groups).opis
    seconds = round(time.monotonic() - started, 1)
    calibration, _ = GlobalCalibration.objects.update_or_create(
        encoder_version=version,
        defaults={
            "n_labels": fitted.n_labels,
            "n_good": int(is_positive.sum()),
            "threshold": fitted.threshold,
            "precision": fitted.precision,
            "recall": fitted.recall,
            "f1": fitted.f1,
            "false_accept_rate": fitted.false_accept_rate,
            "curve": fitted.curve,
            "opis_groups": consistency,
            "config": {
                "data": VALIDATION_CSV.name,
                "titles": int(is_positive.sum()),
                "negatives": "nearest other occupation + one random other occupation, per title",
                "labels": "ESCO v1.1.1 preferred labels",
                "occupations": occupations,
                "seed": seed,
                "seconds": seconds,
            },
        },
    )
    logger.info(
        "global calibration %s: threshold %.4f, precision %.3f recall %.3f F1 %.3f on %s pairs; "
        "OPIS across ISCO major groups %s (%.0f s)",
        version.name,
        calibration.threshold,
        calibration.precision,
        calibration.recall,
        calibration.f1,
        calibration.n_labels,
        "n/a" if consistency is None else f"{consistency:.5f}",
        seconds,
    )
    return calibration


def ensure_global_calibrations() -> int:
    """Fit the global threshold of every version a tenant serves that has none yet; returns how many were fitted."""
    versions = EncoderVersion.objects.filter(
        pk__in=Tenant.objects.filter(active_encoder__isnull=False).values("active_encoder"),
        global_calibration__isnull=True,
    )
    fitted = 0
    for version in versions:
        calibrate_global(version=version)
        fitted += 1
    return fitted
