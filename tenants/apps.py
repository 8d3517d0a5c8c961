from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, schema  # noqa: F401  (register the deploy check and the OpenAPI auth schemes)
        from .rls import install_tenant_setting, on_post_migrate

        connection_created.connect(install_tenant_setting, dispatch_uid="tenants.rls.tenant_setting")
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="tenants.rls.post_migrate")
        from jobmatch_site.generations import watch

        from .models import Tenant

        watch(Tenant, lambda tenant: tenant.pk)  # its active encoder decides every memo of its searches
