"""Row-level security is the backstop: with the ORM's tenant filter bypassed, PostgreSQL still shows one tenant."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction

from matching.models import Candidate, CandidateEmbedding, Vacancy, VacancyEmbedding
from shortlists.models import ShortlistEntry
from tenants.models import ApiKey
from tenants.rls import POLICIES, app_role_problems, as_owner, tenant_owned_tables
from tenants.scoping import cross_tenant_scope, tenant_scope
from tenants.services import create_api_key
from tests.factories import candidate, vacancy

TENANT_OWNED = [Vacancy, Candidate, VacancyEmbedding, CandidateEmbedding, ApiKey, ShortlistEntry]


@pytest.fixture
def twins(acme, globex):
    """The same rows in both tenants: a vacancy, a candidate, their vectors, a shortlist entry and an API key each."""
    for tenant in (acme, globex):
        rows = vacancy(tenant, "Welder", external_id="twin-v", encode=False), candidate(tenant, "Welder", encode=False)
        with tenant_scope(tenant.id):
            for row, model in zip(rows, (VacancyEmbedding, CandidateEmbedding), strict=True):
                vector = [1.0] + [0.0] * 383  # a stand-in: these tests are about rows, not their meaning
                model.objects.create(
                    tenant=tenant, record=row, encoder_version=tenant.active_encoder, vector=vector, text_hash="-"
                )
            ShortlistEntry.objects.create(tenant=tenant, vacancy=rows[0], candidate=rows[1])
        create_api_key(tenant=tenant, name="twin")
    return acme, globex


def _tenant_ids_seen_by_raw_sql(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT tenant_id FROM {table}")  # no WHERE: only RLS stands in the way
        return {tenant_id for (tenant_id,) in cursor.fetchall()}


@pytest.mark.django_db
def test_the_app_connects_as_a_role_that_row_level_security_binds():
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == settings.DATABASE_APP_ROLE
    assert app_role_problems() == []


@pytest.mark.django_db(transaction=True)  # switching roles reconnects: not inside the test's transaction
def test_the_owner_role_is_flagged_by_the_deploy_check():
    with as_owner():
        assert app_role_problems() != []  # the same check, on the role migrate uses: it bypasses RLS


@pytest.mark.django_db
def test_every_tenant_owned_table_has_row_level_security_and_both_policies():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, array_agg(p.policyname::text ORDER BY p.policyname) "
            "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relname = ANY(%s) GROUP BY c.relname, c.relrowsecurity",
            [tenant_owned_tables()],
        )
        found = {name: (enabled, set(policies)) for name, enabled, policies in cursor.fetchall()}
    assert set(found) == set(tenant_owned_tables()) >= {model._meta.db_table for model in TENANT_OWNED}
    assert all(enabled and policies >= set(POLICIES) for enabled, policies in found.values()), found


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda model: model.__name__)
def test_with_the_orm_scope_bypassed_a_tenant_sees_none_of_the_other_tenants_rows(twins, model):
    acme, globex = twins
    with tenant_scope(acme.id):
        through_unscoped = set(model.unscoped.values_list("tenant_id", flat=True))
        through_raw_sql = _tenant_ids_seen_by_raw_sql(model._meta.db_table)
    assert through_unscoped == through_raw_sql == {acme.id}


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_OWNED, ids=lambda model: model.__name__)
def test_with_no_tenant_set_every_tenant_owned_table_reads_as_empty_without_error(twins, model):
    assert model.unscoped.count() == 0
    assert _tenant_ids_seen_by_raw_sql(model._meta.db_table) == set()


@pytest.mark.django_db
def test_a_row_for_another_tenant_cannot_be_written_from_inside_a_scope(twins):
    acme, globex = twins
    with tenant_scope(acme.id), pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
        Vacancy.unscoped.create(tenant=globex, external_id="planted", title="Planted")


@pytest.mark.django_db
def test_an_unscoped_update_or_delete_touches_only_the_scoped_tenants_rows(twins):
    acme, globex = twins
    with tenant_scope(acme.id):
        assert Vacancy.unscoped.update(title="Changed") == 1
        assert Candidate.unscoped.all().delete()[1]["matching.Candidate"] == 1
    with tenant_scope(globex.id):
        assert Vacancy.objects.get().title == "Welder"
        assert Candidate.objects.count() == 1


@pytest.mark.django_db
def test_the_cross_tenant_scope_sees_every_tenants_rows(twins):
    acme, globex = twins
    with cross_tenant_scope():
        assert set(Vacancy.unscoped.values_list("tenant_id", flat=True)) == {acme.id, globex.id}


@pytest.mark.django_db
def test_a_tenant_scope_inside_the_cross_tenant_scope_narrows_to_that_tenant(twins):
    acme, _ = twins
    with cross_tenant_scope(), tenant_scope(acme.id):
        assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == {acme.id}


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_connection_follows_the_scope_as_it_changes(twins):
    acme, globex = twins
    with tenant_scope(acme.id):
        assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == {acme.id}
    assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == set()
    with tenant_scope(globex.id):
        assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == {globex.id}


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_tenant_behind_on_the_connection(twins):
    acme, globex = twins
    with tenant_scope(acme.id):
        _tenant_ids_seen_by_raw_sql("matching_vacancy")  # the session now holds acme
        with pytest.raises(RuntimeError), transaction.atomic(), tenant_scope(globex.id):
            assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == {globex.id}
            raise RuntimeError("roll back")
        assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == {acme.id}
    assert _tenant_ids_seen_by_raw_sql("matching_vacancy") == set()


@pytest.mark.django_db
def test_a_superuser_in_admin_sees_every_tenants_rows_through_the_cross_tenant_path(twins, client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    changelist = client.get("/admin/matching/vacancy/").context["cl"]
    assert {row.tenant_id for row in changelist.result_list} == {twins[0].id, twins[1].id}


@pytest.mark.django_db
def test_a_superuser_outside_admin_gets_no_cross_tenant_rows(twins, client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    assert client.get("/api/v1/vacancies/").status_code == 403  # no tenant: no data, not every tenant's data


@pytest.mark.django_db
def test_a_superusers_admin_edit_is_written_as_the_rows_own_tenant(twins, client):
    _, globex = twins
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    with tenant_scope(globex.id):
        row = Vacancy.objects.get()
    form = {"external_id": "twin-v", "title": "Welder II", "description": "", "country": "", "city": ""}
    form |= {"languages": "{}", "custom_fields": "{}"}
    response = client.post(f"/admin/matching/vacancy/{row.id}/change/", form)
    assert response.status_code == 302
    with tenant_scope(globex.id):
        assert Vacancy.objects.get().title == "Welder II"
