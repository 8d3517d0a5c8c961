from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest

from .admin_scoping import OperatorOnlyAdmin, ScopedRelationsAdmin, TenantScopedAdmin, is_tenant_admin
from .models import ApiKey, Membership, Tenant
from .services import revoke_api_key

# Accounts and groups span tenants (one person may work for two): operators manage them, never a tenant admin,
# even one granted Django's view permissions, which are not scoped to a tenant.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class OperatorUserAdmin(OperatorOnlyAdmin, UserAdmin):
    pass


@admin.register(Group)
class OperatorGroupAdmin(OperatorOnlyAdmin, GroupAdmin):
    pass


@admin.register(Tenant)
class TenantAdmin(ScopedRelationsAdmin, admin.ModelAdmin):
    list_display = ("slug", "name", "active_encoder", "created_at")
    search_fields = ("slug", "name")
    readonly_fields = ("active_encoder",)  # switched by a re-index, never by hand

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        if request.user.is_superuser:
            return Tenant.objects.all()
        return Tenant.objects.filter(pk=getattr(request.tenant, "pk", None))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or is_tenant_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser or is_tenant_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    has_add_permission = has_delete_permission = lambda self, request, obj=None: request.user.is_superuser  # noqa: E731


@admin.register(Membership)
class MembershipAdmin(OperatorOnlyAdmin, admin.ModelAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        rows = Membership.objects.select_related("user", "tenant")
        return rows if request.user.is_superuser else rows.filter(tenant=request.tenant)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ("name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key's secret is shown once, by the create flow (UI/API), never stored in a form

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for key in queryset:
            revoke_api_key(key=key)
        self.message_user(request, f"{queryset.count()} key(s) revoked", messages.SUCCESS)
