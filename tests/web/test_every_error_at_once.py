"""Forms and the filter bar report every error at once, each beside its field, and never cut or bend what was typed
(#18): a country is picked by name or code and anything else is refused."""

import pytest

from matching.models import Vacancy
from tenants.scoping import tenant_scope
from tests.factories import vacancy

GOOD = {"external_id": "V-1", "title": "Python developer", "country": "DE", "city": "Berlin", "languages": "de:B2"}
FIVE_BAD = {
    "external_id": "V-1",  # a duplicate once V-1 exists
    "title": "",
    "country": "Germanyy",
    "latitude": "abc",
    "longitude": "13.4",
    "languages": "german:B2",
    "custom_fields": "seniority",
}


def test_a_form_with_five_errors_shows_all_five_beside_their_fields_and_stores_nothing(acme, acme_admin):
    vacancy(acme, "Nurse", external_id="V-1", encode=False)
    response = acme_admin.post("/vacancies/new/", FIVE_BAD)
    errors = response.context["form"].errors
    assert response.status_code == 200
    assert set(errors) == {"external_id", "title", "country", "latitude", "languages", "custom_fields"}
    assert "already exists" in errors["external_id"][0]
    assert "is not a country" in errors["country"][0]
    with tenant_scope(acme.id):
        assert Vacancy.objects.filter(tenant=acme).count() == 1


def test_an_edit_with_several_errors_shows_each_once(acme, acme_admin):
    row = vacancy(acme, "Nurse", external_id="V-9", encode=False)
    response = acme_admin.post(f"/vacancies/{row.pk}/edit/", GOOD | {"title": "", "languages": "de:Z9"})
    errors = response.context["form"].errors
    assert errors["title"] == ["title is required"]
    assert errors["languages"] == ["unknown CEFR level 'Z9' for de (use A1..C2)"]
    assert response.content.decode().count("title is required") == 1


@pytest.mark.parametrize("typed", ["Germany", "germany", "de", "DE", "Germany (DE)"])
def test_a_country_typed_by_name_or_code_is_stored_as_its_code(acme, acme_admin, typed):
    acme_admin.post("/vacancies/new/", GOOD | {"country": typed})
    with tenant_scope(acme.id):
        assert Vacancy.objects.get(tenant=acme, external_id="V-1").country == "DE"


@pytest.mark.parametrize("typed", ["Ger", "XX", "Germanistan", "Germany and France"])
def test_what_is_not_a_country_is_refused_never_cut_to_two_letters(acme, acme_admin, typed):
    response = acme_admin.post("/vacancies/new/", GOOD | {"country": typed})
    assert "is not a country" in response.context["form"].errors["country"][0]
    with tenant_scope(acme.id):
        assert not Vacancy.objects.filter(tenant=acme).exists()


def test_the_form_offers_every_iso_country_by_name_and_code(acme, acme_admin):
    page = acme_admin.get("/vacancies/new/").content.decode()
    assert 'list="country-list"' in page
    assert '<option value="Germany (DE)">' in page
    assert 'maxlength="2"' not in page  # a browser would cut "Germany" to "Ge" without a word


def test_the_list_filter_takes_a_country_name(acme, acme_admin):
    vacancy(acme, "Nurse", external_id="V-DE", country="DE", encode=False)
    vacancy(acme, "Cook", external_id="V-FR", country="FR", encode=False)
    response = acme_admin.get("/vacancies/", {"country": "Germany"})
    assert [r.external_id for r in response.context["page"]] == ["V-DE"]


def test_the_filter_bar_shows_every_bad_filter_at_once(acme, acme_admin):
    response = acme_admin.get("/vacancies/", {"country": "Narnia", "language": "german:B2", "custom": "seniority"})
    errors = response.context["form"].errors
    assert set(errors) == {"country", "language", "custom"}
    assert response.context["page"] is None


def test_a_list_search_longer_than_its_limit_is_refused_not_cut(acme, acme_admin):
    vacancy(acme, "Nurse", external_id="V-1", encode=False)
    response = acme_admin.get("/vacancies/", {"q": "nurse " + "x" * 300})
    assert response.context["page"] is None
    assert "200 characters" in response.content.decode()
