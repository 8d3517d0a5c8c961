"""Each vacancy and candidate stores its top 3 ESCO occupations when encoded (issue 20): shown in the API,
filterable by occupation and ISCO group in lists, search and `match`."""

import json

import pytest
from django.core.management import call_command

from matching.models import Kind, VacancyEmbedding
from matching.services import encode_records
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db

WELDER = "http://data.europa.eu/esco/occupation/7aedaa07-3884-4c5b-88f9-80997b2aa54b"
COOK = "http://data.europa.eu/esco/occupation/90f75f67-495d-49fa-ab57-2f320e251d7e"


def _stored(tenant, row):
    with tenant_scope(tenant.id):
        return VacancyEmbedding.objects.get(record=row, encoder_version=tenant.active_encoder)


def test_an_encoded_vacancy_stores_its_top_3_occupations_with_their_isco_prefixes(acme, esco_prepared):
    stored = _stored(acme, vacancy(acme, "Welder"))
    assert len(stored.occupations) == 3
    assert stored.occupations[0]["uri"] == WELDER
    assert stored.occupation_uris == [hit["uri"] for hit in stored.occupations]
    assert {"7", "72", "721", "7212"} <= set(stored.isco_codes)


def test_a_row_encoded_before_the_vectors_existed_gets_only_its_occupations_filled(acme, no_esco_vectors):
    from matching.services.encoding import encoder_for
    from matching.services.occupations import prepare_occupation_vectors

    row = vacancy(acme, "Welder")
    before = _stored(acme, row)
    assert before.occupations is None
    prepare_occupation_vectors(version=acme.active_encoder, encoder=encoder_for(acme.active_encoder))
    with tenant_scope(acme.id):
        assert encode_records(tenant=acme, kind=Kind.VACANCIES, record_ids=[row.id]) == 0  # nothing re-encoded
    after = _stored(acme, row)
    assert after.occupations[0]["uri"] == WELDER
    assert (after.text_hash, list(after.vector)) == (before.text_hash, list(before.vector))


def test_a_changed_title_gets_the_new_titles_occupations(acme, api_client, esco_prepared):
    row = vacancy(acme, "Welder")
    api_client(acme).patch(f"/api/v1/vacancies/{row.id}/", {"title": "Cook"}, format="json")
    with tenant_scope(acme.id):
        encode_records(tenant=acme, kind=Kind.VACANCIES, record_ids=[row.id])
    assert _stored(acme, row).occupations[0]["uri"] == COOK


def test_the_api_shows_a_rows_occupations_in_its_list_and_on_its_own(acme, api_client, esco_prepared):
    row = vacancy(acme, "Welder")
    client = api_client(acme)
    listed = client.get("/api/v1/vacancies/").json()["results"][0]
    assert listed["occupations"][0]["uri"] == WELDER
    assert client.get(f"/api/v1/vacancies/{row.id}/").json()["occupations"] == listed["occupations"]


def test_the_list_filters_by_occupation_and_by_isco_group(acme, globex, api_client, esco_prepared):
    welder, cook = vacancy(acme, "Welder"), vacancy(acme, "Cook")
    vacancy(globex, "Welder")  # a twin in another tenant never shows
    client = api_client(acme)
    by_uri = client.get("/api/v1/vacancies/", {"occupation": WELDER}).json()["results"]
    assert [r["id"] for r in by_uri] == [welder.id]
    assert [r["id"] for r in client.get("/api/v1/vacancies/", {"isco": "512"}).json()["results"]] == [cook.id]
    assert [r["id"] for r in client.get("/api/v1/vacancies/", {"isco": "7"}).json()["results"]] == [welder.id]


