"""Row-level security: PostgreSQL enforces the tenant scope too, so a query that skips the ORM's filter still sees
only its tenant's rows.

- Every TenantOwned table gets RLS and two policies after each `migrate` (so tables added later, by any app, are
  covered without a migration of their own): rows whose tenant_id equals `app.tenant_id`, and every row while
  `app.cross_tenant` is 'on'.
- Before each query, an execute wrapper copies the tenant scope (tenants/scoping.py) into those two settings:
  transaction-local inside a transaction (a rollback cannot leave a stale tenant behind), session-wide and only
  when changed in autocommit mode.
- The app connects as a role that is not superuser, has no BYPASSRLS and owns no table; `migrate` and `flush`
  switch the connection to the owner (MIGRATION_DATABASE_URL), which also GRANTs the app role its rights.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg.pq import TransactionStatus

from .scoping import current_tenant_id, is_cross_tenant

TENANT_SETTING, CROSS_TENANT_SETTING = "app.tenant_id", "app.cross_tenant"
# current_setting(..., true) is '' (not NULL) once a setting was ever set and reset: nullif makes both "no tenant",
# which matches no row instead of failing the cast. Policies are versioned by name so a change replaces them.
POLICIES = {
    "jobmatch_tenant_v1": f"tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::bigint",
    "jobmatch_cross_tenant_v1": f"current_setting('{CROSS_TENANT_SETTING}', true) = 'on'",
}
_SET_SCOPE = "SELECT set_config(%s, %s, %s), set_config(%s, %s, %s)"
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


class TenantSetting:
    """Execute wrapper that makes the connection's app.* settings match the current tenant scope."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.session: tuple[object, tuple[str, str]] | None = None  # (DB-API connection, scope it holds)

    def __call__(self, execute, sql, params, many, context):  # Django's execute_wrapper protocol
        wanted = (str(current_tenant_id() or ""), "on" if is_cross_tenant() else "")
        db, raw = self.connection, self.connection.connection
        if raw.info.transaction_status == TransactionStatus.INERROR:
            return execute(sql, params, many, context)  # only ROLLBACK (TO SAVEPOINT) can run, and it reads no rows
        in_transaction = db.in_atomic_block or not db.get_autocommit()
        if in_transaction or self.session != (raw, wanted):
            db.validate_no_broken_transaction()
            with db.wrap_database_errors, raw.cursor() as cursor:  # Django's error classes, so retries still apply
                cursor.execute(
                    _SET_SCOPE,
                    [TENANT_SETTING, wanted[0], in_transaction, CROSS_TENANT_SETTING, wanted[1], in_transaction],
                )
            if not in_transaction:  # a transaction-local value ends with its transaction; the session's stays
                self.session = (raw, wanted)
        return execute(sql, params, many, context)


def install_tenant_setting(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """connection_created receiver: every PostgreSQL connection carries the wrapper from its first query."""
    if connection.vendor == "postgresql" and not any(isinstance(w, TenantSetting) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(TenantSetting(connection))


def tenant_owned_tables() -> list[str]:
    from .scoping import TenantOwned

    return sorted(
        {
            model._meta.db_table
            for model in apps.get_models()
            if issubclass(model, TenantOwned) and model._meta.managed and not model._meta.proxy
        }
    )


def app_role_to_grant(connection: BaseDatabaseWrapper) -> str | None:
    """The app's role when it differs from the role now connected (the owner, during migrate)."""
    role = settings.DATABASE_APP_ROLE
    if settings.MIGRATION_DATABASE is None or not role:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, exists(SELECT 1 FROM pg_roles WHERE rolname = %s)", [role])
        current, exists = cursor.fetchone()
    if role == current:
        return None
    if not exists:
        raise ImproperlyConfigured(
            f"the app role {role!r} (DATABASE_URL's user) does not exist: CREATE ROLE {role} LOGIN PASSWORD '...' "
            "NOSUPERUSER NOBYPASSRLS; see README, Database roles"
        )
    return role


def install_row_level_security(*, using: str) -> None:
    """Enable RLS and the tenant policies on every tenant-owned table, and grant the app role; idempotent."""
    connection = connections[using]
    quote = connection.ops.quote_name
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for table in tenant_owned_tables():
            cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(%s)", [table])
            if (row := cursor.fetchone()) is None:
                continue  # a partial migrate: the table comes later, and so does its policy
            if not row[0]:
                cursor.execute(f"ALTER TABLE {quote(table)} ENABLE ROW LEVEL SECURITY")
            cursor.execute(
                "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = %s", [table]
            )
            present = {name for (name,) in cursor.fetchall()}
            for stale in sorted(name for name in present - set(POLICIES) if name.startswith("jobmatch_")):
                cursor.execute(f"DROP POLICY {quote(stale)} ON {quote(table)}")
            for name, condition in POLICIES.items():
                if name not in present:
                    cursor.execute(
                        f"CREATE POLICY {quote(name)} ON {quote(table)} USING ({condition}) WITH CHECK ({condition})"
                    )
        if role := app_role_to_grant(connection):
            # No TRUNCATE (it ignores RLS) and no DDL; the migration history is the owner's to write.
            cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quote(role)}")
            cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quote(role)}")
            cursor.execute(f"REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {quote(role)}")


def on_post_migrate(sender: object, using: str, **kwargs: object) -> None:
    install_row_level_security(using=using)


def switch_credentials(alias: str, to: Mapping[str, object]) -> dict[str, object]:
    """Reconnect `alias` with other credentials (same database NAME); returns the previous ones."""
    connection = connections[alias]
    if connection.in_atomic_block:
        raise RuntimeError("switching database roles reconnects, which would end the open transaction")
    before = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}
    wanted = {key: to.get(key, before[key]) for key in _CREDENTIALS}
    if wanted != before:
        connection.close()
        connection.settings_dict.update(wanted)
    return before


@contextmanager
def as_owner(alias: str = "default") -> Iterator[None]:
    """Run the block as the tables' owner (migrate, flush); a no-op with one role for both."""
    if settings.MIGRATION_DATABASE is None:
        yield
        return
    before = switch_credentials(alias, settings.MIGRATION_DATABASE)
    try:
        yield
    finally:
        switch_credentials(alias, before)


def app_role_problems(alias: str = "default") -> list[str]:
    """Why the connected role would not be held by RLS: superuser, BYPASSRLS, or owning a tenant-owned table."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        role, superuser, bypass = cursor.fetchone()
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s) "
            "AND pg_has_role(current_user, tableowner, 'USAGE') ORDER BY tablename",
            [tenant_owned_tables()],
        )
        owned = [name for (name,) in cursor.fetchall()]
    problems = [f"role {role} is a superuser"] if superuser else []
    problems += [f"role {role} has BYPASSRLS"] if bypass else []
    problems += [f"role {role} owns {', '.join(owned)}"] if owned else []
    return problems
