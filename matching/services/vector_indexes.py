"""HNSW indexes, built only where a search can use one: a search that keeps at most SEARCH_EXACT_MAX_ROWS rows is
ranked exactly (services/nearest.py), so small tenants need no graph at all.

- A large tenant gets its own graph (index_sql.py) for its active version, and a re-index builds it before the
  switch. Once a tenant is a minority of a big table, the shared graph serves its filtered searches poorly
  (bench/search.py).
- A version gets its shared graphs once more than that many of its rows belong to tenants on it. They serve a
  tenant that grew past the limit until its own graph is built; a version whose tenants are all small never pays
  for one (bench/reindex.py: at 3,000 rows that build was 1.6 s of a 22.3 s re-index).

Built after the rows they cover, in one pass (pgvector's advice: faster than row by row), and CONCURRENTLY, so
writes go on meanwhile; that cannot run inside a function or a transaction, so the tables' owner runs it directly
(tenants/rls.py: as_owner). Callers: a re-index's last step, the periodic task and `manage.py vector_indexes`.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tenants.rls import as_owner
from tenants.scoping import cross_tenant_scope

from ..index_sql import EMBEDDING_TABLES, index_name, index_sql, tenant_index_name, tenant_index_sql
from ..models import EncoderVersion, Job

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VectorIndex:
    table: str
    version_id: int
    dimension: int
    tenant_id: int | None = None  # None: the version's shared index
    rows: int = 0

    @property
    def name(self) -> str:
        if self.tenant_id is None:
            return index_name(self.table, self.version_id)
        return tenant_index_name(self.table, self.version_id, self.tenant_id)

    def sql(self) -> str:
        if self.tenant_id is None:
            return index_sql(self.table, self.version_id, self.dimension, concurrently=True)
        return tenant_index_sql(self.table, self.version_id, self.dimension, self.tenant_id)


def _large_tenants(cursor, *, tenant_id: int | None, version_id: int | None) -> list[VectorIndex]:  # noqa: ANN001
    """(tenant, version) pairs past SEARCH_EXACT_MAX_ROWS: each tenant's active version, or the one pair asked for."""
    found = []
    for table in EMBEDDING_TABLES:
        if tenant_id is None:
            pairs = "JOIN tenants_tenant t ON t.id = e.tenant_id AND t.active_encoder_id = e.encoder_version_id"
            where, params = "", []
        else:
            pairs, where, params = "", "WHERE e.tenant_id = %s AND e.encoder_version_id = %s", [tenant_id, version_id]
        cursor.execute(
            f"SELECT e.tenant_id, e.encoder_version_id, v.dimension, count(*) FROM {table} e {pairs} "
            f"JOIN matching_encoderversion v ON v.id = e.encoder_version_id {where} "
            f"GROUP BY 1, 2, 3 HAVING count(*) > %s",
            [*params, settings.SEARCH_EXACT_MAX_ROWS],
        )
        found += [
            VectorIndex(table, version, dimension, tenant_id=tenant, rows=rows)
            for tenant, version, dimension, rows in cursor.fetchall()
        ]
    return found


def _valid_indexes(cursor) -> dict[str, bool]:  # noqa: ANN001
    cursor.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = ANY(%s::regclass[])",
        [list(EMBEDDING_TABLES)],
    )
    return dict(cursor.fetchall())


def _large_versions(cursor) -> list[VectorIndex]:  # noqa: ANN001
    """Shared indexes of active versions holding more than SEARCH_EXACT_MAX_ROWS rows in a table."""
    found = []
    for table in EMBEDDING_TABLES:
        cursor.execute(
            f"SELECT e.encoder_version_id, v.dimension, count(*) FROM {table} e "
            f"JOIN matching_encoderversion v ON v.id = e.encoder_version_id "
            f"WHERE e.encoder_version_id IN (SELECT active_encoder_id FROM tenants_tenant) "
            f"GROUP BY 1, 2 HAVING count(*) > %s",
            [settings.SEARCH_EXACT_MAX_ROWS],
        )
        found += [VectorIndex(table, version, dimension, rows=rows) for version, dimension, rows in cursor.fetchall()]
    return found


def missing_indexes() -> list[VectorIndex]:
    """Every index a search could use now that is not there yet: large tenants' own ones for their active versions,
    then large versions' shared ones (counted as the owner: the counts cross tenants)."""
    with as_owner(), connection.cursor() as cursor:
        present = _valid_indexes(cursor)
        wanted = [*_large_tenants(cursor, tenant_id=None, version_id=None), *_large_versions(cursor)]
        return [index for index in wanted if not present.get(index.name)]


