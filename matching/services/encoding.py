"""Encoder versions, queueing encode work on commit, encoding rows, and the sweep that catches what was missed."""

import hashlib
import logging
import struct
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from psycopg.adapt import Dumper
from psycopg.pq import Format

from jobmatch_site import queue
from tenants.models import Tenant
from tenants.scoping import tenant_scope

from .. import task_names
from ..errors import MatchingError
from ..ml.encoder import TextEncoder, load_encoder
from ..ml.lexical import SparseRow
from ..ml.onnx_encoder import ExportNotBuilt, OnnxTextEncoder
from ..models import EncoderVersion, Kind
from .lexical import lexical_weight, record_lexical, sparsevec_binary, sparsevec_text
from .occupations import record_occupation_fields, request_occupation_vectors

logger = logging.getLogger(__name__)

ENCODE_CHUNK = 64  # rows per task: one model batch, a few hundred ms of CPU


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def active_encoder_version(*, tenant: Tenant) -> EncoderVersion:
    if tenant.active_encoder_id is None:
        raise MatchingError(f"tenant {tenant.slug} has no active encoder", status=409)
    return tenant.active_encoder


_builds_allowed = True  # False in web processes (wsgi.py): exports are built at start-up or by a worker


def forbid_encoder_builds() -> None:
    """This process serves requests: it loads ONNX exports but never builds one (seconds of CPU, files written)."""
    global _builds_allowed
    _builds_allowed = False


def served_encoder(artifact: str) -> TextEncoder | OnnxTextEncoder:
    """The encoder as the product serves it: on the configured backend and device (ENCODER_BACKEND, ENCODER_DEVICE)."""
    return load_encoder(
        artifact,
        device=settings.ENCODER_DEVICE,
        backend=settings.ENCODER_BACKEND,
        cache_dir=settings.ENCODER_CACHE_DIR,
        build=_builds_allowed,
    )


def encoder_for(version: EncoderVersion) -> TextEncoder | OnnxTextEncoder:
    try:
        encoder = served_encoder(version.artifact_path)
    except ExportNotBuilt:  # a version registered since start-up whose worker has not built it yet
        queue.send(task_names.PREPARE_ENCODER, version.id)
        raise MatchingError(f"encoder {version.name} is being prepared; try again in a minute", status=503) from None
    if encoder.dimension != version.dimension:
        raise MatchingError(f"encoder {version.name} produces {encoder.dimension} dimensions, not {version.dimension}")
    return encoder


def queue_encoding(*, tenant_id: int, kind: Kind, record_ids: Iterable[int], version_id: int | None = None) -> None:
    """After the surrounding transaction commits, ask a worker to encode these rows (default: active encoder)."""
    ids = list(record_ids)
    if not ids:
        return

    def send() -> None:
        for start in range(0, len(ids), ENCODE_CHUNK):
            chunk = ids[start : start + ENCODE_CHUNK]
            if not queue.send(task_names.ENCODE_RECORDS, tenant_id, kind.value, chunk, version_id):
                # the write is committed; the periodic sweep re-queues what the broker missed
                logger.warning("%s %s rows left for the sweep", len(ids) - start, kind.value)
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
        _fill_occupations(kind, embeddings.filter(record_id__in=unchanged, occupations__isnull=True), version)
        if lexical_weight(version):
            _fill_lexical(embeddings.filter(record_id__in=unchanged, lexical__isnull=True), records, version)
    if not todo:
        return 0
    vectors, confidence = encoder_for(version).encode([r.text_for_encoding for r in todo])
    # A dense-only version (lexical weight 0) stores no n-gram vector: its searches never read one.
    lexical = (
        record_lexical([r.title for r in todo], [r.description for r in todo])
        if lexical_weight(version)
        else [None] * len(todo)
    )
    _upsert_vectors(
        kind.embedding_model,
        [
            (tenant.id, record.id, version.id, vectors[i], None if confidence is None else float(confidence[i]),
             hashes[record.id], lexical[i])
            for i, record in enumerate(todo)
        ],
    )  # fmt: skip
    _store_occupations(kind, version, [r.id for r in todo], vectors, [r.title for r in todo])
    return len(todo)


