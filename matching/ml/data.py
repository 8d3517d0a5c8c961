"""Self-supervised training pairs from occupation ontologies: several titles naming one occupation are positives.

No manual labels. Every pair carries its occupation as a group id, so two texts of one occupation in a batch are
never a negative pair. Labels that name several occupations are dropped: they would make false positives.
The evaluation sets (JobBERT validation titles, Avature) never enter here.
"""

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..reference_data import esco_onet_crosswalk, esco_titles, onet_titles


@dataclass(frozen=True)
class Pair:
    anchor: str
    positive: str
    group: str


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def drop_ambiguous(titles: dict[str, list[str]]) -> tuple[dict[str, list[str]], int]:
    """Remove labels shared by several groups (lower-cased), and duplicates within a group."""
    owners = Counter(label for labels in titles.values() for label in {_normal(t) for t in labels})
    cleaned, dropped = {}, 0
    for group, labels in titles.items():
        seen, keep = set(), []
        for label in labels:
            key = _normal(label)
            if owners[key] > 1:
                dropped += 1
            elif key not in seen:
                seen.add(key)
                keep.append(label)
        cleaned[group] = keep
    return cleaned, dropped


# What real postings do to a title: case, seniority, boilerplate, abbreviations, typos.
_PREFIXES = ["Senior ", "Junior ", "Assistant ", "Lead ", "Trainee ", "Head ", "Executive ", "Sr. ", "Jr. "]
_SUFFIXES = [
    " (m/f/d)",
    " - Kuala Lumpur",
    " - Urgent",
    " | Full Time",
    " - Part Time",
    " Intern",
    " Executive",
    " Staff",
    " (Contract)",
    " - Immediate Start",
    " / Officer",
    " - Remote",
]
_ABBREVIATIONS = {
    "manager": "mgr",
    "engineer": "eng",
    "assistant": "asst",
    "executive": "exec",
    "administrator": "admin",
    "representative": "rep",
    "technician": "tech",
    "senior": "sr",
    "operator": "op",
    "development": "dev",
    "specialist": "spec",
    "administrative": "admin",
}


def noisy_title(title: str, rng: random.Random) -> str:
    """A posting-like variant of an ontology label (the JobBERT titles are real, noisy postings)."""
    text = title
    if rng.random() < 0.15:
        text = rng.choice(_PREFIXES) + text
    if rng.random() < 0.15:
        text += rng.choice(_SUFFIXES)
    if rng.random() < 0.15:
        text = " ".join(_ABBREVIATIONS.get(word.lower(), word) for word in text.split())
    if rng.random() < 0.1 and len(text) > 4:
        i = rng.randrange(1, len(text) - 2)
        text = text[:i] + text[i + 1] + text[i] + text[i + 2 :] if rng.random() < 0.5 else text[:i] + text[i + 1 :]
    # Not case: the tokenizer lower-cases, so upper/title case changed nothing for a fifth of the noisy anchors.
    words = text.split()
    if rng.random() < 0.2 and len(words) >= 2:
        text = f"{words[-1]}, {' '.join(words[:-1])}"  # "nurse, district": inverted, as job boards list them
    elif rng.random() < 0.1:
        text = text.replace(" ", rng.choice(["-", " / ", "  "]), 1)
    return text


@dataclass(frozen=True)
class PairSet:
    pairs: list[Pair]
    groups: int
    dropped_ambiguous: int
    sources: dict[str, str]  # file name -> sha256
    # group -> groups the crosswalk relates it to (close/broad/narrow matches): never negatives of each other
    related: dict[str, set[str]] = field(default_factory=dict)
    merged_by_crosswalk: int = 0  # O*NET occupations whose titles joined their exactly-matched ESCO occupation


def _first_sentences(text: str, limit: int = 300) -> str:
    cut = text[:limit]
    return cut[: cut.rfind(".") + 1] if "." in cut else cut


def ontology_pairs(
    *,
    esco: Path,
    onet: Path | None = None,
    seed: int = 0,
    noise: float = 0.5,
    descriptions: bool = True,
    extra: list[Pair] | None = None,
    crosswalk: Path | None = None,
) -> PairSet:
    """One epoch's pairs: each label paired with another label of its occupation (the anchor made posting-like
    with probability `noise`), plus title -> description pairs; shuffled deterministically by `seed`.

    With the ESCO <-> O*NET `crosswalk`, an O*NET occupation exactly matched to one ESCO occupation joins it (its
    titles become that occupation's positives, one group across the taxonomies), and occupations it relates less
    tightly (close, broad, narrow) are recorded in `related`, so the loss never treats them as negatives."""
    rng = random.Random(seed)
    titles, texts = esco_titles(esco)
    sources = {esco.name: file_sha256(esco)}
    related: dict[str, set[str]] = {}
    merged = 0
    if onet is not None:
        onet_groups, onet_texts = onet_titles(onet)
        sources[onet.name] = file_sha256(onet)
        if crosswalk is not None:
            sources[crosswalk.name] = file_sha256(crosswalk)
            links = [(f"onet:{code}", uri, kind) for code, uri, kind in esco_onet_crosswalk(crosswalk)]
            exact: dict[str, set[str]] = {}
            for code, uri, kind in links:
                if kind == "exactMatch" and code in onet_groups and uri in titles:
                    exact.setdefault(code, set()).add(uri)
            for code, uris in sorted(exact.items()):
                if len(uris) == 1:  # an O*NET code exact to several ESCO occupations stays its own group
                    titles[next(iter(uris))] = titles[next(iter(uris))] + onet_groups.pop(code)
                    merged += 1
            for code, uri, kind in links:
                if kind != "exactMatch" and code in onet_groups and uri in titles:
                    related.setdefault(code, set()).add(uri)
                    related.setdefault(uri, set()).add(code)
        titles |= onet_groups
        texts |= {code: text for code, text in onet_texts.items() if code in onet_groups}
    titles, dropped = drop_ambiguous(titles)
    pairs = []
    for group, labels in sorted(titles.items()):
        if len(labels) >= 2:
            for label in labels:
                other = rng.choice([candidate for candidate in labels if candidate != label])
                anchor = noisy_title(label, rng) if rng.random() < noise else label
                pairs.append(Pair(anchor, other, group))
        if descriptions and labels and texts.get(group):
            for label in rng.sample(labels, min(3, len(labels))):
                pairs.append(
                    Pair(
                        noisy_title(label, rng) if rng.random() < noise else label,
                        _first_sentences(texts[group]),
                        group,
                    )
                )
    pairs += extra or []
    rng.shuffle(pairs)
    return PairSet(
        pairs=pairs,
        groups=len(titles),
        dropped_ambiguous=dropped,
        sources=sources,
        related=related,
        merged_by_crosswalk=merged,
    )
