"""Exclusion rules: where they fire, what they leave out, whose searches they touch, and what they record."""

import numpy as np
import pytest

from matching.models import Kind
from matching.services import SearchFilters, search
from matching.services.encoding import encoder_for
from rules.models import RuleAnchor, RuleChange
from rules.services import Actor, create_rule, reencode_rule_anchors, set_rules_active, triggered_rules, update_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate

pytestmark = pytest.mark.django_db
SYSTEM = Actor(name="test")


def _rule(tenant, **fields):
    data = {
        "name": "nurse, not vets",
        "trigger_text": "nurse",
        "trigger_radius": 0.75,
        "exclude_text": "veterinary nurse",
        "exclude_radius": 0.75,
    }
    with tenant_scope(tenant.id):
        return create_rule(tenant=tenant, data=data | fields, actor=SYSTEM)


def _vector(tenant, text):
    return encoder_for(tenant.active_encoder).encode([text])[0][0]


def _search(tenant, **kwargs):
    with tenant_scope(tenant.id):
        return search(tenant=tenant, **kwargs)


@pytest.fixture
def nurses(acme):
    """Six human-care nurses and six animal nurses, as candidates of acme."""
    people = [
        candidate(acme, title)
        for title in (
            "district nurse",
            "practice nurse",
            "nurse practitioner",
            "diabetes nurse",
            "children's nurse",
            "heart failure nurse",
        )
    ]
    vets = [
        candidate(acme, title)
        for title in (
            "veterinary nurse",
            "animal nurse",
            "veterinary nursing assistant",
            "animal nursing specialist",
            "vet nurse",
            "veterinary nurses",
        )
    ]
    return people, vets  # fmt: skip


def test_a_rule_fires_for_a_query_inside_its_trigger_radius_and_not_just_outside_it(acme):
    query = _vector(acme, "hospital nurse")
    similarity = float(query @ _vector(acme, "nurse"))
    inside = _rule(acme, name="inside", trigger_radius=similarity - 0.01)
    _rule(acme, name="outside", trigger_radius=similarity + 0.01)
    with tenant_scope(acme.id):
        fired = triggered_rules(tenant=acme, version=acme.active_encoder, query=query)
    assert [rule.rule_id for rule in fired] == [inside.id]
    assert fired[0].trigger_similarity == pytest.approx(similarity, abs=1e-4)


def test_rows_inside_a_fired_rules_anchor_b_never_appear_and_k_rows_still_come_back(acme, nurses):
    people, vets = nurses
    before = _search(acme, target=Kind.CANDIDATES, text="nurse", k=12)
    assert {m.record.id for m in before.matches} & {v.id for v in vets}  # without the rule, vets rank among nurses
    _rule(acme)
    after = _search(acme, target=Kind.CANDIDATES, text="nurse", k=6)
    assert len(after.matches) == 6
    assert {m.record.id for m in after.matches} == {p.id for p in people}


def test_a_query_outside_the_trigger_radius_keeps_rows_inside_anchor_b(acme, nurses):
    _, vets = nurses
    _rule(acme)
    result = _search(acme, target=Kind.CANDIDATES, text="veterinary nurse", k=3)
    assert result.excluded == []
    assert {m.record.id for m in result.matches} <= {v.id for v in vets}


def test_the_result_names_each_fired_rule_and_how_many_rows_inside_anchor_b_it_removed(acme, nurses):
    candidate(acme, "veterinary nurse", country="FR")
    rule = _rule(acme)
    everywhere = _search(acme, target=Kind.CANDIDATES, text="nurse", k=3)
    in_france = _search(acme, target=Kind.CANDIDATES, text="nurse", k=3, filters=SearchFilters(country="FR"))
    assert [(e.rule_id, e.rule, e.removed) for e in everywhere.excluded] == [(rule.id, rule.name, 7)]
    assert [e.removed for e in in_france.excluded] == [1]  # "removed" counts rows within the search's filters
    assert in_france.matches == []


def test_another_tenants_rule_never_applies(acme, globex):
    vet = candidate(acme, "veterinary nurse")
    candidate(globex, "veterinary nurse")
    _rule(globex)
    result = _search(acme, target=Kind.CANDIDATES, text="nurse", k=5)
    assert [m.record.id for m in result.matches] == [vet.id]
    assert result.excluded == []


def test_a_deactivated_rule_stops_firing_and_the_audit_trail_records_who_did_what(acme, nurses):
    rule = _rule(acme)
    with tenant_scope(acme.id):
        set_rules_active(tenant=acme, rules=[rule], active=False, actor=Actor(name="ada"))
        update_rule(tenant=acme, rule=rule, data={"exclude_radius": 0.8}, actor=Actor(name="bob"))
        trail = list(
            RuleChange.objects.filter(rule=rule).order_by("at", "id").values_list("action", "actor", "changes")
        )
    assert _search(acme, target=Kind.CANDIDATES, text="nurse", k=3).excluded == []
    assert [(action, actor) for action, actor, _ in trail] == [("created", "test"), ("deactivated", "ada"),
                                                               ("updated", "bob")]  # fmt: skip
    assert trail[2][2] == {"exclude_radius": [0.75, 0.8]}


def test_changing_a_rules_text_re_encodes_its_anchors(acme):
    rule = _rule(acme)
    with tenant_scope(acme.id):
        update_rule(tenant=acme, rule=rule, data={"exclude_text": "welder"}, actor=SYSTEM)
        stored = np.asarray(RuleAnchor.objects.get(rule=rule).exclude_vector)
    assert float(stored @ _vector(acme, "welder")) == pytest.approx(1.0, abs=1e-4)


def test_reencoding_for_another_encoder_version_stores_anchors_for_it(acme):
    from matching.index_sql import create_vector_indexes
    from matching.models import EncoderVersion

    base = acme.active_encoder
    other = EncoderVersion.objects.create(name="base-copy", dimension=base.dimension, artifact_path=base.artifact_path)
    from django.db import connection

    create_vector_indexes(connection, version_id=other.id, dimension=other.dimension)
    rule = _rule(acme)
    with tenant_scope(acme.id):
        assert reencode_rule_anchors(tenant=acme, version=other) == 1
        assert reencode_rule_anchors(tenant=acme, version=other) == 0  # unchanged texts are skipped
        fired = triggered_rules(tenant=acme, version=other, query=_vector(acme, "nurse"))
    assert [r.rule_id for r in fired] == [rule.id]


def test_a_radius_outside_minus_one_to_one_is_refused_naming_the_field(acme):
    from rules.errors import RulesError

    with pytest.raises(RulesError) as refused:
        _rule(acme, trigger_radius=1.5)
    assert refused.value.field == "trigger_radius"
