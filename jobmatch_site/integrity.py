"""A delete that races a writer referencing its row: the ON DELETE action in PostgreSQL, a key-share lock in writers.

Django's on_delete runs in its collector: it reads the referencing rows, deletes (or unlinks) them, then deletes the
row, from snapshots taken one statement at a time. A referencing row another transaction commits in between is
missed, and the delete fails at COMMIT ("still referenced from table ..."). An action in the database itself sees
every row committed before the referenced one is deleted. Django 5.2 has no database-level on_delete, so an
AlterField on such a field drops the action: repeat the migration's SQL after one. The writer locks the rows it
references FOR KEY SHARE (Django's select_for_update has no such mode) and skips those already gone: a delete that
comes later waits for its commit, and then takes its rows along.
"""

from collections.abc import Collection

from django.db import connection, models

_FK = """
DO $$
DECLARE name text;
BEGIN
    SELECT conname INTO name FROM pg_constraint
     WHERE conrelid = '{table}'::regclass AND contype = 'f'
       AND conkey = ARRAY[(SELECT attnum FROM pg_attribute
                            WHERE attrelid = '{table}'::regclass AND attname = '{column}')];
    EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', name);
    EXECUTE format('ALTER TABLE {table} ADD CONSTRAINT %I FOREIGN KEY ({column}) REFERENCES {target} (id) '
                   '{action} DEFERRABLE INITIALLY DEFERRED', name);
END $$;
"""


def foreign_key_action_sql(keys: tuple[tuple[str, str, str], ...], action: str) -> str:
    """Recreate each (table, column, referenced table) foreign key with `action`, e.g. "ON DELETE CASCADE"."""
    return "".join(
        _FK.format(table=table, column=column, target=target, action=action) for table, column, target in keys
    )


def key_share_locked(model: type[models.Model], ids: Collection[int], *, tenant_id: int) -> set[int]:
    """The tenant's `ids` of `model` that still exist, locked FOR KEY SHARE until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {model._meta.db_table} WHERE tenant_id = %s AND id = ANY(%s) FOR KEY SHARE",
            [tenant_id, list(ids)],
        )
        return {row_id for (row_id,) in cursor.fetchall()}
