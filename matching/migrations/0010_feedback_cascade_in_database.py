"""Feedback's foreign keys to its vacancy and candidate cascade in PostgreSQL, as the embeddings' do (0009).

A mark recorded while its vacancy or candidate is deleted otherwise fails one of the two at COMMIT (issue 21);
record_feedback locks the rows it marks (FOR KEY SHARE), so a delete waits for it and then takes its mark along.
"""

from django.db import migrations

from jobmatch_site.integrity import foreign_key_action_sql

KEYS = (
    ("matching_feedback", "vacancy_id", "matching_vacancy"),
    ("matching_feedback", "candidate_id", "matching_candidate"),
)


class Migration(migrations.Migration):
    dependencies = [("matching", "0009_embedding_cascade_in_database")]

    operations = [
        migrations.RunSQL(
            foreign_key_action_sql(KEYS, "ON DELETE CASCADE"),
            reverse_sql=foreign_key_action_sql(KEYS, "ON DELETE NO ACTION"),
        )
    ]
