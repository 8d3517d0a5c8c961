"""Large tenants get their own partial HNSW per encoder version (vector_index.py); small ones are ranked exactly.

A tenant whose rows under a version exceed SEARCH_EXACT_MAX_ROWS has searches that may take the index path; the
shared per-version graph serves it poorly once it is a minority of a big table (bench/search.py), so it gets its own
graph. Built by the periodic task, by `manage.py vector_indexes`, and before a re-index switches a large tenant.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from tenants.rls import as_owner

from ..vector_index import EMBEDDING_TABLES, tenant_index_name, tenant_index_sql

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TenantIndex:
    table: str
    tenant_id: int
    version_id: int
    dimension: int
    rows: int

    @property
    def name(self) -> str:
        return tenant_index_name(self.table, self.version_id, self.tenant_id)


def _large(cursor, *, tenant_id: int | None, version_id: int | None) -> list[TenantIndex]:  # noqa: ANN001
    """(tenant, version) pairs past the limit: each tenant's active version, or the one pair asked for."""
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
        found += [TenantIndex(table, *row) for row in cursor.fetchall()]
    return found


def _valid_indexes(cursor) -> dict[str, bool]:  # noqa: ANN001
    cursor.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = ANY(%s::regclass[])",
        [list(EMBEDDING_TABLES)],
    )
    return dict(cursor.fetchall())


def missing_tenant_indexes(*, tenant_id: int | None = None, version_id: int | None = None) -> list[TenantIndex]:
    """Every large tenant's (as the owner: the counts cross tenants), or one tenant's under `version_id` (as the
    caller, inside its tenant scope and transaction)."""
    with as_owner() if tenant_id is None else nullcontext(), connection.cursor() as cursor:
        present = _valid_indexes(cursor)
        return [index for index in _large(cursor, tenant_id=tenant_id, version_id=version_id)
                if not present.get(index.name)]  # fmt: skip


def ensure_tenant_indexes(*, tenant_id: int | None = None, version_id: int | None = None) -> list[TenantIndex]:
    """Build the missing ones (all large tenants' active versions, or one tenant's `version_id`); returns them.
    Must run outside a transaction: CREATE INDEX CONCURRENTLY lets writes go on while it builds."""
    if connection.in_atomic_block:
        raise RuntimeError("tenant indexes are built CONCURRENTLY, which cannot run inside a transaction")
    built = []
    for index in missing_tenant_indexes(tenant_id=tenant_id, version_id=version_id):
        with as_owner(), connection.cursor() as cursor:
            if _valid_indexes(cursor).get(index.name) is False:  # an interrupted concurrent build leaves it invalid
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index.name}")
            logger.info("building %s for %s rows", index.name, index.rows)
            cursor.execute(tenant_index_sql(index.table, index.version_id, index.dimension, index.tenant_id))
        built.append(index)
    return built
