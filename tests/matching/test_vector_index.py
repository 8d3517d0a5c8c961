"""Encoder versions registered at run time get their HNSW indexes, though the app role owns no table."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from matching.index_sql import create_vector_indexes, index_name, tenant_index_name
from matching.models import EncoderVersion, Kind
from matching.services import SearchFilters, encode_records, upsert_records
from matching.services.nearest import hnsw_search_settings, nearest_rows
from matching.services.vector_indexes import cross_tenant_ensure_indexes, missing_indexes
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db


def _indexes_of(version_id: int) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s ORDER BY 1", [f"%_hnsw_v{version_id}"])
        return [name for (name,) in cursor.fetchall()]


def test_the_app_role_creates_a_new_versions_hnsw_indexes_through_the_owners_function():
    version = EncoderVersion.objects.create(name="tuned-1", dimension=256, artifact_path="/nowhere")
    create_vector_indexes(connection, version_id=version.id, dimension=256)
    assert _indexes_of(version.id) == sorted(
        index_name(table, version.id) for table in ("matching_candidateembedding", "matching_vacancyembedding")
    )


def test_the_app_role_cannot_create_other_indexes_itself():
    with pytest.raises(DatabaseError, match="must be owner"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE INDEX planted ON matching_vacancy (title)")


def test_the_index_function_refuses_a_dimension_hnsw_cannot_index():
    with pytest.raises(DatabaseError, match="outside"), transaction.atomic():
        create_vector_indexes(connection, version_id=99, dimension=5000)


def _candidates(tenant, n):
    with tenant_scope(tenant.id):
        ids = upsert_records(
            tenant=tenant,
            kind=Kind.CANDIDATES,
            rows=[{"external_id": f"c{i}", "title": f"{('Welder', 'Cook', 'Nurse')[i % 3]} {i}"} for i in range(n)],
        ).ids
        encode_records(tenant=tenant, kind=Kind.CANDIDATES, record_ids=ids)


@pytest.mark.django_db(transaction=True)  # indexes are built CONCURRENTLY: never inside a transaction
def test_a_tenant_past_the_exact_limit_gets_its_own_hnsw_and_its_searches_walk_it(acme, globex, settings):
    settings.SEARCH_EXACT_MAX_ROWS = 30
    _candidates(acme, 40)
    _candidates(globex, 20)  # ranked exactly: no index of its own
    version = acme.active_encoder
    own = tenant_index_name("matching_candidateembedding", version.id, acme.id)
    assert [index.name for index in missing_indexes()] == [own]
    listed, built = StringIO(), StringIO()
    call_command("vector_indexes", "--dry-run", stdout=listed)
    assert f"missing {own}: tenant {acme.id}, 40 rows" in listed.getvalue()
    call_command("vector_indexes", stdout=built)
    assert f"built {own}: tenant {acme.id}, 40 rows" in built.getvalue() and "1 built" in built.getvalue()
    assert cross_tenant_ensure_indexes() == []  # built once
    query = np.ones(version.dimension, dtype=np.float32) / np.sqrt(version.dimension)
    with tenant_scope(acme.id), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = off")  # a 40-row table is cheaper to sort: ask for an index
        with hnsw_search_settings():
            rows = nearest_rows(
                tenant=acme, target=Kind.CANDIDATES, version=version, query=query, filters=SearchFilters()
            )
            plan = rows[:10].explain()
    assert own in plan  # the planner prefers the tenant's small graph to the shared one


def test_the_tenant_index_build_refuses_to_run_inside_a_transaction(acme):
    with pytest.raises(RuntimeError, match="CONCURRENTLY"):
        cross_tenant_ensure_indexes()
