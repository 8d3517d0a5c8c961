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
        from django.db.models.signals import post_delete, post_save

        from .credentials import forget_key
        from .models import ApiKey

        def key_changed(sender: type, instance: ApiKey, created: bool = False, **kwargs: object) -> None:
            if not created:  # a new key's prefix was never cached
                forget_key(instance.prefix)  # revoked, edited or deleted: refused from the commit on

        post_save.connect(key_changed, sender=ApiKey, weak=False, dispatch_uid="tenants.credentials.save")
        post_delete.connect(key_changed, sender=ApiKey, weak=False, dispatch_uid="tenants.credentials.delete")
