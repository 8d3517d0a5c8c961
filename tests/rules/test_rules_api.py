"""The rules API: CRUD within the caller's tenant; another tenant's rule answers like a missing one."""

import pytest

from rules.models import ExclusionRule, RuleChange
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db
BODY = {
    "name": "welders, not welding teachers",
    "trigger_text": "welder",
    "trigger_radius": 0.8,
    "exclude_text": "welding instructor",
    "exclude_radius": 0.8,
}


def test_a_rule_created_through_the_api_belongs_to_the_keys_tenant_and_is_audited(api_client, acme):
    response = api_client(acme).post("/api/v1/rules/", BODY, format="json")
    assert response.status_code == 201, response.json()
    with tenant_scope(acme.id):
        rule = ExclusionRule.objects.get(pk=response.json()["id"])
        assert RuleChange.objects.get(rule=rule).actor.startswith("api-key:")
    assert (rule.tenant_id, rule.active) == (acme.id, True)


def test_another_tenants_rule_is_a_404_for_read_update_delete_and_audit(api_client, acme, globex):
    theirs = api_client(globex).post("/api/v1/rules/", BODY, format="json").json()["id"]
    ours = api_client(acme)
    assert ours.get("/api/v1/rules/").json() == []
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("get", "changes/")]:
        response = getattr(ours, method)(f"/api/v1/rules/{theirs}/{path}", {"active": False}, format="json")
        assert response.status_code == 404, (method, path)
    assert api_client(globex).get(f"/api/v1/rules/{theirs}/").json()["active"] is True


def test_a_patch_deactivates_and_the_change_shows_in_the_rules_audit_trail(api_client, acme):
    client = api_client(acme)
    rule_id = client.post("/api/v1/rules/", BODY, format="json").json()["id"]
    assert client.patch(f"/api/v1/rules/{rule_id}/", {"active": False}, format="json").json()["active"] is False
    changes = client.get(f"/api/v1/rules/{rule_id}/changes/").json()
    assert [c["action"] for c in changes] == ["deactivated", "created"]


def test_a_bad_radius_is_a_400_naming_the_field(api_client, acme):
    response = api_client(acme).post("/api/v1/rules/", BODY | {"exclude_radius": "wide"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "exclude_radius"


def test_a_second_rule_with_the_same_name_is_a_409(api_client, acme):
    client = api_client(acme)
    client.post("/api/v1/rules/", BODY, format="json")
    assert client.post("/api/v1/rules/", BODY, format="json").status_code == 409


def test_a_deleted_rule_is_gone_but_its_audit_trail_stays(api_client, acme):
    client = api_client(acme)
    rule_id = client.post("/api/v1/rules/", BODY, format="json").json()["id"]
    assert client.delete(f"/api/v1/rules/{rule_id}/").status_code == 204
    assert client.get(f"/api/v1/rules/{rule_id}/").status_code == 404
    with tenant_scope(acme.id):
        assert sorted(RuleChange.objects.values_list("action", flat=True)) == ["created", "deleted"]


def test_the_search_api_names_the_fired_rule_and_leaves_its_rows_out(api_client, acme):
    from tests.factories import candidate

    vet, district = candidate(acme, "veterinary nurse"), candidate(acme, "district nurse")
    client = api_client(acme)
    rule = {"name": "no vets", "trigger_text": "nurse", "trigger_radius": 0.75, "exclude_text": "veterinary nurse",
            "exclude_radius": 0.75}  # fmt: skip
    client.post("/api/v1/rules/", rule, format="json")
    body = client.post("/api/v1/search/", {"text": "nurse", "kind": "candidates", "k": 5}, format="json").json()
    assert body["excluded"] == [{"rule": "no vets", "removed": 1}]
    assert [hit["id"] for hit in body["results"]] == [district.id]
    assert vet.id not in [hit["id"] for hit in body["results"]]


def test_a_rule_name_taken_twice_more_is_a_409_each_time(api_client, acme):
    client = api_client(acme)
    assert client.post("/api/v1/rules/", BODY, format="json").status_code == 201
    again = [client.post("/api/v1/rules/", BODY | {"trigger_radius": r}, format="json").status_code for r in (0.5, 0.6)]
    assert again == [409, 409]  # the second refusal once met a transaction the first had left aborted: a 500
