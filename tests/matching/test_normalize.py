"""Occupation normalisation (issue 20): the service, `normalize`, POST /api/v1/normalize/ and evaluate --normalizer,
against the base encoder's real ESCO vectors."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from matching.models import OccupationVectors
from matching.services.occupations import occupations_prepared
from tests.conftest import wait_until
from tests.factories import vacancy

pytestmark = pytest.mark.django_db

NURSE = (
    "http://data.europa.eu/esco/occupation/8d3e8aaa-791b-4c75-a465-f3f827028f50"  # nurse responsible for general care
)
DEVELOPER = "http://data.europa.eu/esco/occupation/f2b15a0e-e65a-438a-affb-29b9d50b77d1"  # software developer
ACCOUNTANT = "http://data.europa.eu/esco/occupation/eda0d957-3c3c-4139-b89a-a18bc9e18897"
WELDER = "http://data.europa.eu/esco/occupation/7aedaa07-3884-4c5b-88f9-80997b2aa54b"
COOK = "http://data.europa.eu/esco/occupation/90f75f67-495d-49fa-ab57-2f320e251d7e"


def _normalize(client, body):
    return client.post("/api/v1/normalize/", body, format="json")


def test_a_job_title_is_normalised_to_its_esco_occupation_with_uri_label_group_and_score(
    api_client, acme, esco_prepared
):
    response = _normalize(api_client(acme), {"text": "software developer", "k": 3})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["encoder"] == esco_prepared.name
    assert len(body["results"]) == 3
    top = body["results"][0]
    assert (top["uri"], top["label"], top["isco_group"]) == (DEVELOPER, "software developer", "2512")
    assert top["score"] >= body["results"][1]["score"] >= body["results"][2]["score"]


@pytest.mark.parametrize(
    ("text", "isco_group", "within"),
    [("regestered nurse", "2221", 1), ("sofware developr", "2512", 1), ("acountant", "2411", 2)],  # "répétiteur" 1st
)
def test_a_misspelt_title_still_finds_its_occupation_near_the_top(api_client, acme, esco_prepared, text, isco_group,
                                                                  within):  # fmt: skip
    results = _normalize(api_client(acme), {"text": text}).json()["results"]
    assert isco_group in [hit["isco_group"] for hit in results[:within]]


def test_a_vacancy_is_normalised_by_its_id(api_client, acme, esco_prepared):
    row = vacancy(acme, "Welder", description="MIG and TIG welding of steel structures")
    response = _normalize(api_client(acme), {"vacancy_id": row.id, "k": 1})
    assert response.status_code == 200
    assert response.json()["results"][0]["uri"] == WELDER


def test_another_tenants_record_reads_as_missing(api_client, acme, globex, esco_prepared):
    theirs = vacancy(globex, "Welder")
    response = _normalize(api_client(acme), {"vacancy_id": theirs.id})
    assert response.status_code == 404
    assert _normalize(api_client(acme), {"candidate_id": theirs.id}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "cook", "vacancy_id": 1}, "text"),
        ({"text": 42}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "cook", "k": 0}, "k"),
        ({"text": "cook", "k": 51}, "k"),
        ({"text": "cook", "k": "5"}, "k"),
        ({"vacancy_id": "1"}, "vacancy_id"),
        ({"text": "cook", "kind": "vacancies"}, "kind"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_client, acme, esco_prepared, body, field):
    response = _normalize(api_client(acme), body)
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_before_the_worker_has_prepared_the_vectors_a_request_is_told_to_come_back(api_client, acme, no_esco_vectors):
    response = _normalize(api_client(acme), {"text": "cook"})
    assert response.status_code == 503
    assert "being prepared" in response.json()["detail"]
    assert not OccupationVectors.objects.exists()  # the request itself computed and stored nothing


def test_the_normalize_command_prints_the_stable_json(acme, esco_prepared, capsys):
    call_command("normalize", text="cook", k=2, json=True)
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"encoder", "results"}
    assert len(payload["results"]) == 2
    assert set(payload["results"][0]) == {"uri", "label", "isco_group", "score"}
    assert payload["results"][0]["uri"] == COOK


@pytest.mark.parametrize(("options", "message"), [({"k": 0}, "k must be"), ({"encoder": "nope"}, "unknown encoder")])
def test_the_normalize_command_refuses_bad_input_with_exit_2(acme, esco_prepared, options, message):
    with pytest.raises(CommandError, match=message) as refused:
        call_command("normalize", text="cook", **options)
    assert refused.value.returncode == 2


def test_evaluate_normalizer_scores_the_occupations_of_c_csv_with_the_same_keys(tmp_path, acme, esco_prepared):
    from tests.matching.test_evaluate import KEYS

    (tmp_path / "C.csv").write_text(f"id,text\n{WELDER},welder\n{COOK},cook\n{NURSE},nurse\n{ACCOUNTANT},accountant\n")
    (tmp_path / "Q.csv").write_text(
        f"query,target_id\nTIG WELDER,{WELDER}\nhead chef,{COOK}\nward nurse,{NURSE}\nacountant,{ACCOUNTANT}\n"
    )
    out = tmp_path / "out.json"
    call_command("evaluate", normalizer=True, queries=tmp_path / "Q.csv", corpus=tmp_path / "C.csv", encoder="base",
                 json=out)  # fmt: skip
    result = json.loads(out.read_text())
    assert set(result) >= KEYS
    assert (result["n_queries"], result["corpus_ids"]) == (4, 4)
    assert result["recall@1"] == 1.0


def test_evaluate_normalizer_refuses_a_corpus_id_that_is_not_an_esco_occupation(tmp_path, acme, esco_prepared):
    (tmp_path / "C.csv").write_text("id,text\nweld,welder\n")
    (tmp_path / "Q.csv").write_text("query,target_id\nwelder,weld\n")
    with pytest.raises(CommandError, match="not an ESCO occupation") as refused:
        call_command("evaluate", normalizer=True, queries=tmp_path / "Q.csv", corpus=tmp_path / "C.csv")
    assert refused.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_prepares_the_vectors_a_request_asked_for_and_then_it_is_answered(
    api_client, acme, no_esco_vectors, celery_worker
):
    client = api_client(acme)
    assert _normalize(client, {"text": "cook"}).status_code == 503
    wait_until(lambda: occupations_prepared(acme.active_encoder), timeout_s=300, what="the worker to prepare ESCO")
    celery_worker.wait_idle()  # its follow-up tasks done before the teardown truncates the tables
    response = _normalize(client, {"text": "cook"})
    assert response.status_code == 200
    assert response.json()["results"][0]["uri"] == COOK
