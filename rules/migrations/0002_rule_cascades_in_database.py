"""A rule's anchors cascade and its audit entries are unlinked in PostgreSQL, as embeddings cascade (matching 0009).

Anchors written while their rule is deleted (a re-index preparing its version, an update) otherwise fail the writer
or the delete at COMMIT (issue 21); reencode_rule_anchors locks the rules it writes for (FOR KEY SHARE) and skips
rules deleted meanwhile, and update_rule locks its rule, so a delete waits for them and then takes their rows along.
"""

from django.db import migrations

from jobmatch_site.integrity import foreign_key_action_sql

ANCHORS = (("rules_ruleanchor", "rule_id", "rules_exclusionrule"),)
CHANGES = (("rules_rulechange", "rule_id", "rules_exclusionrule"),)


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial")]

    operations = [
        migrations.RunSQL(
            foreign_key_action_sql(ANCHORS, "ON DELETE CASCADE")
            + foreign_key_action_sql(CHANGES, "ON DELETE SET NULL"),
            reverse_sql=foreign_key_action_sql(ANCHORS + CHANGES, "ON DELETE NO ACTION"),
        )
    ]
