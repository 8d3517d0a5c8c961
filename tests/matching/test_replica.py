"""Search on a real streaming replica of the test run's embedded PostgreSQL (pg_basebackup, a replication slot, hot
standby): it serves search once it has replayed a write, refuses writes, holds RLS and the app role, and a replica
that lags or is down leaves search on the primary."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import DatabaseError, connections, router

from jobmatch_site import embedded_postgres, embedded_replica
from jobmatch_site.replica import REPLICA, forget_replica_health, replica_reads
from matching.models import Kind, Vacancy
from matching.services import search
from tenants.rls import app_role_problems
from tenants.scoping import tenant_scope
from tests.conftest import ROOT, subprocess_env, wait_until
from tests.factories import candidate, vacancy

NAME = "replica-test"  # its own data dir and slot: a `make run` replica in this var/ is left alone
pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the replica is made from the embedded server"),
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA]),
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup, django_db_blocker) -> Iterator[None]:
    """A fresh standby of the test server, registered as the `replica` alias; stopped, its slot dropped and its
    data deleted at the end whatever happened (the session's end stops it too: embedded.stop_started_here)."""
    try:
        embedded_replica.start_replica(NAME, fresh=True, shared_buffers="128MB")
        primary = connections["default"].settings_dict
        wanted = {
            REPLICA: {**primary, "HOST": str(embedded_replica.replica_paths(NAME)[1]), "TEST": {"MIRROR": "default"}}
        }
        connections.settings[REPLICA] = connections.configure_settings({"default": primary, **wanted})[REPLICA]
        forget_replica_health()
        yield
    finally:
        if REPLICA in connections.settings:
            connections[REPLICA].close()
            del connections[REPLICA]
            del connections.settings[REPLICA]
        forget_replica_health()
        embedded_replica.stop_replica(NAME, remove=True)


@pytest.fixture(autouse=True)
def fresh_health(streaming_replica, settings) -> Iterator[None]:
    settings.DATABASE_REPLICA_MAX_LAG_S = 1
    forget_replica_health()
    yield
    forget_replica_health()


def _owner_on_replica() -> psycopg.Connection:
    return psycopg.connect(
        host=str(embedded_replica.replica_paths(NAME)[1]),
        user=embedded_postgres.OWNER_ROLE,
        dbname=connections["default"].settings_dict["NAME"],
        autocommit=True,
    )


def wait_for_replay() -> None:
    """Until the replica has replayed everything the primary has written so far (compared by LSN)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (lsn,) = cursor.fetchone()
    with _owner_on_replica() as conn:
        replayed = lambda: conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]).fetchone()[0]  # noqa: E731
        wait_until(replayed, timeout_s=30, what=f"the replica to replay {lsn}")


def _search_counting(tenant, record) -> tuple[list[str], int, int]:
    """(external ids found, embedding queries on the replica, on the primary)."""
    counts = {REPLICA: 0, "default": 0}

    def counting(alias: str):  # an execute wrapper, not CaptureQueriesContext: that connects, even to a replica down
        def wrapper(execute, sql, params, many, context):
            counts[alias] += "matching_candidateembedding" in sql
            return execute(sql, params, many, context)

        return wrapper

    with (
        connections[REPLICA].execute_wrapper(counting(REPLICA)),
        connections["default"].execute_wrapper(counting("default")),
        tenant_scope(tenant.id),
    ):
        result = search(tenant=tenant, target=Kind.CANDIDATES, record=record, k=10)
    return [hit.record.external_id for hit in result.matches], counts[REPLICA], counts["default"]


def test_a_search_reads_the_replica_once_it_has_replayed_the_write(acme, globex):
    welder = vacancy(acme, "Welder")
    candidate(acme, "Welder", external_id="ours")
    candidate(globex, "Welder", external_id="theirs")  # the twin in another tenant
    wait_for_replay()
    found, on_replica, on_primary = _search_counting(acme, welder)
    assert found == ["ours"]
    assert (on_replica > 0, on_primary) == (True, 0)


def test_the_replica_refuses_writes_and_every_write_is_routed_to_the_primary(acme):
    with pytest.raises(DatabaseError, match="read-only"), connections[REPLICA].cursor() as cursor:
        cursor.execute("UPDATE tenants_tenant SET name = 'x'")
    with replica_reads() as alias:
        assert (alias, router.db_for_read(Vacancy), router.db_for_write(Vacancy)) == (REPLICA, REPLICA, "default")


def test_row_level_security_and_the_app_role_hold_on_the_replica(acme, globex):
    vacancy(acme, "Cook", encode=False)
    vacancy(globex, "Cook", encode=False)
    wait_for_replay()
    assert app_role_problems(REPLICA) == []
    with connections[REPLICA].cursor() as cursor:  # raw SQL, no tenant filter: only the policies stand in the way
        with tenant_scope(acme.id):
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s) FROM matching_vacancy", [acme.id])
            assert cursor.fetchone() == (1, 0)
        cursor.execute("SELECT count(*) FROM matching_vacancy")
        assert cursor.fetchone() == (0,)  # no tenant scope: nothing


def test_a_replica_lagging_past_the_bound_leaves_search_on_the_primary(acme):
    welder = vacancy(acme, "Welder")
    wait_for_replay()
    with _owner_on_replica() as owner:
        owner.execute("SELECT pg_wal_replay_pause()")
        try:
            candidate(acme, "Welder", external_id="new")  # on the primary; the paused replica never replays it
            # Right after the write the replica may miss it; this check notes where the primary's WAL stood.
            assert _search_counting(acme, welder)[0] == []
            time.sleep(1.5)  # past DATABASE_REPLICA_MAX_LAG_S (1 s here) and the next health check
            found, on_replica, on_primary = _search_counting(acme, welder)
        finally:
            owner.execute("SELECT pg_wal_replay_resume()")
    assert (found, on_replica, on_primary > 0) == (["new"], 0, True)


def test_a_replica_that_goes_down_leaves_search_on_the_primary(acme):
    welder = vacancy(acme, "Welder")
    candidate(acme, "Welder", external_id="ours")
    wait_for_replay()
    try:
        assert _search_counting(acme, welder)[1] > 0  # served by the replica, which is then stopped under it
        embedded_replica.stop_replica(NAME)
        assert _search_counting(acme, welder)[0] == ["ours"]  # its checked health still says up: retried on the primary
        found, on_replica, on_primary = _search_counting(acme, welder)  # now known to be down
        assert (found, on_replica, on_primary > 0) == (["ours"], 0, True)
    finally:
        embedded_replica.start_replica(NAME)
        connections[REPLICA].close()


def test_the_end_of_the_process_that_started_a_replica_stops_it():
    name = "replica-test-exit"
    started_and_stopped = (
        "from jobmatch_site import embedded, embedded_replica\n"
        f"assert embedded_replica.start_replica({name!r}, fresh=True, shared_buffers='32MB')\n"
        "print(embedded.stop_started_here())\n"
    )
    try:
        result = subprocess.run([sys.executable, "-c", started_and_stopped], env=subprocess_env(), cwd=ROOT,
                                capture_output=True, text=True, timeout=90)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert f"replica:{name}" in result.stdout and not embedded_replica.replica_running(name)
    finally:
        embedded_replica.stop_replica(name, remove=True)
