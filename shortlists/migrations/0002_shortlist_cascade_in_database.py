"""A shortlist entry's keys to its vacancy and candidate cascade in PostgreSQL, as feedback's do (matching 0010):
an entry added while its candidate is deleted goes with the candidate instead of failing the delete at COMMIT."""

from django.db import migrations

from jobmatch_site.integrity import foreign_key_action_sql

KEYS = (
    ("shortlists_shortlistentry", "vacancy_id", "matching_vacancy"),
    ("shortlists_shortlistentry", "candidate_id", "matching_candidate"),
)


class Migration(migrations.Migration):
    dependencies = [("shortlists", "0001_initial")]

    operations = [
        migrations.RunSQL(
            foreign_key_action_sql(KEYS, "ON DELETE CASCADE"),
            reverse_sql=foreign_key_action_sql(KEYS, "ON DELETE NO ACTION"),
        )
    ]
