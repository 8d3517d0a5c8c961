"""The embeddings' foreign key to their record cascades in PostgreSQL itself, not only in Django's collector.

Django deletes a record's embeddings first, then the record, from one snapshot: a vector a worker commits in
between is missed, and the record's DELETE then fails at COMMIT ("still referenced from table
matching_vacancyembedding", issue 21). ON DELETE CASCADE in the database removes every vector committed before the
record's row is deleted; encode_records locks the rows it writes vectors for, so none can commit after. The model
keeps on_delete=CASCADE (Django 5.2 has no database-level option), so an AlterField on `record` would drop this:
repeat this migration's SQL after one.
"""

from django.db import migrations

_FK = """
DO $$
DECLARE name text;
BEGIN
    SELECT conname INTO name FROM pg_constraint
     WHERE conrelid = '{table}'::regclass AND contype = 'f'
       AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = 'record_id')];
    EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', name);
    EXECUTE format('ALTER TABLE {table} ADD CONSTRAINT %I FOREIGN KEY (record_id) REFERENCES {target} (id) '
                   '{action} DEFERRABLE INITIALLY DEFERRED', name);
END $$;
"""


def _sql(action: str) -> str:
    pairs = (("matching_vacancyembedding", "matching_vacancy"), ("matching_candidateembedding", "matching_candidate"))
    return "".join(_FK.format(table=table, target=target, action=action) for table, target in pairs)


class Migration(migrations.Migration):
    dependencies = [("matching", "0008_job_calibration")]

    operations = [migrations.RunSQL(_sql("ON DELETE CASCADE"), reverse_sql=_sql("ON DELETE NO ACTION"))]
