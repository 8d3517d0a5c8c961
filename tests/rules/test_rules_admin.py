"""Rules in Django admin: scoped to the admin's tenant, saved through the services, previewed and tried out."""

import pytest

from matching.models import GlobalCalibration
from rules.models import ExclusionRule, RuleChange
from rules.services import Actor, create_rule
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db
FORM = {
    "name": "nurse, not vets",
    "trigger_text": "nurse",
    "trigger_radius": "0.75",
    "exclude_text": "veterinary nurse",
    "exclude_radius": "0.75",
    "active": "on",
    "note": "",
    "changes-TOTAL_FORMS": "0",
    "changes-INITIAL_FORMS": "0",
}


def _rule(tenant, name="nurse, not vets"):
    data = {k: FORM[k] for k in ("trigger_text", "exclude_text")} | {"name": name}
    with tenant_scope(tenant.id):
        return create_rule(
            tenant=tenant, data=data | {"trigger_radius": 0.75, "exclude_radius": 0.75}, actor=Actor("t")
        )


def test_a_rule_added_in_admin_belongs_to_the_admins_tenant_with_author_and_audit_entry(acme, acme_admin):
    response = acme_admin.post("/admin/rules/exclusionrule/add/", FORM)
    assert response.status_code == 302, response.content.decode()[:3000]
    with tenant_scope(acme.id):
        rule = ExclusionRule.objects.get(name="nurse, not vets")
        assert rule.author.username == "ada"
        assert list(RuleChange.objects.values_list("action", "actor")) == [("created", "ada")]


def test_the_change_form_previews_the_rows_inside_each_anchor_with_similarities(acme, acme_admin):
    candidate(acme, "veterinary nurse", external_id="vet-1")
    vacancy(acme, "nurse", external_id="nurse-1")
    rule = _rule(acme)
    page = acme_admin.get(f"/admin/rules/exclusionrule/{rule.id}/change/").content.decode()
    assert "inside A (trigger): 1 vacancies" in page
    assert "inside B (exclude): 1 candidates" in page
    assert "vet-1" in page and "1.000" in page


def test_another_tenants_rule_is_a_404_in_admin_and_absent_from_the_list(acme, globex, acme_admin):
    theirs = _rule(globex, name="their rule")
    assert "their rule" not in acme_admin.get("/admin/rules/exclusionrule/").content.decode()
    assert acme_admin.get(f"/admin/rules/exclusionrule/{theirs.id}/change/").status_code == 404


def test_bulk_deactivation_in_admin_deactivates_through_the_service(acme, acme_admin):
    rule = _rule(acme)
    response = acme_admin.post(
        "/admin/rules/exclusionrule/", {"action": "deactivate", "_selected_action": [rule.id]}, follow=True
    )
    assert "1 rule(s) deactivated" in response.content.decode()
    with tenant_scope(acme.id):
        assert RuleChange.objects.filter(rule=rule, action="deactivated", actor="ada").exists()


def test_testing_a_query_in_admin_shows_the_fired_rule_and_the_results_without_its_anchor_b(acme, acme_admin):
    candidate(acme, "veterinary nurse", external_id="vet-1")
    candidate(acme, "district nurse", external_id="district-1")
    _rule(acme)
    page = acme_admin.get("/admin/rules/exclusionrule/test-query/", {"text": "nurse", "kind": "candidates"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "nurse, not vets" in html and "district-1" in html
    assert "vet-1" not in html


def test_a_rule_form_with_an_empty_exclude_text_and_a_bad_radius_says_each_once_on_the_first_submit(acme, acme_admin):
    response = acme_admin.post("/admin/rules/exclusionrule/add/", FORM | {"exclude_text": "", "trigger_radius": "1.5"})
    errors = response.context["adminform"].form.errors
    assert errors["trigger_radius"] == ["trigger_radius must be a number between -1 and 1"]
    assert len(errors["exclude_text"]) == 1
    with tenant_scope(acme.id):
        assert not ExclusionRule.objects.exists()


def test_testing_a_query_rounds_the_figures_and_says_match_in_words(acme, acme_admin):
    candidate(acme, "district nurse", external_id="district-1")
    GlobalCalibration.objects.create(
        encoder_version=acme.active_encoder, n_labels=100, n_good=50, threshold=0.3602210283279419,
        precision=0.8, recall=0.75, f1=0.77, false_accept_rate=0.08, curve=[], opis_groups=0.006,
    )  # fmt: skip
    html = acme_admin.get("/admin/rules/exclusionrule/test-query/", {"text": "nurse", "kind": "candidates"}).content
    html = html.decode()
    assert "match threshold 0.36" in html and "0.3602210283279419" not in html
    assert "<td>yes</td>" in html or "<td>no</td>" in html
    assert "True" not in html and "False" not in html


def test_testing_a_record_in_admin_fires_the_rule_by_its_title_and_another_tenants_record_reads_as_missing(
    acme, globex, acme_admin
):
    vacancy(acme, "Senior ward nurse", external_id="V-1", description="Shifts on a surgical ward of a city hospital.")
    vacancy(globex, "Senior ward nurse", external_id="V-2", encode=False)
    candidate(acme, "veterinary nurse", external_id="vet-1")
    candidate(acme, "district nurse", external_id="district-1")
    data = {k: FORM[k] for k in ("name", "trigger_text", "exclude_text")} | {"exclude_radius": 0.75}
    with tenant_scope(acme.id):  # 0.65: the radius the demo's rule uses for nurse titles (README)
        create_rule(tenant=acme, data=data | {"trigger_radius": 0.65}, actor=Actor("t"))
    page = acme_admin.get("/admin/rules/exclusionrule/test-query/", {"record": "V-1", "kind": "candidates"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "nurse, not vets" in html and "district-1" in html and "vet-1" not in html
    theirs = acme_admin.get("/admin/rules/exclusionrule/test-query/", {"record": "V-2", "kind": "candidates"})
    assert theirs.status_code == 200 and "no vacancies row with external_id &#x27;V-2&#x27;" in theirs.content.decode()
