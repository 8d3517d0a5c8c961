"""8 threads of bulk upserts and deletes against the API while the real worker encodes: nothing lost or left over.

CONCURRENT_WRITERS_S (default 20) sets how long they write; the issue's full run is CONCURRENT_WRITERS_S=60.
"""

import os
import threading
import time

import pytest
from django.db import connections
from rest_framework.test import APIClient

from matching.models import Kind, Vacancy, VacancyEmbedding
from matching.services.encoding import stale_records
from tenants.scoping import tenant_scope
from tenants.services import create_api_key
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]
THREADS, ROWS = 8, 20
SECONDS = float(os.environ.get("CONCURRENT_WRITERS_S", "20"))


class _Writer(threading.Thread):
    """Upserts ROWS rows, then deletes every other one it was answered, until told to stop."""

    def __init__(self, number: int, secret: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.number, self.secret, self.stop = number, secret, stop
        self.kept, self.deleted, self.statuses = set(), set(), []

    def run(self) -> None:
        client = APIClient(raise_request_exception=False)  # a 500 is counted, as a real client sees it
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {self.secret}")
        batch = 0
        try:
            while not self.stop.is_set():
                rows = [{"external_id": f"w{self.number}-{batch}-{i}", "title": f"Welder {i}"} for i in range(ROWS)]
                answer = client.post("/api/v1/vacancies/bulk/", {"rows": rows}, format="json")
                self.statuses.append(answer.status_code)
                if answer.status_code == 200:
                    ids = answer.json()["ids"]
                    self.kept.update(ids)
                    for record_id in ids[::2]:
                        status = client.delete(f"/api/v1/vacancies/{record_id}/").status_code
                        self.statuses.append(status)
                        if status == 204:
                            self.kept.discard(record_id)
                            self.deleted.add(record_id)
                batch += 1
        finally:
            connections.close_all()


def test_concurrent_upserts_and_deletes_lose_nothing_and_leave_no_vector(acme, celery_worker):
    _, secret = create_api_key(tenant=acme, name="writers")
    stop = threading.Event()
    writers = [_Writer(n, secret, stop) for n in range(THREADS)]
    for writer in writers:
        writer.start()
    time.sleep(SECONDS)
    stop.set()
    for writer in writers:
        writer.join(timeout=60)
    statuses = [status for writer in writers for status in writer.statuses]
    kept = set().union(*(writer.kept for writer in writers))
    deleted = set().union(*(writer.deleted for writer in writers))
    with tenant_scope(acme.id):
        wait_until(
            lambda: not stale_records(tenant=acme, kind=Kind.VACANCIES, version=acme.active_encoder).exists(),
            timeout_s=150,
            what="the worker to encode every row",
        )
        stored = set(Vacancy.objects.values_list("id", flat=True))
        vectors = list(VacancyEmbedding.objects.values_list("record_id", flat=True))
    server_errors = [status for status in statuses if status >= 500 and status != 503]
    print(
        f"{THREADS} writers for {SECONDS:.0f} s: {len(statuses)} requests, {len(kept) + len(deleted)} rows written, "
        f"{len(deleted)} deleted, {len(server_errors)} 5xx, {statuses.count(503)} 503; rows lost "
        f"{len(kept - stored)}, deleted rows left {len(deleted & stored)}, orphan vectors "
        f"{len(set(vectors) - stored)}, vectors of deleted rows {len(deleted & set(vectors))}"
    )
    assert server_errors == []
    assert kept <= stored  # every acknowledged write is there
    assert not deleted & stored  # every acknowledged delete is gone
    assert not set(vectors) - stored  # no vector without its row
    assert sorted(vectors) == sorted(stored)  # every row encoded, once
