"""How long a task a SIGKILLed worker held takes to come back: the visibility timeout plus kombu's restore scan.

kombu's default scans for expired unacknowledged tasks only every 100 s (10 s interval x throttle 10), so a kill
could stall a re-index that much past the timeout; settings.py makes it every 2 s.
"""

import time

import pytest

from matching.models import VacancyEmbedding
from tenants.scoping import tenant_scope
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]
VISIBILITY_S = 15  # the test worker's (tests/conftest.py); production's default is 300


def _encoded(tenant) -> int:
    with tenant_scope(tenant.id):
        return VacancyEmbedding.objects.values("record_id").distinct().count()


def test_a_killed_workers_task_is_back_within_the_visibility_timeout_plus_a_few_seconds(
    acme, api_client, celery_worker
):
    rows = [{"external_id": f"k{i}", "title": f"Welder grade {i}"} for i in range(320)]  # 5 tasks of 64
    assert api_client(acme).post("/api/v1/vacancies/bulk/", {"rows": rows}, format="json").status_code == 200
    at_kill = wait_until(lambda: _encoded(acme), timeout_s=120, what="encoding to start")
    celery_worker.kill()
    killed_at = time.monotonic()
    try:
        celery_worker.start()  # at once: its first scan finds the held task not yet expired, so a later scan must
        wait_until(lambda: _encoded(acme) == 320, timeout_s=VISIBILITY_S + 90, what="all 320 rows encoded")
    finally:
        celery_worker.kill()
        celery_worker.start()
    seconds = time.monotonic() - killed_at
    print(f"killed with {at_kill}/320 rows encoded; all 320 encoded {seconds:.1f} s after the kill")
    assert at_kill < 320
    assert seconds < VISIBILITY_S + 20  # the timeout, one 2 s scan, the re-run; kombu's default: up to +100 s
