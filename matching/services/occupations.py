"""ESCO occupations under an encoder version (issue 20): their vectors, prepared by a worker
(prepare_occupation_vectors) and stored in PostgreSQL, and the ranking of texts against them that matching/ml/
occupations.py measures best. services/normalization.py serves it; encoding.py stores each record's top 3."""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction

from jobmatch_site import queue

from .. import task_names
from ..ml.encoder import TextEncoder
from ..ml.occupations import (
    DEFAULT_WEIGHTS,
    LexicalIndex,
    OccupationIndex,
    OccupationWeights,
    centroids_of,
    dense_scores,
    fused_scores,
    top_occupations,
)
from ..ml.onnx_encoder import OnnxTextEncoder
from ..models import EncoderVersion, OccupationVectors
from ..reference_data import ESCO_CSV, Occupation, esco_occupations

logger = logging.getLogger(__name__)

MAX_K = 50
STORED_PER_RECORD = 3  # what each vacancy and candidate keeps: its top 3
ASK_AGAIN_AFTER_S = 120  # a request lost with a broker outage is repeated, a pending one is not doubled
_requested: dict[int, float] = {}
_lock = threading.Lock()
_loaded: dict[int, OccupationIndex] = {}  # version id -> its stored vectors, read once per process


@dataclass(frozen=True)
class OccupationHit:
    uri: str
    label: str
    isco_group: str
    score: float

    def as_dict(self) -> dict:
        return {"uri": self.uri, "label": self.label, "isco_group": self.isco_group, "score": round(self.score, 4)}


@cache
def reference() -> tuple[tuple[Occupation, ...], tuple[str, ...], np.ndarray]:
    """(occupations, their labels: preferred then alternative, grouped by occupation, the owner of each label)."""
    known = tuple(o for o in esco_occupations() if o.label)
    labels = [[o.label, *o.alt_labels] for o in known]
    owner = np.array([i for i, group in enumerate(labels) for _ in group])
    return known, tuple(label for group in labels for label in group), owner


@cache
def lexical_index() -> LexicalIndex:
    """The TF-IDF channel: from the shipped labels alone, the same for every encoder version (~2 s, once)."""
    _, labels, owner = reference()
    return LexicalIndex(list(labels), owner)


@cache
def occupation_by_uri() -> dict[str, Occupation]:
    return {o.uri: o for o in reference()[0]}


def weights_for(version: EncoderVersion) -> OccupationWeights:
    """The version's own fitted weights (config "occupation_weights"), else the base encoder's."""
    own = version.config.get("occupation_weights") or {}
    return OccupationWeights(**{**DEFAULT_WEIGHTS.__dict__, **own})


# ---- preparation (workers only) ----


def _encoding_cache(version: EncoderVersion) -> Path:
    """Encoded once per (version, backend, ESCO file): a worker that prepares a version again (a new database, a
    lost row) reads the matrices instead of spending a CPU-minute."""
    data = hashlib.sha256(ESCO_CSV.read_bytes()).hexdigest()[:12]
    name = f"esco-normaliser-{version.name}-{settings.ENCODER_BACKEND}-{data}.npz"
    return Path(settings.MODELS_DIR) / "cache" / name


def prepare_occupation_vectors(
    *, version: EncoderVersion, encoder: TextEncoder | OnnxTextEncoder, progress: Callable | None = None
) -> int:
    """Encode ESCO's labels and descriptions with `version` and store them (one transaction, so a reader sees all
    or none). Idempotent: a version already prepared is left alone. Returns the occupations stored."""
    occupations, labels, owner = reference()
    if occupations_prepared(version):
        return 0
    cache_file = _encoding_cache(version)
    label_vectors = description_vectors = None
    if cache_file.exists():
        with np.load(cache_file) as stored:
            if stored["labels"].shape == (len(labels), version.dimension):
                label_vectors, description_vectors = stored["labels"], stored["descriptions"]
    if label_vectors is None:
        label_vectors = _encode(encoder, list(labels), progress, "ESCO labels")
        descriptions = [o.description or o.label for o in occupations]
        description_vectors = _encode(encoder, descriptions, progress, "ESCO descriptions")
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(".partial.npz")
        np.savez(partial, labels=label_vectors, descriptions=description_vectors)
        partial.replace(cache_file)  # another process never reads a half-written file
    centroids = centroids_of(label_vectors, owner, len(occupations))
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1, len(owner)]
    rows = [
        OccupationVectors(
            encoder_version=version,
            uri=o.uri,
            centroid=centroids[i],
            description=description_vectors[i],
            labels=label_vectors[starts[i] : starts[i + 1]].astype("<f4").tobytes(),
            label_count=int(starts[i + 1] - starts[i]),
        )
        for i, o in enumerate(occupations)
    ]
    with transaction.atomic():
        OccupationVectors.objects.filter(encoder_version=version).delete()  # a partial set from an older file
        OccupationVectors.objects.bulk_create(rows, batch_size=500)
    logger.info("occupation vectors of %s stored (%s occupations)", version.name, len(rows))
    return len(rows)