@pytest.mark.parametrize(
    ("params", "field"), [({"occupation": "http://example.com/x"}, "occupation"), ({"isco": "12a"}, "isco"),
                          ({"isco": "12345"}, "isco")]
)  # fmt: skip
def test_a_bad_occupation_or_isco_filter_is_a_400_naming_it(acme, api_client, params, field):
    response = api_client(acme).get("/api/v1/vacancies/", params)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_search_filters_by_occupation(acme, api_client, esco_prepared):
    welder = candidate(acme, "Welder")
    candidate(acme, "Cook")
    response = api_client(acme).post(
        "/api/v1/search/", {"text": "kitchen and welding jobs", "kind": "candidates", "filters": {"isco": "7212"}},
        format="json",
    )  # fmt: skip
    assert [hit["id"] for hit in response.json()["results"]] == [welder.id]
    bad = api_client(acme).post(
        "/api/v1/search/", {"text": "cook", "kind": "candidates", "filters": {"occupation": 3}}, format="json"
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "filters.occupation")


def test_match_takes_an_occupation(acme, esco_prepared, capsys):
    vacancy(acme, "Welder", external_id="W1")
    vacancy(acme, "Cook", external_id="C1")
    call_command("match", tenant="acme", text="welder or cook", kind="vacancies", occupation=COOK, json=True)
    assert [row["external_id"] for row in json.loads(capsys.readouterr().out)["results"]] == ["C1"]


def test_the_talent_map_colours_a_row_by_its_stored_top_occupation(acme, esco_prepared, settings, tmp_path):
    from matching.services.talent_map import talent_map

    settings.MODELS_DIR = tmp_path  # no label-vector cache: the stored occupations alone colour the map
    vacancy(acme, "Welder")
    vacancy(acme, "Cook")
    with tenant_scope(acme.id):
        points = talent_map(tenant=acme, kind=Kind.VACANCIES)
    assert sorted((p.occupation, p.group) for p in points) == [("cook", "5"), ("welder", "7")]


def test_a_rows_page_and_the_list_show_its_occupations_and_the_list_picks_by_isco_group(
    acme, acme_admin, esco_prepared
):
    welder = vacancy(acme, "Welder")
    vacancy(acme, "Cook")
    page = acme_admin.get(f"/vacancies/{welder.id}/").content.decode()
    assert ">welder</a>" in page
    listed = acme_admin.get("/vacancies/", {"isco": "7"}).content.decode()
    assert 'title="ISCO 7212">welder<' in listed
    assert ">Cook</a>" not in listed  # (the country picker offers "Cook Islands")
    assert 'name="isco"' in listed  # the picker


def test_the_preparation_fills_rows_of_a_tenant_re_indexing_into_the_version_too(
    acme, globex, no_esco_vectors, django_capture_on_commit_callbacks
):
    from matching.models import EncoderVersion
    from matching.services.normalization import fill_record_occupations

    base = acme.active_encoder
    row = vacancy(globex, "Welder", encode=False)
    globex.active_encoder = EncoderVersion.objects.create(name="older", dimension=384, artifact_path="wheel:x")
    globex.save()  # globex serves another version and is being re-indexed into the base one
    with tenant_scope(globex.id):
        encode_records(tenant=globex, kind=Kind.VACANCIES, record_ids=[row.id], version=base)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert fill_record_occupations(version=base) == 1
    assert len(queued) == 1


def test_a_record_searchs_explanation_names_the_occupations_both_sides_normalise_to(acme, esco_prepared):
    from matching.services import search

    job = vacancy(acme, "Welder", external_id="W1")
    candidate(acme, "Welder", external_id="W2")
    candidate(acme, "Cook", external_id="C2")
    with tenant_scope(acme.id):
        by_record = search(tenant=acme, target=Kind.CANDIDATES, record=job, requirements="ignore")
        by_text = search(tenant=acme, target=Kind.CANDIDATES, text="welder")
    shared = {m.record.external_id: m.explanation.occupations for m in by_record.matches}
    assert "welder" in shared["W2"]
    assert "welder" not in shared["C2"] and "cook" not in shared["C2"]
    assert all(m.explanation.occupations is None for m in by_text.matches)  # free text has no stored occupations
    assert "occupations" in by_record.matches[0].explanation.as_dict()
