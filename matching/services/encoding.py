"""Encoder versions, queueing encode work on commit, encoding rows, and the sweep that catches what was missed."""

import hashlib
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from tenants.models import Tenant
from tenants.scoping import tenant_scope

from ..errors import MatchingError
from ..ml.encoder import BASE_DIMENSION, BASE_ENCODER_NAME, BASE_MODEL, TextEncoder, load_encoder
from ..ml.onnx_encoder import OnnxTextEncoder
from ..models import EncoderVersion, Kind
from ..vector_index import create_vector_indexes

logger = logging.getLogger(__name__)

ENCODE_CHUNK = 64  # rows per task: one model batch, a few hundred ms of CPU


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_base_encoder() -> EncoderVersion:
    """The untuned all-MiniLM-L6-v2 from its wheel, registered with its HNSW indexes."""
    version, created = EncoderVersion.objects.get_or_create(
        name=BASE_ENCODER_NAME,
        defaults={"dimension": BASE_DIMENSION, "artifact_path": BASE_MODEL, "config": {"base": "all-MiniLM-L6-v2"}},
    )
    if created:
        create_vector_indexes(connection, version_id=version.id, dimension=version.dimension)
    return version


def active_encoder_version(*, tenant: Tenant) -> EncoderVersion:
    if tenant.active_encoder_id is None:
        raise MatchingError(f"tenant {tenant.slug} has no active encoder", status=409)
    return tenant.active_encoder


def served_encoder(artifact: str) -> TextEncoder | OnnxTextEncoder:
    """The encoder as the product serves it: on the configured backend (ENCODER_BACKEND)."""
    return load_encoder(artifact, backend=settings.ENCODER_BACKEND, cache_dir=settings.ENCODER_CACHE_DIR)


def encoder_for(version: EncoderVersion) -> TextEncoder | OnnxTextEncoder:
    encoder = served_encoder(version.artifact_path)
    if encoder.dimension != version.dimension:
        raise MatchingError(f"encoder {version.name} produces {encoder.dimension} dimensions, not {version.dimension}")
    return encoder


def queue_encoding(*, tenant_id: int, kind: Kind, record_ids: Iterable[int], version_id: int | None = None) -> None:
    """After the surrounding transaction commits, ask a worker to encode these rows (default: active encoder)."""
    ids = list(record_ids)
    if not ids:
        return

    def send() -> None:
        from ..tasks import encode_records_task

        for start in range(0, len(ids), ENCODE_CHUNK):
            try:
                encode_records_task.delay(tenant_id, kind.value, ids[start : start + ENCODE_CHUNK], version_id)
            except Exception:  # the write is committed; the periodic sweep re-queues what the broker missed
                logger.warning("broker unavailable; %s %s rows left for the sweep", len(ids) - start, kind.value)
                return

    transaction.on_commit(send)


def encode_records(
    *, tenant: Tenant, kind: Kind, record_ids: Iterable[int], version: EncoderVersion | None = None
) -> int:
    """Store vectors for these rows under `version` (default: active); rows whose text is unchanged are skipped.

    Idempotent and safe to race: the upsert is keyed on (record, version), so two workers agree.
    Returns how many rows were (re-)encoded.
    """
    version = version or active_encoder_version(tenant=tenant)
    records = list(kind.record_model.objects.filter(tenant=tenant, id__in=list(record_ids)))
    embeddings = kind.embedding_model.objects.filter(tenant=tenant, encoder_version=version, record__in=records)
    stored = dict(embeddings.values_list("record_id", "text_hash"))
    hashes = {r.id: text_hash(r.text_for_encoding) for r in records}
    todo = [r for r in records if stored.get(r.id) != hashes[r.id]]
    unchanged = [r.id for r in records if stored.get(r.id) == hashes[r.id]]
    if unchanged:  # payload-only edits: mark as seen so the sweep stops offering them
        embeddings.filter(record_id__in=unchanged).update(encoded_at=timezone.now())
    if not todo:
        return 0
    vectors, confidence = encoder_for(version).encode([r.text_for_encoding for r in todo])
    model = kind.embedding_model
    model.objects.bulk_create(
        [
            model(
                tenant=tenant,
                record=record,
                encoder_version=version,
                vector=vectors[i],
                confidence=None if confidence is None else float(confidence[i]),
                text_hash=hashes[record.id],
            )
            for i, record in enumerate(todo)
        ],
        update_conflicts=True,
        unique_fields=["record", "encoder_version"],
        update_fields=["vector", "confidence", "text_hash", "encoded_at"],
    )
    return len(todo)


def stale_records(*, tenant: Tenant, kind: Kind, version: EncoderVersion) -> QuerySet:
    """Rows with no vector under `version`, or edited after their vector was written."""
    current = kind.embedding_model.objects.filter(
        tenant=tenant, encoder_version=version, record=OuterRef("pk"), encoded_at__gte=OuterRef("updated_at")
    )
    return kind.record_model.objects.filter(tenant=tenant).filter(~Exists(current)).order_by("pk")


def sweep_unencoded() -> int:
    """Re-queue every tenant's stale rows (a broker outage, a lost task); returns how many were queued."""
    queued = 0
    for tenant in Tenant.objects.filter(active_encoder__isnull=False).select_related("active_encoder"):
        with tenant_scope(tenant.id):
            for kind in Kind:
                ids = list(
                    stale_records(tenant=tenant, kind=kind, version=tenant.active_encoder).values_list("pk", flat=True)
                )
                queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=ids)
                queued += len(ids)
    if queued:
        logger.info("sweep queued %s rows for encoding", queued)
    return queued


def encoded_counts(*, tenant: Tenant) -> dict[str, dict[str, int]]:
    """Per kind: rows, and rows with a current vector under the active encoder."""
    version = active_encoder_version(tenant=tenant)
    counts = {}
    for kind in Kind:
        total = kind.record_model.objects.filter(tenant=tenant).count()
        stale = stale_records(tenant=tenant, kind=kind, version=version).count()
        counts[kind.value] = {"rows": total, "encoded": total - stale}
    return counts
