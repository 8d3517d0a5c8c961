"""Feedback: marks on (query, result) pairs per tenant, replaced by a second mark, exported and imported as CSV."""

import csv
import io

import pytest

from matching.models import Feedback
from matching.services import labelled_pairs
from tenants.scoping import tenant_scope
from tests.conftest import manage
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(acme):
    return vacancy(acme, "Welder", external_id="v1"), candidate(acme, "Metal welder", external_id="c1")


def test_a_mark_through_the_api_is_stored_with_the_key_and_a_second_mark_replaces_it(api_client, acme, pair):
    client = api_client(acme)
    body = {"vacancy_id": pair[0].id, "candidate_id": pair[1].id, "label": "good"}
    assert client.post("/api/v1/feedback/", body, format="json").status_code == 201
    second = client.post("/api/v1/feedback/", body | {"label": "bad", "query": "candidate"}, format="json")
    assert second.status_code == 200
    with tenant_scope(acme.id):
        rows = [(f.label, f.query_kind, f.api_key is not None) for f in Feedback.objects.all()]
    assert rows == [("bad", "candidate", True)]


def test_marking_a_pair_with_another_tenants_row_is_a_404(api_client, acme, globex, pair):
    theirs = candidate(globex, "Metal welder")
    response = api_client(acme).post(
        "/api/v1/feedback/", {"vacancy_id": pair[0].id, "candidate_id": theirs.id, "label": "good"}, format="json"
    )
    assert response.status_code == 404
    with tenant_scope(acme.id):
        assert not Feedback.objects.exists()


def test_the_csv_export_lists_only_the_callers_tenants_marks(api_client, acme, globex, pair):
    theirs = (vacancy(globex, "Cook", external_id="gv"), candidate(globex, "Chef", external_id="gc"))
    api_client(globex).post(
        "/api/v1/feedback/", {"vacancy_id": theirs[0].id, "candidate_id": theirs[1].id, "label": "bad"}, format="json"
    )
    client = api_client(acme)
    client.post(
        "/api/v1/feedback/", {"vacancy_id": pair[0].id, "candidate_id": pair[1].id, "label": "good"}, format="json"
    )
    response = client.get("/api/v1/feedback/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["vacancy_external_id"], r["candidate_external_id"], r["label"]) for r in rows] == [("v1", "c1", "good")]


def test_an_uploaded_csv_with_an_unknown_id_changes_nothing_and_names_the_line(api_client, acme, pair):
    upload = io.BytesIO(b"vacancy_external_id,candidate_external_id,label\nv1,c1,good\nv1,nope,bad\n")
    upload.name = "pairs.csv"
    response = api_client(acme).post("/api/v1/feedback/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == "line 3: unknown candidate external_id"
    with tenant_scope(acme.id):
        assert not Feedback.objects.exists()


def test_labelled_pairs_for_training_carry_query_text_result_text_and_verdict(acme, pair):
    upload = b"vacancy_external_id,candidate_external_id,label,query\nv1,c1,good,candidate\n"
    from matching.services import import_feedback_csv

    with tenant_scope(acme.id):
        import_feedback_csv(tenant=acme, data=upload)
        pairs = list(labelled_pairs(tenant=acme))
    assert [(p.query_text, p.result_text, p.good) for p in pairs] == [("Metal welder", "Welder", True)]


@pytest.mark.django_db(transaction=True)
def test_export_feedback_and_calibrate_commands_round_trip_and_refuse_bad_input(acme, pair, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("vacancy_external_id,candidate_external_id,label\nv1,c1,good\n")
    calibrated = manage("calibrate", "--tenant", "acme", "--pairs", str(pairs))
    assert calibrated.returncode == 0, calibrated.stderr
    assert "1 good / 0 bad labels; nothing to fit" in calibrated.stdout
    exported = manage("export_feedback", "--tenant", "acme")
    assert exported.stdout.splitlines()[1].startswith("v1,c1,vacancy,good,csv,")
    for args in (["--tenant", "nope"], ["--tenant", "acme", "--pairs", "/nonexistent.csv"],
                 ["--tenant", "acme", "--target", "max_far", "--max-far", "7"]):  # fmt: skip
        refused = manage("calibrate", *args)
        assert (refused.returncode, len(refused.stderr.strip().splitlines())) == (2, 1), refused.stderr
