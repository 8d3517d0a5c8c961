"""The talent map: a tenant's vectors projected to 2-D (PCA), each point coloured by the ISCO major group of its
nearest ESCO occupation. PCA rather than UMAP/t-SNE: deterministic, no extra dependency, milliseconds for a few
thousand points, and distances along its axes keep a meaning a recruiter can read (near = similar)."""

import threading
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings

from jobmatch_site import queue
from tenants.models import Tenant

from .. import task_names
from ..models import EncoderVersion, Kind
from ..reference_data import ISCO_MAJOR_GROUPS, esco_occupations
from .encoding import active_encoder_version, encoder_for

GROUP_NAMES = ISCO_MAJOR_GROUPS

MAX_POINTS = 1500  # more is unreadable as a scatter plot and slow to draw; a sample of the newest rows
_lock = threading.Lock()
_requested: dict[int, float] = {}  # version -> when this process last asked a worker to prepare it
ASK_AGAIN_AFTER_S = 120  # a request lost with a broker outage is repeated, a pending one is not doubled


@dataclass(frozen=True)
class Occupations:
    labels: list[str]
    groups: list[str]  # ISCO major group digit
    vectors: np.ndarray


@dataclass(frozen=True)
class MapPoint:
    record_id: int
    external_id: str
    title: str
    x: float  # 0..1
    y: float  # 0..1
    occupation: str
    group: str


@cache  # the shipped CSV does not change while the process runs; parsing it is ~0.1 s a page view
def _esco() -> tuple[list[str], list[str]]:
    known = [o for o in esco_occupations() if o.label and o.isco_group]
    return [o.label for o in known], [o.isco_group[0] for o in known]


def _cache_path(version: EncoderVersion) -> Path:
    return Path(settings.MODELS_DIR) / "cache" / f"esco-occupations-{version.pk}-{version.name}.npy"


def occupations(version: EncoderVersion, *, compute: bool = True) -> Occupations | None:
    """ESCO's occupations under one encoder version. Encoding them takes seconds to a minute on a busy CPU, so a
    worker does it once (prepare_talent_map_task) and caches it on disk; with compute=False a miss is None."""
    labels, groups = _esco()
    cache = _cache_path(version)
    with _lock:
        if cache.exists():
            vectors = np.load(cache)
            if vectors.shape == (len(labels), version.dimension):
                return Occupations(labels, groups, vectors)
        if not compute:
            return None
        vectors, _ = encoder_for(version).encode(labels, batch_size=128)
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npy")
        np.save(partial, vectors)
        partial.replace(cache)  # another process never reads a half-written file
    return Occupations(labels, groups, vectors)


def talent_map(*, tenant: Tenant, kind: Kind) -> list[MapPoint] | None:
    """The points, or None while the occupations of the tenant's encoder are still being prepared. A point's colour
    is its row's stored top occupation (services/occupations.py); a row still without one is coloured by its
    nearest ESCO label, as before stored occupations existed."""
    version = active_encoder_version(tenant=tenant)
    rows = list(
        kind.embedding_model.objects.filter(tenant=tenant, encoder_version=version)
        .order_by("-record_id")
        .values_list("record_id", "record__external_id", "record__title", "vector", "occupations")[:MAX_POINTS]
    )
    if not rows:
        return []
    vectors = np.asarray([row[3] for row in rows], dtype=np.float32)
    named = [(row[4][0]["label"], row[4][0]["isco_group"][:1]) if row[4] else None for row in rows]
    if None in named:
        known = occupations(version, compute=False)
        if known is None:
            request_preparation(version)
            return None
        nearest = (vectors @ known.vectors.T).argmax(axis=1)
        named = [own or (known.labels[n], known.groups[n]) for own, n in zip(named, nearest, strict=True)]
    xy = _pca_2d(vectors)
    return [
        MapPoint(record_id=record_id, external_id=external_id, title=title, x=float(x), y=float(y),
                 occupation=label, group=group)
        for (record_id, external_id, title, _, _), (x, y), (label, group) in zip(rows, xy, named, strict=True)
    ]  # fmt: skip


def _pca_2d(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    if len(vectors) < 3:
        return np.full((len(vectors), 2), 0.5)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    xy = centred @ components[:2].T
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-9)
    return (xy - xy.min(axis=0)) / span


def request_preparation(version: EncoderVersion) -> None:
    """Queue the occupation vectors' encoding on a worker (after the current transaction commits)."""
    if time.monotonic() - _requested.get(version.pk, -ASK_AGAIN_AFTER_S) >= ASK_AGAIN_AFTER_S:
        _requested[version.pk] = time.monotonic()
        queue.send_on_commit(task_names.PREPARE_TALENT_MAP, version.pk)
