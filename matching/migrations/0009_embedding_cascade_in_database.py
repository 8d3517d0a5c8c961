"""The embeddings' foreign key to their record cascades in PostgreSQL itself, not only in Django's collector.

Django deletes a record's embeddings first, then the record, from one snapshot: a vector a worker commits in
between is missed, and the record's DELETE then fails at COMMIT ("still referenced from table
matching_vacancyembedding", issue 21). ON DELETE CASCADE in the database removes every vector committed before the
record's row is deleted; encode_records locks the rows it writes vectors for, so none can commit after. The model
keeps on_delete=CASCADE (Django 5.2 has no database-level option), so an AlterField on `record` would drop this:
repeat this migration's SQL after one.
"""

from django.db import migrations

from jobmatch_site.integrity import foreign_key_action_sql

KEYS = (
    ("matching_vacancyembedding", "record_id", "matching_vacancy"),
    ("matching_candidateembedding", "record_id", "matching_candidate"),
)


class Migration(migrations.Migration):
    dependencies = [("matching", "0008_job_calibration")]

    operations = [
        migrations.RunSQL(
            foreign_key_action_sql(KEYS, "ON DELETE CASCADE"),
            reverse_sql=foreign_key_action_sql(KEYS, "ON DELETE NO ACTION"),
        )
    ]
