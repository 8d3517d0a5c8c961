from django import forms
from django.contrib import admin

from jobmatch_site.admin_forms import add_domain_error
from tenants.admin_scoping import TenantScopedAdmin

from .errors import ShortlistError
from .models import PipelineLabel, ShortlistEntry
from .selectors import pipeline_labels
from .services import clean_label, clean_note


class ShortlistEntryForm(forms.ModelForm):
    def clean_note(self) -> str:
        try:
            return clean_note(self.cleaned_data.get("note"))  # the API's and the page's limit, said not cut
        except ShortlistError as exc:
            add_domain_error(self, exc)
            return self.cleaned_data.get("note", "")


@admin.register(ShortlistEntry)
class ShortlistEntryAdmin(TenantScopedAdmin):
    """A tenant admin sees and edits their own team's shortlists; related choices are scoped by the mixin."""

    form = ShortlistEntryForm
    list_display = ("vacancy", "candidate", "status", "added_by", "updated_at")
    list_filter = ("status", "updated_at")
    search_fields = ("vacancy__external_id", "vacancy__title", "candidate__external_id", "candidate__title")
    list_select_related = ("vacancy", "candidate", "added_by")
    raw_id_fields = ("vacancy", "candidate")
    readonly_fields = ("added_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if not change:
            obj.tenant = request.tenant  # the tenant never comes from the form
        super().save_model(request, obj, form, change)


class PipelineLabelForm(forms.ModelForm):
    """The settings page's checks (not empty, a word or two, not another step's name), said on the field."""

    tenant = None  # set per request by PipelineLabelAdmin.get_form

    class Meta:
        model = PipelineLabel
        fields = ("status", "label")

    def clean(self) -> dict:
        data = super().clean()
        status, label = data.get("status"), data.get("label")
        if not status or label is None:
            return data
        try:
            data["label"] = clean_label(label, field=status)
        except ShortlistError as exc:
            self.add_error("label", exc.message)
            return data
        labels = pipeline_labels(tenant=self.tenant) | {status: data["label"]}
        for other in labels:
            if other != status and labels[other].casefold() == data["label"].casefold():
                self.add_error("label", f"“{data['label']}” is already the name of the step “{other}”")
                break
        return data


@admin.register(PipelineLabel)
class PipelineLabelAdmin(TenantScopedAdmin):
    """A tenant admin's names for their pipeline's steps (also on the app's settings page, /settings/pipeline/)."""

    form = PipelineLabelForm
    list_display = ("status", "label", "updated_at")
    readonly_fields = ("updated_at",)

    def get_form(self, request, obj=None, change=False, **kwargs):  # noqa: ANN001, ANN201
        form = super().get_form(request, obj, change, **kwargs)
        form.tenant = obj.tenant if obj is not None else request.tenant
        return form

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if not change:
            obj.tenant = request.tenant  # the tenant never comes from the form
        super().save_model(request, obj, form, change)
