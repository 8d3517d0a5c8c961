from django import forms
from django.contrib import admin
from django.http import HttpRequest

from tenants.admin_scoping import ReadOnlyTenantScopedAdmin, TenantScopedAdmin
from tenants.scoping import tenant_scope

from .errors import MatchingError
from .models import Candidate, CandidateEmbedding, EncoderVersion, Kind, Record, Vacancy, VacancyEmbedding
from .services import clean_record, create_record, update_record
from .services.records import RECORD_FIELDS


@admin.register(EncoderVersion)
class EncoderVersionAdmin(admin.ModelAdmin):
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
            clean_record({name: data.get(name) for name in RECORD_FIELDS})
        except MatchingError as exc:
            if exc.field in self.fields:
                self.add_error(exc.field, exc.message)
            else:
                raise forms.ValidationError(exc.message) from None
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
        data = {name: form.cleaned_data.get(name) for name in RECORD_FIELDS}
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
