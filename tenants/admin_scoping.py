"""Django admin that shows a tenant admin only their tenant; superusers take the explicit cross-tenant path."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from .models import Membership, Tenant
from .scoping import TenantOwned, tenant_scope


def is_tenant_admin(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and request.tenant_role == Membership.Role.ADMIN


def related_choices(*, request: HttpRequest, model: type[models.Model]) -> QuerySet:
    """The rows of `model` an admin filter or choice list may offer this request: its tenant's (all, to a superuser)."""
    if request.user.is_superuser:
        return model.unscoped.all() if issubclass(model, TenantOwned) else model._default_manager.all()
    tenant_id = getattr(request.tenant, "pk", None)
    if issubclass(model, TenantOwned):
        return model.objects.filter(tenant_id=tenant_id) if tenant_id else model.unscoped.none()
    if model is Tenant:
        return Tenant.objects.filter(pk=tenant_id)
    if model is get_user_model():  # accounts span tenants: a tenant admin sees their own tenant's people only
        return model._default_manager.filter(memberships__tenant_id=tenant_id).distinct()
    return model._default_manager.all()  # shared catalogues (encoder versions): the same for every tenant


class TenantRelatedFilter(admin.RelatedFieldListFilter):
    """A related-field filter offering only the related rows this tenant's own rows point to.

    Django's RelatedFieldListFilter lists every row of the related model ("By author": every user account).
    """

    def field_choices(self, field: models.Field, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        used = model_admin.get_queryset(request).values(self.field_path)
        rows = related_choices(request=request, model=field.related_model).filter(pk__in=used)
        if ordering := self.field_admin_ordering(field, request, model_admin):
            rows = rows.order_by(*ordering)
        target = field.target_field.attname
        return [(getattr(row, target), str(row)) for row in rows]


class ScopedRelationsAdmin(admin.options.BaseModelAdmin):
    """Every related-field filter and choice list (select, raw id, autocomplete) offers the request's tenant only.

    Mixed into every ModelAdmin and inline we register; tests/tenants/test_admin_isolation.py checks that none lacks it.
    """

    def get_list_filter(self, request: HttpRequest) -> list:
        return [self._scoped_filter(item) for item in super().get_list_filter(request)]

    def _scoped_filter(self, item: object) -> object:
        if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
            return (item, TenantRelatedFilter)
        if isinstance(item, tuple) and issubclass(item[1], admin.RelatedFieldListFilter):
            return (item[0], TenantRelatedFilter)
        return item

    def formfield_for_foreignkey(self, db_field: models.Field, request: HttpRequest, **kwargs: object) -> forms.Field:
        kwargs["queryset"] = related_choices(request=request, model=db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: models.Field, request: HttpRequest, **kwargs: object) -> forms.Field:
        kwargs["queryset"] = related_choices(request=request, model=db_field.related_model)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class OperatorOnlyAdmin(ScopedRelationsAdmin):
    """For what spans tenants (user accounts, groups, memberships): superusers only, whatever Django perms say."""

    def _operator(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    has_module_permission = has_view_permission = has_change_permission = has_delete_permission = _operator

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._operator(request)


class TenantScopedAdmin(ScopedRelationsAdmin, admin.ModelAdmin):
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
