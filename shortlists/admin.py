from django import forms
from django.contrib import admin

from jobmatch_site.admin_forms import add_domain_error
from tenants.admin_scoping import TenantScopedAdmin

from .errors import ShortlistError
from .models import ShortlistEntry
from .services import clean_note


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