def missing_before_switch(*, tenant_id: int, version: EncoderVersion) -> list[VectorIndex]:
    """What a tenant switching onto `version` needs first: its own index when it is large. Runs as the caller,
    inside its tenant scope (and transaction)."""
    with connection.cursor() as cursor:
        present = _valid_indexes(cursor)
        own = _large_tenants(cursor, tenant_id=tenant_id, version_id=version.id)
        return [index for index in own if not present.get(index.name)]


def _outside_transaction() -> None:
    if connection.in_atomic_block:
        raise RuntimeError("HNSW indexes are built CONCURRENTLY, which cannot run inside a transaction")


def build_indexes(indexes: list[VectorIndex]) -> list[VectorIndex]:
    """Build these (CONCURRENTLY, as the owner); an index a crashed build left invalid is dropped and rebuilt."""
    _outside_transaction()
    for index in indexes:
        with as_owner(), connection.cursor() as cursor:
            if _valid_indexes(cursor).get(index.name) is False:
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
            logger.info("building %s (%s rows)", index.name, index.rows or "all")
            cursor.execute(index.sql())
    return indexes


def cross_tenant_ensure_indexes() -> list[VectorIndex]:
    """Periodic: build what missing_indexes() lists; returns what was built."""
    _outside_transaction()
    return build_indexes(missing_indexes())


@dataclass(frozen=True)
class RetiredVectors:
    tenant_id: int
    version_id: int
    rows: int  # vectors deleted, both tables
    indexes: tuple[str, ...]  # the tenant's own graphs of that version, dropped


def _quiet_tenants(keep: timedelta) -> set[int]:
    """Tenants with no re-index open and none finished within `keep`: their last switch is old enough that a
    rollback is no longer the cheap path (a rollback inside it re-encodes only the rows edited since)."""
    with cross_tenant_scope():
        jobs = Job.unscoped.filter(kind=Job.Type.REINDEX)
        busy = set(jobs.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list("tenant_id", flat=True))
        busy |= set(jobs.filter(finished_at__gt=timezone.now() - keep).values_list("tenant_id", flat=True))
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant")
        return {tenant for (tenant,) in cursor.fetchall()} - busy


def cross_tenant_retired_vectors(*, keep: timedelta | None = None) -> list[RetiredVectors]:
    """Vectors no search reads any more: a tenant's rows under versions other than its active one, once the switch
    is older than `keep` (RETIRED_VECTORS_KEEP_S) and no re-index of the tenant is open (whose new rows they are)."""
    keep = timedelta(seconds=settings.RETIRED_VECTORS_KEEP_S) if keep is None else keep
    quiet = _quiet_tenants(keep)
    counts: dict[tuple[int, int], int] = {}
    with as_owner(), connection.cursor() as cursor:
        present = _valid_indexes(cursor)
        for table in EMBEDDING_TABLES:
            cursor.execute(
                f"SELECT e.tenant_id, e.encoder_version_id, count(*) FROM {table} e "
                f"JOIN tenants_tenant t ON t.id = e.tenant_id "
                f"WHERE e.encoder_version_id <> t.active_encoder_id GROUP BY 1, 2"  # no active encoder: kept
            )
            for tenant, version, rows in cursor.fetchall():
                counts[tenant, version] = counts.get((tenant, version), 0) + rows
    return [
        RetiredVectors(
            tenant,
            version,
            rows,
            tuple(name for table in EMBEDDING_TABLES if (name := tenant_index_name(table, version, tenant)) in present),
        )
        for (tenant, version), rows in sorted(counts.items())
        if tenant in quiet
    ]


def cross_tenant_retire_vectors(*, keep: timedelta | None = None) -> list[RetiredVectors]:
    """Periodic: delete the vectors of versions tenants left, then their own graphs of them (as the owner: an
    operator path across tenants). Search reads only a tenant's active version, so nothing served changes."""
    _outside_transaction()
    retired = []
    for item in cross_tenant_retired_vectors(keep=keep):
        with as_owner(), connection.cursor() as cursor:
            with transaction.atomic():
                # A switch locks the tenant row (FOR UPDATE) and then checks that every row has a vector: holding
                # it FOR SHARE here, a switch back to this version waits, recounts and re-encodes what went.
                cursor.execute("SELECT active_encoder_id FROM tenants_tenant WHERE id = %s FOR SHARE", [item.tenant_id])
                if cursor.fetchone() in {(item.version_id,), (None,)}:
                    continue
                for table in EMBEDDING_TABLES:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE tenant_id = %s AND encoder_version_id = %s",
                        [item.tenant_id, item.version_id],
                    )
            for name in item.indexes:
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        retired.append(item)
        logger.info("retired version %s of tenant %s: %s vectors", item.version_id, item.tenant_id, item.rows)
    return retired
