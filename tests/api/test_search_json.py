"""The search API's hand-built JSON (matching/search_api.py search_json) says what the documented serializer
(SearchApi.Result, the schema's source) would: field for field, for a search that has every part."""

import json

import pytest

from matching.models import Kind, ThresholdFit
from matching.search_api import SearchApi, search_json
from matching.services import search
from matching.services.confidence import load_shipped_confidence
from rules.services import Actor, create_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


def _same(result) -> None:
    documented = json.loads(json.dumps(SearchApi.Result(result).data))
    assert json.loads(json.dumps(search_json(result))) == documented


def test_the_json_equals_the_serializers_with_requirements_rules_threshold_and_confidence(acme):
    version = acme.active_encoder
    with tenant_scope(acme.id):
        load_shipped_confidence(version)
        ThresholdFit.objects.create(
            tenant=acme, encoder_version=version, target="f1", n_labels=40, n_good=20, n_bad=20, sufficient=True,
            threshold=0.4, precision=1, recall=1, f1=1, false_accept_rate=0,
        )  # fmt: skip
        create_rule(
            tenant=acme,
            data={"name": "no vets", "trigger_text": "nurse", "trigger_radius": 0.5,
                  "exclude_text": "veterinary nurse", "exclude_radius": 0.8},
            actor=Actor(name="t"),
        )  # fmt: skip
    job = vacancy(acme, "Nurse", languages={"de": "B2"}, country="DE", city="Berlin", latitude=52.5, longitude=13.4)
    candidate(acme, "Registered nurse", languages={"de": "C1"}, country="DE", city="Berlin", latitude=52.5,
              longitude=13.3)  # fmt: skip
    candidate(acme, "Nurse", languages={"en": "C1"}, country="DE", city="Potsdam")
    candidate(acme, "Veterinary nurse", country="DE", city="Berlin")
    with tenant_scope(acme.id):
        ranked = search(tenant=acme, target=Kind.CANDIDATES, record=job, k=5, requirements="rank")
        text = search(tenant=acme, target=Kind.CANDIDATES, text="nurse", k=5)
    assert ranked.excluded and ranked.matches[0].explanation.requirements and ranked.threshold is not None
    assert ranked.matches[0].confidence is not None
    _same(ranked)
    _same(text)


def test_the_json_equals_the_serializers_before_any_threshold_or_hit(acme):
    with tenant_scope(acme.id):
        empty = search(tenant=acme, target=Kind.VACANCIES, text="nurse", k=5)
    assert empty.matches == [] and empty.threshold is None
    _same(empty)
