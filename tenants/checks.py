"""`manage.py check --deploy`: the database role the app connects as must be held by row-level security."""

from django.core.checks import CheckMessage, Warning, register
from django.db import DatabaseError

from .rls import app_role_problems


@register(deploy=True)
def app_role_is_held_by_rls(app_configs: object, **kwargs: object) -> list[CheckMessage]:
    try:
        problems = app_role_problems()
    except DatabaseError as exc:
        return [Warning(f"could not inspect the database role: {exc}", id="tenants.W002")]
    return (
        [
            Warning(
                f"row-level security does not bind the app's database role: {'; '.join(problems)}",
                hint="Connect with a NOSUPERUSER NOBYPASSRLS role (DATABASE_URL) and migrate as the owner "
                "(MIGRATION_DATABASE_URL); see README, Database roles.",
                id="tenants.W001",
            )
        ]
        if problems
        else []
    )
