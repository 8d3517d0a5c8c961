"""Encoder versions: registering one, and preparing what searches read of it, so that a search only ever reads.

What a version needs before a search may use it: its ONNX export (built here, by a worker, or at start-up, never
inside a request), its global threshold and its confidence calibrator (each the shipped fit of a shipped model,
else fitted by a worker). They are prepared when a version is registered and again at start-up (`serve`), and
the periodic refit fills in a global threshold that is still missing.
"""

import json
import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from jobmatch_site import queue
from tenants.models import Tenant

from .. import task_names
from ..errors import MatchingError
from ..index_sql import create_vector_indexes
from ..ml.encoder import BASE_DIMENSION, BASE_ENCODER_NAME, BASE_MODEL, SHIPPED_PREFIX, resolve_model_path
from ..ml.onnx_encoder import build_onnx
from ..models import EncoderVersion, GlobalCalibration
from ..reference_data import ENCODERS_DIR
from .confidence import load_shipped_confidence
from .encoding import encoder_for
from .global_calibration import load_shipped_global_calibration
from .lexical import DEFAULT_LEXICAL_WEIGHT
from .occupations import occupations_prepared, request_occupation_vectors

logger = logging.getLogger(__name__)

# The learned encoder a fresh install serves (matching/data/encoders/<name>/: its int8 export and training.json,
# written by `manage.py ship_encoder`). New tenants start on it; the base encoder stays registered and selectable.
DEFAULT_ENCODER_NAME = "jobmatch-minilm-v1"


def ensure_base_encoder() -> EncoderVersion:
    """The untuned all-MiniLM-L6-v2 from its wheel, registered with its HNSW indexes and prepared."""
    version, created = EncoderVersion.objects.get_or_create(
        name=BASE_ENCODER_NAME,
        defaults={
            "dimension": BASE_DIMENSION,
            "artifact_path": BASE_MODEL,
            "config": {"base": "all-MiniLM-L6-v2", "lexical_weight": DEFAULT_LEXICAL_WEIGHT},
        },
    )
    if created:
        create_vector_indexes(connection, version_id=version.id, dimension=version.dimension)
        prepare_global_threshold(version=version)
        prepare_confidence(version=version)
    return version


def ensure_default_encoder() -> EncoderVersion:
    """The shipped learned encoder, registered (with its HNSW indexes and threshold) on first use; the base encoder
    where no learned one ships."""
    folder = ENCODERS_DIR / DEFAULT_ENCODER_NAME
    if not (folder / "training.json").is_file():
        return ensure_base_encoder()
    with transaction.atomic():
        version, created = EncoderVersion.objects.get_or_create(
            name=DEFAULT_ENCODER_NAME,
            defaults=_shipped_fields(folder),
        )
        if created:
            create_vector_indexes(connection, version_id=version.id, dimension=version.dimension)
            prepare_global_threshold(version=version)
            prepare_confidence(version=version)
    return version


def _shipped_fields(folder: Path) -> dict:
    training = json.loads((folder / "training.json").read_text())
    return {
        "dimension": training["dimension"],
        "artifact_path": SHIPPED_PREFIX + folder.name,
        "has_confidence": False,
        "config": {key: training[key] for key in ("train", "report", "shipped") if key in training},
        "metrics": training.get("metrics", {}),
    }


def ship_encoder(
    *, version: EncoderVersion, name: str, out_dir: Path = ENCODERS_DIR, extra: dict | None = None
) -> Path:
    """Write `version` as a shipped encoder: its int8 ONNX export (the served form, ~23 MB) and a training.json with
    its config, data hashes, seed and metrics, under out_dir/<name>/. Commit that folder to release it."""
    source = resolve_model_path(version.artifact_path)
    if not (source / "model.safetensors").is_file():
        raise MatchingError(f"{version.name} has no trained weights at {source} to export", field="encoder")
    export = build_onnx(source, Path(settings.ENCODER_CACHE_DIR), precision="int8")
    target = out_dir / name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(export, target)
    training = {
        "name": name,
        "trained_as": version.name,
        "dimension": version.dimension,
        **{key: version.config[key] for key in ("train", "report") if key in version.config},
        "metrics": version.metrics,
        "shipped": extra or {},
    }
    (target / "training.json").write_text(json.dumps(training, indent=1, sort_keys=True) + "\n")
    return target


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
        if settings.OCCUPATIONS_AUTO and not occupations_prepared(version):
            request_occupation_vectors(version)  # a worker encodes ESCO once per version (about a CPU-minute)
    return versions
