from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from jobmatch_site.admin_forms import add_domain_error
from tenants.admin_scoping import ReadOnlyTenantScopedAdmin, ScopedRelationsAdmin, TenantScopedAdmin
from tenants.models import Tenant
from tenants.scoping import tenant_scope

from .errors import MatchingError
from .models import (
    CalibrationPolicy,
    Candidate,
    CandidateEmbedding,
    EncoderVersion,
    Feedback,
    GlobalCalibration,
    Kind,
    Record,
    RequirementPolicy,
    ThresholdFit,
    Vacancy,
    VacancyEmbedding,
)
from .services import clean_record, create_record, request_refit, set_policy, update_record
from .services.calibration import clean_policy
from .services.records import record_fields
from .services.requirements import clean_requirement_policy, set_requirement_policy


@admin.register(EncoderVersion)
class EncoderVersionAdmin(ScopedRelationsAdmin, admin.ModelAdmin):
    list_display = ("name", "dimension", "has_confidence", "created_at")
    readonly_fields = ("name", "dimension", "artifact_path", "has_confidence", "config", "metrics", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions are registered by training, with their artifact and metrics

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or (request.user.is_staff and request.tenant_role == "admin")

    has_view_permission = lambda self, request, obj=None: self.has_module_permission(request)  # noqa: E731


class RecordForm(forms.ModelForm):
    def clean(self) -> dict:
        data = super().clean()
        try:
            kind = Kind.CANDIDATES if self._meta.model is Candidate else Kind.VACANCIES
            clean_record({name: data.get(name) for name in record_fields(kind)}, kind=kind)
        except MatchingError as exc:
            add_domain_error(self, exc)
        return data


class RecordAdmin(TenantScopedAdmin):
    form = RecordForm
    kind: Kind
    list_display = ("external_id", "title", "country", "city", "updated_at")
    list_filter = ("country",)
    search_fields = ("external_id", "title")
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Record, form: forms.ModelForm, change: bool) -> None:
        """Through the service, so an edit queues its re-encode like any other write."""
        data = {name: form.cleaned_data.get(name) for name in record_fields(self.kind)}
        tenant = obj.tenant if change else request.tenant
        with tenant_scope(tenant.id):  # a superuser browses cross-tenant; a write belongs to the row's tenant
            if change:
                update_record(tenant=tenant, kind=self.kind, record=obj, data=data, partial=False)
            else:
                saved = create_record(tenant=tenant, kind=self.kind, data=data)
                obj.pk, obj.tenant = saved.pk, saved.tenant


@admin.register(Vacancy)
class VacancyAdmin(RecordAdmin):
    kind = Kind.VACANCIES


@admin.register(Candidate)
class CandidateAdmin(RecordAdmin):
    kind = Kind.CANDIDATES


class EmbeddingAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("record", "encoder_version", "confidence", "encoded_at")
    list_filter = ("encoder_version",)
    exclude = ("vector",)
    readonly_fields = ("record", "encoder_version", "confidence", "text_hash", "encoded_at")


admin.site.register(VacancyEmbedding, EmbeddingAdmin)
admin.site.register(CandidateEmbedding, EmbeddingAdmin)