def _encode(encoder: object, texts: list[str], progress: Callable | None, what: str) -> np.ndarray:
    chunk, out = 1024, []
    bar = progress(total=len(texts), desc=what, unit="text") if progress else None
    for begin in range(0, len(texts), chunk):
        out.append(encoder.encode(texts[begin : begin + chunk], batch_size=128)[0])
        if bar is not None:
            bar.update(len(out[-1]))
    if bar is not None:
        bar.close()
    return np.concatenate(out).astype(np.float32)


def occupations_prepared(version: EncoderVersion) -> bool:
    return OccupationVectors.objects.filter(encoder_version=version).count() == len(reference()[0])


def request_occupation_vectors(version: EncoderVersion) -> None:
    """Queue the preparation on a worker (after the current transaction commits); at most every ASK_AGAIN_AFTER_S
    per process, so a burst of requests queues it once."""
    if time.monotonic() - _requested.get(version.pk, -ASK_AGAIN_AFTER_S) >= ASK_AGAIN_AFTER_S:
        _requested[version.pk] = time.monotonic()
        queue.send_on_commit(task_names.PREPARE_OCCUPATIONS, version.pk)


# ---- reads ----


def occupation_index(version: EncoderVersion) -> OccupationIndex | None:
    """The version's stored vectors (read once per process), or None while they are not prepared."""
    with _lock:
        if (index := _loaded.get(version.pk)) is not None:
            return index
        occupations, labels, owner = reference()
        rows = {
            uri: (centroid, description, blob, count)
            for uri, centroid, description, blob, count in OccupationVectors.objects.filter(
                encoder_version=version
            ).values_list("uri", "centroid", "description", "labels", "label_count")
        }
        if len(rows) != len(occupations) or any(
            rows.get(o.uri, (0, 0, 0, -1))[3] != n for o, n in zip(occupations, np.bincount(owner), strict=True)
        ):
            return None  # not prepared yet, or prepared from another ESCO file: a worker will (re)do it
        ordered = [rows[o.uri] for o in occupations]
        index = OccupationIndex(
            label_vectors=np.frombuffer(b"".join(bytes(r[2]) for r in ordered), dtype="<f4").reshape(
                len(labels), version.dimension
            ),
            label_owner=owner,
            centroids=np.asarray([r[0] for r in ordered], dtype=np.float32),
            descriptions=np.asarray([r[1] for r in ordered], dtype=np.float32),
        )
        _loaded[version.pk] = index
        return index


def occupation_scores(
    *, version: EncoderVersion, index: OccupationIndex, vectors: np.ndarray, texts: list[str]
) -> np.ndarray:
    """[texts, occupations in reference() order]: the normaliser's score."""
    weights = weights_for(version)
    return fused_scores(dense_scores(vectors, index, weights), lexical_index().scores(texts), weights)


def rank_occupations(
    *, version: EncoderVersion, index: OccupationIndex, vectors: np.ndarray, texts: list[str], k: int
) -> list[list[OccupationHit]]:
    """Per vector (and its text, for the lexical channel), its top k occupations."""
    best, values = top_occupations(occupation_scores(version=version, index=index, vectors=vectors, texts=texts), k)
    occupations = reference()[0]
    return [
        [
            OccupationHit(uri=occupations[j].uri, label=occupations[j].label, isco_group=occupations[j].isco_group,
                          score=float(v))
            for j, v in zip(row, row_values, strict=True)
        ]
        for row, row_values in zip(best, values, strict=True)
    ]  # fmt: skip


# ---- each record's top 3, stored beside its vector ----


def record_occupation_fields(
    *, version: EncoderVersion, vectors: np.ndarray, titles: list[str]
) -> list[dict[str, object]] | None:
    """The embedding fields (occupations, occupation_uris, isco_codes) of each row, or None while the version's
    occupation vectors are not prepared (the rows keep null occupations; the preparation fills them)."""
    index = occupation_index(version)
    if index is None:
        return None
    ranked = rank_occupations(version=version, index=index, vectors=vectors, texts=titles, k=STORED_PER_RECORD)
    return [occupation_fields(hits) for hits in ranked]


def occupation_fields(hits: Iterable[OccupationHit]) -> dict[str, object]:
    hits = list(hits)
    codes = sorted({hit.isco_group[:n] for hit in hits for n in range(1, len(hit.isco_group) + 1)})
    return {"occupations": [hit.as_dict() for hit in hits], "occupation_uris": [h.uri for h in hits],
            "isco_codes": codes}  # fmt: skip


def forget_loaded_indexes() -> None:
    """Drop this process's copies of stored indexes and its memory of requests sent (tests roll their rows back,
    and a request queued in a rolled-back transaction was never sent)."""
    with _lock:
        _loaded.clear()
        _requested.clear()
