from django.contrib import admin

from tenants.admin_scoping import TenantScopedAdmin

from .models import ShortlistEntry


@admin.register(ShortlistEntry)
class ShortlistEntryAdmin(TenantScopedAdmin):
    """A tenant admin sees and edits their own team's shortlists; related choices are scoped by the mixin."""

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