def _fill_occupations(kind: Kind, embeddings: QuerySet, version: EncoderVersion) -> None:
    """Rows whose vector is current but whose occupations are missing (encoded before the version's occupation
    vectors existed): their stored vector is ranked, nothing is re-encoded."""
    rows = list(embeddings.values_list("record_id", "vector", "record__title"))
    if rows:
        vectors = np.asarray([row[1] for row in rows], dtype=np.float32)
        _store_occupations(kind, version, [r[0] for r in rows], vectors, [r[2] for r in rows])


def _fill_lexical(embeddings: QuerySet, records: list, version: EncoderVersion) -> None:
    """Rows stored before the lexical channel existed whose text is unchanged: their n-gram vector only."""
    missing = set(embeddings.values_list("record_id", flat=True))
    if not missing:
        return
    todo = [r for r in records if r.id in missing]
    lexical = record_lexical([r.title for r in todo], [r.description for r in todo])
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {embeddings.model._meta.db_table} SET lexical = %s::sparsevec "
            "WHERE record_id = %s AND encoder_version_id = %s",
            [(sparsevec_text(row), r.id, version.id) for r, row in zip(todo, lexical, strict=True)],
        )


def _store_occupations(
    kind: Kind, version: EncoderVersion, record_ids: list[int], vectors: np.ndarray, titles: list[str]
) -> None:
    """Each row's top occupations beside its vector; left null (and the preparation asked for) while the version's
    occupation vectors are not ready: the preparation fills them."""
    fields = record_occupation_fields(version=version, vectors=vectors, titles=titles)
    if fields is None:
        if settings.OCCUPATIONS_AUTO:
            request_occupation_vectors(version)
        return
    model = kind.embedding_model
    rows = {row.record_id: row for row in model.objects.filter(encoder_version=version, record_id__in=record_ids)}
    for record_id, values in zip(record_ids, fields, strict=True):
        if (row := rows.get(record_id)) is not None:  # deleted meanwhile: nothing to store
            for name, value in values.items():
                setattr(row, name, value)
    model.objects.bulk_update(list(rows.values()), ["occupations", "occupation_uris", "isco_codes"])


_STAGE_COLUMNS = "tenant_id, record_id, encoder_version_id, vector, confidence, text_hash, lexical"


def _upsert_vectors(model: type, rows: list[tuple]) -> None:
    """Upsert (tenant_id, record_id, version_id, vector, confidence, text_hash, lexical) rows, keyed on (record,
    version).

    The vectors travel as binary COPY into a temporary table, then one INSERT ... ON CONFLICT: Django's bulk_create
    sends each vector as text, and formatting 384 floats per row was half of a re-index's write time
    (bench/README.md, "Re-index"). Row-level security still checks every row on the INSERT.
    """
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:  # ON COMMIT DELETE ROWS: the stage lives one commit
        # A record deleted while it was being encoded must not get a vector: FOR KEY SHARE on the rows still there
        # makes a concurrent DELETE wait for this commit (its ON DELETE CASCADE then removes the vector, migration
        # 0008), and a DELETE that got there first leaves its row out of this answer, so its vector is skipped.
        records = model._meta.get_field("record").related_model._meta.db_table
        cursor.execute(f"SELECT id FROM {records} WHERE id = ANY(%s) FOR KEY SHARE", [[row[1] for row in rows]])
        alive = {record_id for (record_id,) in cursor.fetchall()}
        if not (rows := [row for row in rows if row[1] in alive]):
            return
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS matching_vector_stage (tenant_id bigint, record_id bigint, "
            "encoder_version_id bigint, vector vector, confidence double precision, text_hash varchar(64), "
            "lexical sparsevec) ON COMMIT DELETE ROWS"
        )
        # per database: the extension's types have no fixed OIDs
        cursor.execute("SELECT 'vector'::regtype::oid, 'sparsevec'::regtype::oid")
        oid, sparse_oid = cursor.fetchone()
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no COPY
        raw.adapters.register_dumper(np.ndarray, _vector_dumper(oid))
        raw.adapters.register_dumper(SparseRow, _sparse_dumper(sparse_oid))
        with raw.copy(f"COPY matching_vector_stage ({_STAGE_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int8", "int8", oid, "float8", "text", sparse_oid])
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({_STAGE_COLUMNS}, encoded_at, occupation_uris, isco_codes) "
            f"SELECT {_STAGE_COLUMNS}, now(), '{{}}', '{{}}' FROM matching_vector_stage "
            "ON CONFLICT (record_id, encoder_version_id) DO UPDATE SET vector = EXCLUDED.vector, "
            "confidence = EXCLUDED.confidence, text_hash = EXCLUDED.text_hash, encoded_at = EXCLUDED.encoded_at, "
            "lexical = EXCLUDED.lexical, "
            # a new text's occupations are its own: cleared here, stored by _store_occupations once they can be
            "occupations = NULL, occupation_uris = '{}', isco_codes = '{}'"
        )
        cursor.execute("TRUNCATE matching_vector_stage")  # a second upsert in the same transaction starts empty


