"""A search only reads: what it needs (rule anchors, the global threshold, the encoder's export) is prepared on
write, at a version's registration or by a worker, never by the search itself."""

import pytest
from django.db import connection, transaction

from matching.errors import MatchingError
from matching.models import GlobalCalibration, Kind
from matching.services import encoding, search
from matching.services.encoding import encoder_for
from rules.models import RuleAnchor
from rules.services import Actor, create_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


def _read_only_search(**kwargs):
    with transaction.atomic():  # a savepoint: read-only until it is rolled back, then the test goes on as before
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
        try:
            return search(**kwargs)
        finally:
            transaction.set_rollback(True)


def test_a_search_passes_in_a_read_only_transaction_with_nothing_prepared_for_it(acme, settings):
    settings.GLOBAL_CALIBRATION_AUTO = True  # the production default: a search must still not fit or store one
    with tenant_scope(acme.id):
        query = vacancy(acme, "nurse")
        people = [candidate(acme, title) for title in ("district nurse", "practice nurse", "welder")]
        vet = candidate(acme, "veterinary nurse")
        data = {"name": "nurses, not vets", "trigger_text": "nurse", "trigger_radius": 0.75,
                "exclude_text": "veterinary nurse", "exclude_radius": 0.9}  # fmt: skip
        create_rule(tenant=acme, data=data, actor=Actor(name="test"))
        RuleAnchor.objects.filter(tenant=acme).delete()  # as after a version switched by hand, not by a re-index
        GlobalCalibration.objects.filter(encoder_version=acme.active_encoder).delete()
        by_record = _read_only_search(tenant=acme, target=Kind.CANDIDATES, record=query, k=10)
        by_text = _read_only_search(tenant=acme, target=Kind.CANDIDATES, text="nurse", k=10)
    for result in (by_record, by_text):
        assert [effect.rule for effect in result.excluded] == ["nurses, not vets"]  # the rule still applies
        assert vet.id not in [m.record_id for m in result.matches]
        assert {m.record_id for m in result.matches} == {p.id for p in people}
        assert result.threshold is None  # none fitted yet: the search reports it and stores nothing


def test_a_web_process_never_builds_an_encoder_export_and_says_it_is_being_prepared(acme, settings, tmp_path):
    settings.ENCODER_BACKEND, settings.ENCODER_CACHE_DIR = "onnx-int8", tmp_path  # an export nobody built yet
    encoding.forbid_encoder_builds()  # what jobmatch_site/wsgi.py does in every web process
    try:
        with pytest.raises(MatchingError) as refused:
            encoder_for(acme.active_encoder)
    finally:
        encoding._builds_allowed = True
    assert refused.value.status == 503 and "being prepared" in str(refused.value)
    assert list(tmp_path.iterdir()) == []  # nothing was written
