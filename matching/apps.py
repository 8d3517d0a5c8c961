from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def on_post_migrate(sender: object, using: str, **kwargs: object) -> None:
    from tenants.rls import app_role_to_grant

    from .index_sql import install_index_function

    connection = connections[using]
    install_index_function(connection, grantee=app_role_to_grant(connection))


class MatchingConfig(AppConfig):
    name = "matching"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="matching.index_sql.function")
        from jobmatch_site.generations import watch

        from .models import CalibrationPolicy, EncoderVersion, GlobalCalibration, RequirementPolicy, ThresholdFit

        # What services/search_settings.py memoises: every save and delete, from services and admin alike, makes
        # the memo reload (a signal, not a call in each writer, so no writer can forget it).
        for model in (CalibrationPolicy, RequirementPolicy, ThresholdFit):
            watch(model, lambda row: row.tenant_id)
        for model in (EncoderVersion, GlobalCalibration):  # shared by every tenant serving the version
            watch(model, lambda row: None)