@lru_cache(maxsize=8)
def _vector_dumper(oid: int) -> type[Dumper]:
    """The dumper bound to one database's vector OID (COPY's set_types finds dumpers by OID): one class per OID."""
    return type("VectorDumper", (_BinaryVectorDumper,), {"oid": oid})


@lru_cache(maxsize=8)
def _sparse_dumper(oid: int) -> type[Dumper]:
    return type("SparseVectorDumper", (_BinarySparseDumper,), {"oid": oid})


class _BinarySparseDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: SparseRow) -> bytes:
        return sparsevec_binary(obj)


class _BinaryVectorDumper(Dumper):
    """numpy float vector -> pgvector's binary input: dimension and a zero (uint16 each), then big-endian float32s."""

    format = Format.BINARY

    def dump(self, obj: np.ndarray) -> bytes:
        return struct.pack(">HH", obj.shape[0], 0) + np.asarray(obj, dtype=">f4").tobytes()


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
                rows = stale_records(tenant=tenant, kind=kind, version=tenant.active_encoder)
                ids = _not_queued_by_a_sweep(
                    tenant_id=tenant.id, kind=kind, rows=list(rows.values_list("pk", "updated_at"))
                )
                queue_encoding(tenant_id=tenant.id, kind=kind, record_ids=ids)
                queued += len(ids)
    if queued:
        logger.info("sweep queued %s rows for encoding", queued)
    return queued


def _not_queued_by_a_sweep(*, tenant_id: int, kind: Kind, rows: list[tuple[int, datetime]]) -> list[int]:
    """Of (id, updated_at) rows, the ids no sweep queued in the last SWEEP_IN_FLIGHT_S, marked as queued now.

    A row stays stale until a worker reaches its task: after an outage one sweep queued 29,472 rows and the next,
    minutes later, queued most of them again (issue 21). The marks expire after the broker's visibility timeout,
    by when a task a dead worker held is back in the queue anyway; then a sweep may offer the row again.
    """
    # The mark names the row's state, not only its id: a row edited since, or a new row that reuses an id (a
    # restored database, a test run), is a different task and is not held back by an old mark.
    keys = {
        f"sweep:{tenant_id}:{kind.value}:{record_id}:{updated_at.timestamp()}": record_id
        for record_id, updated_at in rows
    }
    try:
        queued = cache.get_many(list(keys))
        fresh = {key: record_id for key, record_id in keys.items() if key not in queued}
        cache.set_many(dict.fromkeys(fresh, 1), timeout=settings.SWEEP_IN_FLIGHT_S)
    except Exception:  # Redis down: the broker is too, so nothing is queued twice; queue_encoding logs the miss
        return list(keys.values())
    return list(fresh.values())


def encoded_counts(*, tenant: Tenant) -> dict[str, dict[str, int]]:
    """Per kind: rows, and rows with a current vector under the active encoder."""
    version = active_encoder_version(tenant=tenant)
    counts = {}
    for kind in Kind:
        total = kind.record_model.objects.filter(tenant=tenant).count()
        stale = stale_records(tenant=tenant, kind=kind, version=version).count()
        counts[kind.value] = {"rows": total, "encoded": total - stale}
    return counts
