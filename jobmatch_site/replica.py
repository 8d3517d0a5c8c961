"""Search reads from a streaming read replica; every write, and every other read, goes to the primary.

`DATABASE_REPLICA_URL` (or the embedded replica, `EMBEDDED_PG_REPLICA=1`) adds the `replica` alias. A function
wrapped in `search_reads` (services/search.py's `search`) routes its reads there through `ReplicaRouter` while the
replica is up and fresh, and to the primary otherwise; a search that loses the replica half-way runs again on the
primary (a search only reads, so repeating it is safe). Fresh means: it has replayed all the WAL the primary had
written DATABASE_REPLICA_MAX_LAG_S ago, as this process sampled it. So a search right after a write may miss the
write (replication lag), never for longer than that bound.

The replica connection carries the same TenantSetting wrapper (tenants/rls.py, on every PostgreSQL connection) and
the same app role, and a physical replica holds the same policies: row-level security holds there too.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

REPLICA = "replica"
CHECK_EVERY_S = 1.0  # how often a process re-checks the replica's lag: two tiny queries, not one per search
DOWN_RETRY_S = 5.0  # after a failed connect, so a replica that is down costs a search nothing most of the time
logger = logging.getLogger(__name__)
_reads_from: ContextVar[str | None] = ContextVar("jobmatch_reads_from", default=None)
T = TypeVar("T")


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class _Health:
    """Per process: whether the replica may serve, re-checked at most every CHECK_EVERY_S."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.forget()

    def forget(self) -> None:
        self.usable, self.next_check = False, 0.0
        self.samples: deque[tuple[float, int]] = deque()  # (when, the primary's WAL position then)

    def usable_now(self) -> bool:
        with self.lock:
            now = time.monotonic()
            if now >= self.next_check:
                self.usable = self._check(now)
                self.next_check = now + (CHECK_EVERY_S if self.usable else DOWN_RETRY_S)
            return self.usable

    def _check(self, now: float) -> bool:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            (primary,) = cursor.fetchone()
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                standby, replayed = cursor.fetchone()
        except DatabaseError as exc:
            connections[REPLICA].close()  # reconnect on the next check
            logger.warning("read replica unavailable, searching the primary: %s", str(exc).strip().splitlines()[0])
            return False
        if not standby or replayed is None:
            logger.warning("read replica is not a standby (promoted?): searching the primary")
            return False
        max_lag_s = settings.DATABASE_REPLICA_MAX_LAG_S
        self.samples.append((now, _lsn(primary)))
        while len(self.samples) > 1 and self.samples[1][0] <= now - max_lag_s:
            self.samples.popleft()  # keep one sample at or beyond the window's edge: that is the one that decides
        missing_since = next((when for when, lsn in self.samples if lsn > _lsn(replayed)), now)
        if now - missing_since > max_lag_s:
            logger.warning("read replica %.1f s behind, searching the primary", now - missing_since)
            return False
        return True


_health = _Health()


def replica_configured() -> bool:
    return REPLICA in connections.settings


def forget_replica_health() -> None:
    """The next search checks the replica again (after it was stopped, started or its lag changed)."""
    _health.forget()


@contextmanager
def replica_reads() -> Iterator[str]:
    """Route this block's reads to the replica when it is configured, up and fresh, else to the primary; yields
    the alias chosen, once for the whole block (its SET LOCALs and its queries must share one connection)."""
    alias = REPLICA if replica_configured() and _health.usable_now() else DEFAULT_DB_ALIAS
    token = _reads_from.set(alias)
    try:
        yield alias
    finally:
        _reads_from.reset(token)


def read_alias() -> str:
    """The database this block reads from (the replica inside a search that chose it)."""
    return _reads_from.get() or DEFAULT_DB_ALIAS


def search_reads(func: Callable[..., T]) -> Callable[..., T]:
    """Run `func` (which only reads) on the replica when it may serve; on the primary again if the replica fails
    under it."""

    @wraps(func)
    def wrapper(*args: object, **kwargs: object) -> T:
        with replica_reads() as alias:
            if alias == DEFAULT_DB_ALIAS:
                return func(*args, **kwargs)
            try:
                return func(*args, **kwargs)
            except (OperationalError, InterfaceError) as exc:
                if not connections[REPLICA].errors_occurred:
                    raise  # the primary's error: a 503 like any other
                logger.warning("read replica failed during a search, repeating it on the primary: %s", exc)
                connections[REPLICA].close()
                _health.forget()
                _health.next_check = time.monotonic() + DOWN_RETRY_S
        token = _reads_from.set(DEFAULT_DB_ALIAS)
        try:
            return func(*args, **kwargs)
        finally:
            _reads_from.reset(token)

    return wrapper


class ReplicaRouter:
    """Reads inside a search that chose the replica go there; everything else, writes always, to the primary."""

    def db_for_read(self, model: type, **hints: object) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: object) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: object, obj2: object, **hints: object) -> bool | None:
        return True if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool | None:
        return False if db == REPLICA else None  # it replays the primary's schema
