"""Django admin that shows a tenant admin only their tenant; superusers take the explicit cross-tenant path."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from .models import Membership
from .scoping import tenant_scope


def is_tenant_admin(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and request.tenant_role == Membership.Role.ADMIN


class TenantScopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        if request.user.is_superuser:
            return self.model.unscoped.all()
        if request.tenant is None:
            return self.model.unscoped.none()
        return self.model.objects.filter(tenant=request.tenant)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        """A superuser's edit runs as the row's tenant: form validation and the save see that tenant only."""
        if request.user.is_superuser and object_id and (obj := self.get_object(request, unquote(object_id))):
            with tenant_scope(obj.tenant_id):
                return super().changeform_view(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _allowed(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or is_tenant_admin(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request) and request.tenant is not None  # new rows belong to the admin's tenant

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: object, object_id: str) -> None:
        raise Http404("not found")  # Django redirects with "does not exist"; another tenant's row is simply missing

    def save_model(self, request: HttpRequest, obj: object, form: object, change: bool) -> None:
        if not change:
            obj.tenant = request.tenant
        super().save_model(request, obj, form, change)


class ReadOnlyTenantScopedAdmin(TenantScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
