"""The command line is a stable interface: exit codes, one-line errors, --json shape."""

import json

import pytest

from matching.models import Candidate, Kind
from matching.services import encode_records
from matching.services.confidence import load_shipped_confidence
from tenants.scoping import tenant_scope
from tests.conftest import manage
from tests.factories import candidate, vacancy

CSV = b"""external_id,title,description,country,city,languages,team
c1,Welder,TIG welding,DE,Berlin,en:C1;de:B2,metal
c2,,no title here,DE,Berlin,,metal
c3,Cook,Kitchen work,FR,Paris,fr:Z1,food
c4,Nurse,Ward care,FR,Paris,fr:C2,care
"""


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "candidates.csv"
    path.write_bytes(CSV)
    return path


@pytest.mark.django_db(transaction=True)
def test_import_csv_keeps_valid_rows_and_reports_bad_ones_by_line(acme, csv_file):
    result = manage("import_csv", "--tenant", "acme", "--kind", "candidates", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert "line 3: title: title is required" in result.stderr
    assert "line 4: languages" in result.stderr
    with tenant_scope(acme.id):
        stored = {c.external_id: c for c in Candidate.objects.all()}
    assert sorted(stored) == ["c1", "c4"]
    assert stored["c1"].languages == {"en": "C1", "de": "B2"}
    assert stored["c1"].custom_fields == {"team": "metal"}


@pytest.mark.django_db(transaction=True)
def test_a_malformed_csv_exits_2_and_changes_nothing(acme, tmp_path):
    candidate(acme, "Welder", external_id="c1")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b'external_id,title\nc1,"Chef\nc2,Cook\n')  # an unterminated quote swallows the rest
    result = manage("import_csv", "--tenant", "acme", "--kind", "candidates", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    with tenant_scope(acme.id):
        assert list(Candidate.objects.values_list("external_id", "title")) == [("c1", "Welder")]


@pytest.mark.django_db(transaction=True)
def test_a_csv_that_is_not_utf8_or_lacks_a_title_column_exits_2(acme, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("external_id,title\nc1,Koch \xfcber\n".encode("latin-1"))
    no_title = tmp_path / "no_title.csv"
    no_title.write_bytes(b"external_id,name\nc1,Cook\n")
    for path, message in ((latin1, "not UTF-8"), (no_title, "no 'title' column")):
        result = manage("import_csv", "--tenant", "acme", "--kind", "candidates", str(path))
        assert (result.returncode, message in result.stderr) == (2, True)


@pytest.mark.django_db(transaction=True)
def test_match_json_lists_neighbours_with_the_documented_keys(acme):
    job = vacancy(acme, "Welder", external_id="v1")
    candidate(acme, "Metal welder", external_id="c1", country="DE")
    candidate(acme, "Accountant", external_id="c2", country="FR")
    with tenant_scope(acme.id):
        encode_records(tenant=acme, kind=Kind.VACANCIES, record_ids=[job.id])
    load_shipped_confidence(acme.active_encoder)  # what preparing the base version does at start-up
    result = manage("match", "--tenant", "acme", "--vacancy", "v1", "--k", "5", "--json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["encoder"] == "base-minilm-l6-v2"
    assert [r["external_id"] for r in payload["results"]] == ["c1", "c2"]
    assert all(0 < r["confidence"] < 1 for r in payload["results"])  # a number in every result
    assert set(payload["results"][0]) == {
        "kind", "external_id", "title", "similarity", "confidence", "is_match", "score", "grade", "explanation"
    }  # fmt: skip
    assert (payload["requirements"], payload["no_strong_match"]) == ("filter", False)
    assert payload["results"][0]["grade"] in ("strong", "possible")
    assert set(payload["results"][0]["explanation"]) >= {"requirements", "distance_km", "rules", "threshold"}
    filtered = json.loads(
        manage(
            "match", "--tenant", "acme", "--text", "welding", "--kind", "candidates", "--country", "FR", "--json"
        ).stdout
    )
    assert [r["external_id"] for r in filtered["results"]] == ["c2"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "args",
    [
        ["match", "--tenant", "nope", "--vacancy", "v1"],
        ["match", "--tenant", "acme", "--vacancy", "missing"],
        ["match", "--tenant", "acme", "--text", "cook"],
        ["match", "--tenant", "acme", "--vacancy", "v1", "--language", "en:Z9"],
        ["match", "--tenant", "acme", "--vacancy", "v1", "--frobnicate"],
        ["match", "--tenant", "acme", "--vacancy", "v1", "--requirements", "strict"],
        ["import_csv", "--tenant", "acme", "--kind", "candidates", "/nonexistent.csv"],
        ["import_csv", "--tenant", "nope", "--kind", "candidates", "/dev/null"],
    ],
)
def test_an_unknown_tenant_id_or_option_exits_2_with_a_message(acme, args):
    vacancy(acme, "Welder", external_id="v1", encode=False)
    result = manage(*args)
    assert result.returncode == 2
    assert result.stderr.strip()
