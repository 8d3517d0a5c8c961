"""Django admin, the main place to manage exclusion rules: list, preview, test a query, bulk (de)activate, audit."""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from jobmatch_site.admin_forms import add_domain_error
from jobmatch_site.errors import DomainError
from matching.models import Kind
from matching.selectors import get_record_by_external_id
from matching.services import search
from tenants.admin_scoping import ScopedRelationsAdmin, TenantScopedAdmin

from .errors import RulesError
from .models import ExclusionRule, RuleChange
from .selectors import rule_preview
from .services import RULE_FIELDS, Actor, clean_rule, create_rule, delete_rule, set_rules_active, update_rule


class ExclusionRuleForm(forms.ModelForm):
    class Meta:
        model = ExclusionRule
        fields = RULE_FIELDS

    def clean(self) -> dict:
        data = super().clean()
        try:
            clean_rule({name: data.get(name) for name in RULE_FIELDS if name in data})
        except RulesError as exc:
            for item in exc.errors or [{"field": exc.field, "detail": exc.message}]:
                if item["field"] not in self.errors:  # Django's own "required" already stands there: say it once
                    add_domain_error(self, RulesError(item["detail"], field=item["field"]))
        return data


class RuleChangeInline(ScopedRelationsAdmin, admin.TabularInline):
    model = RuleChange
    fields = ("at", "action", "actor", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "audit trail"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return RuleChange.unscoped.order_by("-at", "-id")  # filtered to the (tenant-checked) parent rule by Django

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _hits_table(hits: object) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
        ((f"{sim:.3f}", r.external_id, r.title) for r, sim in hits.rows),
    )
    return format_html(
        "<h4>inside {} ({}): {} {}</h4><table><tr><th>similarity</th><th>id</th><th>title</th></tr>{}</table>",
        hits.anchor,
        "trigger" if hits.anchor == "A" else "exclude",
        hits.total,
        hits.kind.value,
        rows,
    )


@admin.register(ExclusionRule)
class ExclusionRuleAdmin(TenantScopedAdmin):
    form = ExclusionRuleForm
    list_display = ("name", "trigger_text", "trigger_radius", "exclude_text", "exclude_radius", "active", "author",
                    "updated_at")  # fmt: skip
    list_filter = ("active", "author", "updated_at")
    search_fields = ("name", "trigger_text", "exclude_text", "note")
    readonly_fields = ("author", "created_at", "updated_at", "preview")
    fields = (*RULE_FIELDS, "author", "created_at", "updated_at", "preview")
    inlines = [RuleChangeInline]
    actions = ["activate", "deactivate", "test_a_query"]
    change_list_template = "admin/rules/exclusionrule/change_list.html"

    @admin.display(description="preview: the tenant's rows inside each anchor now")
    def preview(self, rule: ExclusionRule) -> str:
        if rule.pk is None:
            return "shown once the rule is saved"
        previews = rule_preview(tenant=rule.tenant, rule=rule)
        if previews is None:
            return "anchors are not encoded for the tenant's active encoder yet"
        return format_html_join("", "{}", ((_hits_table(hits),) for hits in previews))

    def save_model(self, request: HttpRequest, obj: ExclusionRule, form: forms.ModelForm, change: bool) -> None:
        """Through the services, so anchors are encoded and the audit trail is written."""
        data = {name: form.cleaned_data.get(name) for name in RULE_FIELDS}
        actor = Actor.of(user=request.user)
        if change:
            fresh = ExclusionRule.unscoped.get(pk=obj.pk)  # the form already wrote its values onto obj
            update_rule(tenant=obj.tenant, rule=fresh, data=data, actor=actor, partial=False)
        else:
            saved = create_rule(tenant=request.tenant, data=data, actor=actor)
            obj.pk, obj.tenant = saved.pk, saved.tenant

    def delete_model(self, request: HttpRequest, obj: ExclusionRule) -> None:
        delete_rule(tenant=obj.tenant, rule=obj, actor=Actor.of(user=request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for rule in queryset:
            self.delete_model(request, rule)

    @admin.action(description="Activate selected rules")
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected rules")
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet, active: bool) -> None:
        changed = 0
        for tenant_id in {rule.tenant_id for rule in queryset}:
            rules = [rule for rule in queryset if rule.tenant_id == tenant_id]
            changed += set_rules_active(
                tenant=rules[0].tenant, rules=rules, active=active, actor=Actor.of(user=request.user)
            )
        self.message_user(request, f"{changed} rule(s) {'activated' if active else 'deactivated'}", messages.SUCCESS)

    @admin.action(description="Test a query against the rules")
    def test_a_query(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:rules_exclusionrule_test_query"))

    def get_urls(self) -> list:
        view = self.admin_site.admin_view(self.test_query_view)
        return [path("test-query/", view, name="rules_exclusionrule_test_query"), *super().get_urls()]

    def test_query_view(self, request: HttpRequest) -> HttpResponse:
        """A free-text search as a recruiter would run it: which rules fire, what they remove, what remains."""
        if not self.has_view_permission(request) or request.tenant is None:
            return HttpResponse("a tenant admin tests queries against their own rules", status=403)
        text, kind = request.GET.get("text", "").strip(), request.GET.get("kind", Kind.VACANCIES.value)
        record_id = request.GET.get("record", "").strip()  # the external id of a row of the other kind
        result, error = None, None
        if kind not in Kind.values:
            error = "kind must be candidates or vacancies"
        elif text or record_id:
            try:  # the search a recruiter would run; its rule effects carry each rule's similarity to anchor A
                if record_id:  # a record fires rules by its title or whole text (README), as on its page
                    record = get_record_by_external_id(
                        tenant=request.tenant, kind=Kind(kind).other, external_id=record_id
                    )
                    result = search(
                        tenant=request.tenant, target=Kind(kind), record=record, k=10, requirements="ignore"
                    )
                else:
                    result = search(tenant=request.tenant, target=Kind(kind), text=text, k=10)
            except DomainError as exc:  # a text too long, an unknown record: shown above the results
                error = exc.message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Test a query against the exclusion rules",
            "text": text,
            "record": record_id,
            "kind": kind,
            "kinds": [k.value for k in Kind],
            "result": result,
            "error": error,
        }
        return TemplateResponse(request, "admin/rules/exclusionrule/test_query.html", context)


@admin.register(RuleChange)
class RuleChangeAdmin(TenantScopedAdmin):
    list_display = ("at", "rule_name", "action", "actor")
    list_filter = ("action", "at")
    search_fields = ("rule_name", "actor")
    readonly_fields = ("at", "rule", "rule_name", "action", "actor", "changes")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # an audit trail that can be edited is not one