@admin.action(description="Refit the threshold of these rows' tenant(s)")
def refit_thresholds(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for tenant in Tenant.objects.filter(pk__in=queryset.values("tenant_id")):
        with tenant_scope(tenant.id):
            job = request_refit(tenant=tenant)
        modeladmin.message_user(
            request, f"{tenant.slug}: refit queued (job {job.pk}); the calibration page shows it", messages.INFO
        )


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("vacancy", "candidate", "query_kind", "label", "source", "user", "api_key", "marked_at")
    list_filter = ("label", "source", "query_kind", "marked_at")
    search_fields = ("vacancy__external_id", "vacancy__title", "candidate__external_id", "candidate__title")
    list_select_related = ("vacancy", "candidate", "user", "api_key")
    actions = [refit_thresholds]


class CalibrationPolicyForm(forms.ModelForm):
    def clean(self) -> dict:
        data = super().clean()
        try:
            clean_policy(target=data.get("target"), max_false_accept_rate=data.get("max_false_accept_rate"))
        except MatchingError as exc:
            add_domain_error(self, exc)
        return data


@admin.register(CalibrationPolicy)
class CalibrationPolicyAdmin(TenantScopedAdmin):
    form = CalibrationPolicyForm
    list_display = ("tenant", "target", "max_false_accept_rate", "updated_at")
    actions = [refit_thresholds]

    def save_model(self, request: HttpRequest, obj: CalibrationPolicy, form: forms.ModelForm, change: bool) -> None:
        tenant = obj.tenant if change else request.tenant
        saved = set_policy(tenant=tenant, target=obj.target, max_false_accept_rate=obj.max_false_accept_rate)
        obj.pk, obj.tenant = saved.pk, saved.tenant


class RequirementPolicyForm(forms.ModelForm):
    def clean(self) -> dict:
        data = super().clean()
        try:
            clean_requirement_policy(
                rank_penalty=data.get("rank_penalty"),
                radius_km=data.get("radius_km"),
                custom_fields=data.get("custom_fields"),
            )
        except MatchingError as exc:
            add_domain_error(self, exc)
        return data


@admin.register(RequirementPolicy)
class RequirementPolicyAdmin(TenantScopedAdmin):
    form = RequirementPolicyForm
    list_display = ("tenant", "rank_penalty", "radius_km", "custom_fields", "updated_at")

    def save_model(self, request: HttpRequest, obj: RequirementPolicy, form: forms.ModelForm, change: bool) -> None:
        tenant = obj.tenant if change else request.tenant
        saved = set_requirement_policy(
            tenant=tenant, rank_penalty=obj.rank_penalty, radius_km=obj.radius_km, custom_fields=obj.custom_fields
        )
        obj.pk, obj.tenant = saved.pk, saved.tenant


def _curve_table(points: list[dict]) -> str:
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (tuple(f"{p[k]:.3f}" for k in ("threshold", "precision", "recall", "f1", "far")) for p in points),
    )
    header = "<tr><th>threshold</th><th>precision</th><th>recall</th><th>F1</th><th>false-accept rate</th></tr>"
    return format_html("<table>{}{}</table>", mark_safe(header), rows)


@admin.register(ThresholdFit)
class ThresholdFitAdmin(ReadOnlyTenantScopedAdmin):
    list_display = ("fitted_at", "encoder_version", "target", "n_good", "n_bad", "threshold", "precision", "recall",
                    "sufficient", "opis_groups")  # fmt: skip
    list_filter = ("encoder_version", "sufficient", "target")
    exclude = ("curve",)
    readonly_fields = ("utility_curve",)
    actions = [refit_thresholds]

    @admin.display(description="utility vs threshold")
    def utility_curve(self, fit: ThresholdFit) -> str:
        return _curve_table(fit.curve)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the history of fits is the calibration's audit trail


@admin.register(GlobalCalibration)
class GlobalCalibrationAdmin(ScopedRelationsAdmin, admin.ModelAdmin):
    list_display = ("encoder_version", "threshold", "precision", "recall", "f1", "n_labels", "opis_groups", "fitted_at")
    exclude = ("curve",)
    readonly_fields = ("utility_curve",)

    def get_list_display(self, request: HttpRequest) -> tuple:
        extra = ("opis_tenants", "opis_tenants_at") if request.user.is_superuser else ()
        return (*self.list_display, *extra)  # across tenants: for operators, never a tenant admin

    def get_exclude(self, request: HttpRequest, obj: object = None) -> tuple:
        return ("curve",) if request.user.is_superuser else ("curve", "opis_tenants", "opis_tenants_at")

    @admin.display(description="utility vs threshold")
    def utility_curve(self, calibration: GlobalCalibration) -> str:
        return _curve_table(calibration.curve)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or (request.user.is_staff and request.tenant_role == "admin")

    has_view_permission = lambda self, request, obj=None: self.has_module_permission(request)  # noqa: E731

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # fitted by `calibrate --global` or the periodic task, from shipped validation data

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
