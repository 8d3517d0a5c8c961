"""An encoder version's confidence calibrator (matching/ml/confidence.py): fitted on the validation data, stored
in the version's config["confidence"], read by searches and `evaluate`.

Data: every JobBERT validation title against every ESCO occupation (preferred and alternative labels, each
occupation scored by its best label), as `evaluate` scores them; a hit is right when it is the title's own
occupation. Fitted on the titles outside the held-out half (a hash of the text), reported on both halves. Encoding
~13k titles and ~33k labels takes 2-4 minutes on 2 shared CPU cores, so a worker or a command fits it, once per
version; the base encoder's fit ships (matching/data/confidence/) and is stored when its version is prepared.
"""

import json
import logging
import time
from pathlib import Path

import numpy as np
from django.db import transaction

from jobmatch_site.generations import bump

from ..ml.confidence import Calibrator, fit_validated
from ..ml.evaluation import build_corpus, id_scores
from ..models import EncoderVersion
from ..reference_data import CONFIDENCE_DIR, JOBBERT_VALIDATION_CSV, esco_titles, validation_titles
from .encoding import encoder_for

logger = logging.getLogger(__name__)

# `manage.py calibrate --confidence --export matching/data/confidence/<name>.json` wrote each file from its fit.
SHIPPED_DIR = CONFIDENCE_DIR


def confidence_calibrator(version: EncoderVersion) -> Calibrator | None:
    """The version's stored calibrator, or None while it has none (searches then report no confidence)."""
    payload = (version.config or {}).get("confidence")
    return Calibrator.from_json(payload) if payload else None


def validation_scores(
    *, version: EncoderVersion, titles: int | None = None, occupations: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(id scores [titles, occupations], each title's own occupation's column, the titles). `titles` and
    `occupations` subsample (quick runs and tests: the titles' own occupations are always kept)."""
    rng = np.random.default_rng(seed)
    labels, _ = esco_titles(hidden=False)
    rows = [(title, uri) for title, uri in validation_titles(JOBBERT_VALIDATION_CSV) if uri in labels]
    if titles is not None and titles < len(rows):
        rows = [rows[i] for i in sorted(rng.choice(len(rows), size=titles, replace=False))]
    if occupations is not None and occupations < len(labels):
        own = {uri for _, uri in rows}
        others = sorted(set(labels) - own)
        extra = rng.choice(len(others), size=max(occupations - len(own), 0), replace=False)
        labels = {uri: labels[uri] for uri in own | {others[i] for i in extra}}
    corpus = build_corpus([(uri, label) for uri, texts in labels.items() for label in texts])
    column = {uri: i for i, uri in enumerate(corpus.ids)}
    encoder = encoder_for(version)
    title_vectors, _ = encoder.encode([title for title, _ in rows])
    label_vectors, _ = encoder.encode(corpus.texts)
    targets = np.array([column[uri] for _, uri in rows])
    return id_scores(title_vectors, label_vectors, corpus), targets, [title for title, _ in rows]


def _store(version: EncoderVersion, payload: dict) -> None:
    """Write config["confidence"] without losing a concurrent change to the rest of the config."""
    with transaction.atomic():
        config = EncoderVersion.objects.select_for_update().values_list("config", flat=True).get(pk=version.pk)
        config = (config or {}) | {"confidence": payload}
        EncoderVersion.objects.filter(pk=version.pk).update(config=config)
        bump(None)  # an update() sends no post_save: memoised calibrators (search_settings.py) must reload
    version.config = config


def fit_confidence_calibrator(
    *, version: EncoderVersion, titles: int | None = None, occupations: int | None = None, seed: int = 0
) -> dict:
    """Fit, store and return the version's calibrator (config["confidence"]): what to call for a new version.

    The stored payload is the calibrator (Calibrator.to_json) plus its figures: ECE and AUROC of the top hit on the
    fit half, the held-out half and all titles, and the held-out reliability diagram."""
    started = time.monotonic()
    scores, targets, queries = validation_scores(version=version, titles=titles, occupations=occupations, seed=seed)
    calibrator, report = fit_validated(scores, targets, queries)
    payload = calibrator.to_json() | {
        "metrics": {part: report[part] for part in ("fit", "held_out", "all")},
        "reliability": report["reliability"],
        "data": {
            "titles": JOBBERT_VALIDATION_CSV.name,
            "n_titles": len(queries),
            "occupations": int(scores.shape[1]),
            "labels": "ESCO v1.1.1 preferred + alternative labels, each occupation scored by its best",
            "fitted_on": "titles whose text's sha256 starts with an even byte; held out: odd",
            "seed": seed,
            "seconds": round(time.monotonic() - started, 1),
        },
    }
    _store(version, payload)
    held = report["held_out"]
    logger.info(
        "confidence calibrator %s: held-out ECE %s, AUROC %s on %s titles (%.0f s)",
        version.name,
        held["ece"],
        held["auroc"],
        held["n"],
        payload["data"]["seconds"],
    )
    return payload


def export_confidence_calibrator(*, version: EncoderVersion, path: Path) -> dict:
    """Write the version's stored calibrator (fitting it first if there is none) as JSON, for shipping."""
    payload = (version.config or {}).get("confidence") or fit_confidence_calibrator(version=version)
    path.parent.mkdir(parents=True, exist_ok=True)
    shipped = {"encoder": version.name, "artifact": version.artifact_path, "confidence": payload}
    path.write_text(json.dumps(shipped, indent=1) + "\n")
    return payload


def shipped_confidence(*, name: str, artifact: str) -> dict | None:
    """The shipped calibrator of this model (same version name and artifact), or None."""
    path = SHIPPED_DIR / f"{name}.json"
    if not path.exists():
        return None
    shipped = json.loads(path.read_text())
    if shipped.get("encoder") != name or shipped.get("artifact") != artifact:
        return None  # a trained version that happens to share the name: its own fit is needed
    return shipped["confidence"] | {"source": f"shipped: matching/data/confidence/{path.name}"}


def load_shipped_confidence(version: EncoderVersion) -> dict | None:
    """Store the shipped calibrator of a version whose model is the shipped one; None when there is none."""
    if (payload := shipped_confidence(name=version.name, artifact=version.artifact_path)) is not None:
        _store(version, payload)
    return payload


def served_calibrator(*, name: str, artifact: str) -> Calibrator | None:
    """`evaluate`'s calibrator for a model: its version's stored one, else the shipped one (read, not stored)."""
    version = EncoderVersion.objects.filter(name=name, artifact_path=artifact).first()
    if version is not None and (calibrator := confidence_calibrator(version)) is not None:
        return calibrator
    payload = shipped_confidence(name=name, artifact=artifact)
    return Calibrator.from_json(payload) if payload else None
