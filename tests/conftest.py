"""Fixtures on real services: the embedded PostgreSQL (test_ database) and Redis (db 1), a real Celery worker."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from rest_framework.test import APIClient

from jobmatch_site import embedded
from jobmatch_site.generations import Memo
from matching.services import ensure_base_encoder
from tenants import rls
from tenants.models import Tenant
from tenants.services import create_api_key, ensure_tenant

ROOT = Path(__file__).resolve().parent.parent


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded.stop_started_here()  # a server this test run started does not outlive it


_APP_CREDENTIALS: dict[str, object] = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The test database is created, migrated and dropped by the tables' owner, as in production."""
    from django.conf import settings

    if settings.MIGRATION_DATABASE is not None:
        _APP_CREDENTIALS.update(rls.switch_credentials("default", settings.MIGRATION_DATABASE))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker) -> Iterator[None]:
    """Then every test talks to it as the app role, which row-level security holds."""
    owner = rls.switch_credentials("default", _APP_CREDENTIALS) if _APP_CREDENTIALS else None
    yield
    if owner is not None:
        rls.switch_credentials("default", owner)  # DROP DATABASE is the owner's


@pytest.fixture(autouse=True)
def _fresh_memos() -> Iterator[None]:
    """A rolled-back test transaction bumps no generation (jobmatch_site/generations.py): no memo outlives a test."""
    Memo.forget_all()
    yield
    Memo.forget_all()


@pytest.fixture
def in_test_transaction():
    """Called as a WSGI app, Django closes the connection after each request (as the test client prevents)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def acme(db) -> Tenant:
    return ensure_tenant(slug="acme", name="Acme Recruiting", encoder=ensure_base_encoder())


@pytest.fixture
def globex(db) -> Tenant:
    return ensure_tenant(slug="globex", name="Globex Talent", encoder=ensure_base_encoder())


@pytest.fixture
def acme_admin(acme, client):
    """A Django test client logged in as a staff user with the admin role in acme."""
    from django.contrib.auth.models import User

    from tenants.services import ensure_member

    user = User.objects.create_user("ada", password="pw-ada-123", is_staff=True)
    ensure_member(tenant=acme, user=user, role="admin")
    client.force_login(user)
    return client


@pytest.fixture
def api_client(db) -> Callable[..., APIClient]:
    """api_client(tenant, scopes=None): a client holding a fresh API key of that tenant."""

    def make(tenant: Tenant, scopes: list[str] | None = None) -> APIClient:
        _, secret = create_api_key(tenant=tenant, name="test", scopes=scopes)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


def wait_until(predicate: Callable[[], object], *, timeout_s: float = 60, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def subprocess_env() -> dict[str, str]:
    """Environment for a child process (worker, manage.py) that must see this test run's database."""
    from django.conf import settings

    def url(credentials: dict) -> str:
        return f"postgresql://{credentials['USER']}@/{connection.settings_dict['NAME']}?host={credentials['HOST']}"

    # A task held by a SIGKILLed worker is redelivered after the visibility timeout: short here, so the crash tests
    # see redelivery in seconds (our tasks run for seconds and are idempotent, so an early redelivery is harmless).
    env = {
        "DJANGO_SETTINGS_MODULE": "jobmatch_site.settings_test",
        "DATABASE_URL": url(connection.settings_dict),
        "CELERY_VISIBILITY_TIMEOUT_S": "15",
    }
    if settings.MIGRATION_DATABASE is not None:
        env["MIGRATION_DATABASE_URL"] = url(settings.MIGRATION_DATABASE)
    return os.environ | env


def manage(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run manage.py as a separate process, as a user's shell would (real exit codes, real stderr); `env` adds
    variables to its environment."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=subprocess_env() | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


class Worker:
    """A real `celery worker` process against the test database and the embedded Redis; without `queues` it
    consumes every queue (settings.CELERY_TASK_QUEUES), as a worker started without -Q does."""

    started: ClassVar[list["Worker"]] = []  # every worker a test started, so one test can pause the others

    def __init__(self, *, name: str = "test-worker", queues: str | None = None) -> None:
        self.name, self.queues = name, queues
        self.process: subprocess.Popen | None = None
        self.log = ROOT / "var" / f"{name}.log"

    def start(self, **env: str) -> None:
        """Start it; `env` overrides settings for this run (e.g. CELERY_VISIBILITY_TIMEOUT_S)."""
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "jobmatch_site",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--hostname",
                f"{self.name}@%h",
                *(["--queues", self.queues] if self.queues else []),
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=subprocess_env() | env,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        if self not in Worker.started:
            Worker.started.append(self)

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_idle(self, timeout_s: float = 120) -> None:
        """Until the queue is empty and no task runs: a test whose writes queued tasks waits for them before its
        teardown truncates the tables they lock (else the two can deadlock)."""
        from django.conf import settings

        from jobmatch_site.celery import app

        def idle() -> bool:
            with app.connection_for_write() as connection:
                client = connection.default_channel.client
                queued = sum(client.llen(q.name) for q in settings.CELERY_TASK_QUEUES)  # the Redis lists behind them
            # Named, the broadcast returns on this worker's reply instead of waiting out the timeout.
            active = app.control.inspect(destination=[self.hostname], timeout=1.0).active() or {}
            return queued == 0 and bool(active) and not any(active.values())

        wait_until(idle, timeout_s=timeout_s, what="the worker to drain its queue")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement; what it held must be redelivered."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """Before a transactional test's tables are truncated, the session worker finishes what the test queued: a
    task still writing when TRUNCATE takes its locks deadlocks with it, the flush fails and rows leak into later
    tests."""
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or "live_server" in getattr(
        item, "fixturenames", ()
    )
    session_worker = next((w for w in Worker.started if w.name == "test-worker"), None)
    if transactional and session_worker is not None and session_worker.running():
        session_worker.wait_idle()
    yield


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    from jobmatch_site.celery import app

    with django_db_blocker.unblock():
        app.control.purge()  # tasks left by an earlier, interrupted run point at rows that no longer exist
        worker = Worker()
        worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def esco_prepared(acme):
    """The base encoder's ESCO occupation vectors stored in this test's transaction, as the worker's task stores
    them (from the encoding cache under MODELS_DIR after the first run: seconds, not a CPU-minute)."""
    from matching.services.encoding import encoder_for
    from matching.services.occupations import forget_loaded_indexes, prepare_occupation_vectors

    forget_loaded_indexes()
    prepare_occupation_vectors(version=acme.active_encoder, encoder=encoder_for(acme.active_encoder))
    yield acme.active_encoder
    forget_loaded_indexes()  # rolled back with the test: the next one must not read them from this process


@pytest.fixture
def no_esco_vectors():
    """This process holds no occupation index read in an earlier test (the rows went with its transaction)."""
    from matching.services.occupations import forget_loaded_indexes

    forget_loaded_indexes()
    yield
    forget_loaded_indexes()
