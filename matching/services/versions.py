"""Encoder versions: registering one, and preparing what searches read of it, so that a search only ever reads.

What a version needs before a search may use it: its ONNX export (built here, by a worker, or at start-up, never
inside a request), its global threshold and its confidence calibrator (each the shipped fit of a shipped model,
else fitted by a worker). They are prepared when a version is registered and again at start-up (`serve`), and
the periodic refit fills in a global threshold that is still missing.
"""

import logging

from django.conf import settings
from django.db import connection

from jobmatch_site import queue
from tenants.models import Tenant

from .. import task_names
from ..index_sql import create_vector_indexes
from ..ml.encoder import BASE_DIMENSION, BASE_ENCODER_NAME, BASE_MODEL
from ..models import EncoderVersion, GlobalCalibration
from .confidence import load_shipped_confidence
from .encoding import encoder_for
from .global_calibration import load_shipped_global_calibration

logger = logging.getLogger(__name__)


def ensure_base_encoder() -> EncoderVersion:
    """The untuned all-MiniLM-L6-v2 from its wheel, registered with its HNSW indexes and prepared."""
    version, created = EncoderVersion.objects.get_or_create(
        name=BASE_ENCODER_NAME,
        defaults={"dimension": BASE_DIMENSION, "artifact_path": BASE_MODEL, "config": {"base": "all-MiniLM-L6-v2"}},
    )
    if created:
        create_vector_indexes(connection, version_id=version.id, dimension=version.dimension)
        prepare_global_threshold(version=version)
        prepare_confidence(version=version)
    return version


def prepare_global_threshold(*, version: EncoderVersion) -> GlobalCalibration | None:
    """Store the shipped global fit of a shipped model at once; for any other model queue a worker's fit (minutes
    of encoding). Off with GLOBAL_CALIBRATION_AUTO=0: then only `calibrate --global` fits one."""
    if not settings.GLOBAL_CALIBRATION_AUTO:
        return None
    if (calibration := GlobalCalibration.objects.filter(encoder_version=version).first()) is not None:
        return calibration
    if (calibration := load_shipped_global_calibration(version)) is None:
        queue.send_on_commit(task_names.CALIBRATE_GLOBAL, version.id)
    return calibration


def prepare_confidence(*, version: EncoderVersion) -> dict | None:
    """Store the shipped confidence calibrator of a shipped model at once; for any other model queue a worker's
    fit (minutes of encoding). Off with GLOBAL_CALIBRATION_AUTO=0: then only `calibrate --confidence` fits one."""
    if not settings.GLOBAL_CALIBRATION_AUTO:
        return None
    if payload := version.config.get("confidence"):
        return payload
    if (payload := load_shipped_confidence(version)) is None:
        queue.send_on_commit(task_names.FIT_CONFIDENCE, version.id)
    return payload


def served_versions() -> list[EncoderVersion]:
    """Every version some tenant searches with now."""
    return list(EncoderVersion.objects.filter(pk__in=Tenant.objects.values("active_encoder")).order_by("pk"))


def prepare_versions() -> list[EncoderVersion]:
    """Start-up (`serve`, a worker): each served version's ONNX export built and its global threshold in place."""
    versions = served_versions()
    for version in versions:
        encoder_for(version)  # builds the export once into ENCODER_CACHE_DIR; later processes only load it
        prepare_global_threshold(version=version)
        prepare_confidence(version=version)
    return versions


def request_encoder_preparation(*, version: EncoderVersion) -> None:
    """Ask a worker to build the version's export (a web process found it missing and may not build it)."""
    queue.send(task_names.PREPARE_ENCODER, version.id)
