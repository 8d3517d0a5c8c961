"""Django admin: a tenant admin sees and edits only their tenant; another tenant's row is a 404."""

import pytest
from django.contrib.auth.models import User

from tenants.scoping import tenant_scope
from tenants.services import ensure_member
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("factory", "path"), [(vacancy, "vacancy"), (candidate, "candidate")])
def test_a_tenant_admin_lists_only_their_tenants_rows(acme, globex, acme_admin, factory, path):
    ours = factory(acme, "Welder", external_id="ours-1")
    factory(globex, "Welder", external_id="theirs-1")
    page = acme_admin.get(f"/admin/matching/{path}/").content.decode()
    assert "ours-1" in page
    assert "theirs-1" not in page
    assert acme_admin.get(f"/admin/matching/{path}/{ours.id}/change/").status_code == 200


@pytest.mark.parametrize(("factory", "path"), [(vacancy, "vacancy"), (candidate, "candidate")])
def test_another_tenants_row_in_admin_is_a_404_for_view_and_delete(acme, globex, acme_admin, factory, path):
    theirs = factory(globex, "Welder")
    assert acme_admin.get(f"/admin/matching/{path}/{theirs.id}/change/").status_code == 404
    assert acme_admin.post(f"/admin/matching/{path}/{theirs.id}/delete/", {"post": "yes"}).status_code == 404


def test_an_embedding_of_another_tenant_is_a_404_in_admin(acme, globex, acme_admin):
    theirs = vacancy(globex, "Welder")
    from matching.models import VacancyEmbedding

    with tenant_scope(globex.id):
        embedding_id = VacancyEmbedding.objects.get(record=theirs).id
    assert acme_admin.get(f"/admin/matching/vacancyembedding/{embedding_id}/change/").status_code == 404


def test_a_recruiter_cannot_reach_admin(acme, client):
    user = User.objects.create_user("rita", password="pw-rita-123", is_staff=True)
    ensure_member(tenant=acme, user=user, role="recruiter")
    client.force_login(user)
    assert client.get("/admin/matching/vacancy/").status_code == 403


def test_a_vacancy_added_in_admin_belongs_to_the_admins_tenant(acme, acme_admin):
    from matching.models import Vacancy

    response = acme_admin.post(
        "/admin/matching/vacancy/add/",
        {
            "external_id": "adm-1",
            "title": "Baker",
            "description": "",
            "country": "DE",
            "city": "",
            "languages": '{"de": "B2"}',
            "custom_fields": "{}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(external_id="adm-1").languages == {"de": "B2"}


def test_an_invalid_level_in_admin_is_shown_beside_the_field(acme, acme_admin):
    response = acme_admin.post(
        "/admin/matching/vacancy/add/",
        {
            "external_id": "adm-2",
            "title": "Baker",
            "description": "",
            "country": "",
            "city": "",
            "languages": '{"de": "Z2"}',
            "custom_fields": "{}",
        },
    )
    assert response.status_code == 200
    assert "unknown CEFR level" in response.content.decode()
