"""What a search memoises of its tenant (services/search_settings.py, rules' active_anchors) is used until a
change, and never after one: each test searches, changes one setting, and searches again."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobmatch_site import generations
from matching.models import Kind, ThresholdFit
from matching.services import search
from matching.services.confidence import SHIPPED_DIR, _store
from matching.services.requirements import set_requirement_policy
from matching.services.search_settings import search_settings
from rules.services import Actor, create_rule, update_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


def _search(tenant, **kwargs):
    with tenant_scope(tenant.id):
        return search(tenant=tenant, **kwargs)


def _fit(tenant, threshold):
    with tenant_scope(tenant.id):
        ThresholdFit.objects.create(
            tenant=tenant, encoder_version=tenant.active_encoder, target="f1", n_labels=40, n_good=20, n_bad=20,
            sufficient=True, threshold=threshold, precision=1, recall=1, f1=1, false_accept_rate=0,
        )  # fmt: skip


def test_a_repeated_search_reads_the_settings_from_memory(acme):
    candidate(acme, "Welder")
    job = vacancy(acme, "Welder")
    _search(acme, target=Kind.CANDIDATES, record=job, k=5)
    with CaptureQueriesContext(connection) as again:
        _search(acme, target=Kind.CANDIDATES, record=job, k=5)
    tables = " ".join(query["sql"] for query in again.captured_queries)
    for table in ("thresholdfit", "globalcalibration", "requirementpolicy", "ruleanchor", "exclusionrule"):
        assert f'"matching_{table}"' not in tables and f'"rules_{table}"' not in tables


def test_a_new_threshold_applies_to_the_next_search(acme):
    candidate(acme, "Welder")
    assert _search(acme, target=Kind.CANDIDATES, text="welder", k=5).threshold is None
    _fit(acme, 0.42)
    result = _search(acme, target=Kind.CANDIDATES, text="welder", k=5)
    assert (result.threshold, result.threshold_source) == (0.42, "tenant")


def test_a_new_requirement_policy_applies_to_the_next_search(acme):
    with tenant_scope(acme.id):
        assert search_settings(tenant=acme, version=acme.active_encoder).policy.rank_penalty != 0.5
        set_requirement_policy(tenant=acme, rank_penalty=0.5, radius_km=30, custom_fields=["seniority"])
        policy = search_settings(tenant=acme, version=acme.active_encoder).policy
    assert (policy.rank_penalty, policy.radius_km, policy.custom_fields) == (0.5, 30, ["seniority"])


def test_a_new_calibrator_applies_to_the_next_search(acme):
    version = acme.active_encoder
    shipped = json.loads((SHIPPED_DIR / "base-minilm-l6-v2.json").read_text())
    payload = shipped["confidence"]
    with tenant_scope(acme.id):
        _store(version, None)
        assert search_settings(tenant=acme, version=version).calibrator is None
        _store(version, payload)  # an update() that sends no signal
        assert search_settings(tenant=acme, version=version).calibrator is not None


def test_a_rule_created_deactivated_or_edited_applies_to_the_next_search(acme):
    nurse = candidate(acme, "Registered nurse", description="Ward nursing in a hospital")
    vet = candidate(acme, "Veterinary nurse", description="Care for animals in a clinic")

    def found():
        return {m.record.id for m in _search(acme, target=Kind.CANDIDATES, text="nurse", k=5).matches}

    assert found() == {nurse.id, vet.id}
    data = {"name": "no vets", "trigger_text": "nurse", "trigger_radius": 0.7, "exclude_text": "veterinary nurse",
            "exclude_radius": 0.75}  # fmt: skip
    with tenant_scope(acme.id):
        rule = create_rule(tenant=acme, data=data, actor=Actor(name="t"))
    assert found() == {nurse.id}
    with tenant_scope(acme.id):
        update_rule(tenant=acme, rule=rule, data={"active": False}, actor=Actor(name="t"))
    assert found() == {nurse.id, vet.id}
    with tenant_scope(acme.id):
        update_rule(tenant=acme, rule=rule, data={"active": True, "trigger_text": "carpenter"}, actor=Actor(name="t"))
    assert found() == {nurse.id, vet.id}  # its new anchor A is far from "nurse"


def test_a_change_in_another_process_is_seen_through_redis(acme):
    """Another process's write reaches this one only as a bumped counter in Redis."""
    candidate(acme, "Welder")
    _search(acme, target=Kind.CANDIDATES, text="welder", k=5)
    with tenant_scope(acme.id):
        ThresholdFit.objects.bulk_create(  # no signal here: as if written elsewhere
            [ThresholdFit(tenant=acme, encoder_version=acme.active_encoder, target="f1", n_labels=40, n_good=20,
                          n_bad=20, sufficient=True, threshold=0.31, precision=1, recall=1, f1=1,
                          false_accept_rate=0)]
        )  # fmt: skip
    assert _search(acme, target=Kind.CANDIDATES, text="welder", k=5).threshold is None  # still memoised
    generations.redis_client().incr(generations.tenant_key(acme.id))  # that process's bump
    assert _search(acme, target=Kind.CANDIDATES, text="welder", k=5).threshold == 0.31


def test_counters_lost_with_redis_data_never_match_a_memo_again(acme):
    """A Redis that restarts empty must not hand back the counters a memo was keyed on."""
    counters = generations.tenant_key(acme.id), generations.shared_key()
    generations.redis_client().delete(*counters)  # as on a fresh Redis
    candidate(acme, "Welder")
    _search(acme, target=Kind.CANDIDATES, text="welder", k=5)
    with tenant_scope(acme.id):
        ThresholdFit.objects.bulk_create(  # no signal, and then the counters are gone
            [ThresholdFit(tenant=acme, encoder_version=acme.active_encoder, target="f1", n_labels=40, n_good=20,
                          n_bad=20, sufficient=True, threshold=0.33, precision=1, recall=1, f1=1,
                          false_accept_rate=0)]
        )  # fmt: skip
    generations.redis_client().delete(*counters)
    assert _search(acme, target=Kind.CANDIDATES, text="welder", k=5).threshold == 0.33
