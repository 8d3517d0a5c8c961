"""The scale-out settings (docs/scaling.md) refuse a bad value at start-up with one line naming it, and exit 2."""

import pytest

from tests.conftest import manage


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("DATABASE_REPLICA_URL", "mysql://db/x", "DATABASE_REPLICA_URL must be a postgresql:// URL, not 'mysql'"),
        ("DATABASE_REPLICA_MAX_LAG_S", "soon", "DATABASE_REPLICA_MAX_LAG_S='soon' is not an integer"),
        ("CELERY_ENCODE_QUEUE", "en code", "CELERY_ENCODE_QUEUE='en code' is not a queue name"),
    ],
)
def test_a_bad_scale_out_setting_stops_start_up_with_one_line_and_exit_2(name, value, line):
    # The production settings: the test settings ignore any replica URL (jobmatch_site/settings_test.py).
    result = manage("check", env={name: value, "DJANGO_SETTINGS_MODULE": "jobmatch_site.settings"})
    assert result.returncode == 2
    [printed] = result.stderr.strip().splitlines()
    assert printed.startswith(f"configuration error: {line}")
