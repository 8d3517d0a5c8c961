"""What a search reads of a tenant's settings, kept in each process's memory, and never used after a change.

Each tenant has a generation counter in Redis, and one counter covers what all tenants share (encoder versions,
their global calibration). A write that changes such data bumps its counter (`bump`: at once and again after
commit, so a reader that loaded the old rows between the two reloads); a reader keys its memo on the counters it
read before loading (`Memo.get`), so a memo never holds data older than the counters it carries. Which writes bump:
the post_save/post_delete receivers the apps register (`watch`), plus the services' bulk writes, which send no
signals. Without Redis nothing is memoised (every read goes to the database); a bump lost to a Redis outage is
healed within MAX_AGE_S, when every memo is rebuilt anyway. A counter starts at a random 48-bit value, so a
Redis that lost its data never hands back a number a memo was keyed on.

A request reads its tenant's counters once: the API-key authentication gets them from its one Redis call
(tenants/authentication.py) and `remember`s them for the rest of the request; elsewhere `generations` asks Redis.
"""

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger(__name__)
T = TypeVar("T")
MAX_AGE_S = 60.0
Generations = tuple[int, int]  # (the tenant's, the shared one)
_request: ContextVar[dict[int, Generations] | None] = ContextVar("jobmatch_generations", default=None)


def redis_client():  # noqa: ANN201 (redis.Redis): the cache's own connection pool, so no second one per process
    return cache._cache.get_client(write=True)


def tenant_key(tenant_id: int) -> str:
    return cache.make_key(f"gen:tenant:{tenant_id}")


def shared_key() -> str:
    return cache.make_key("gen:shared")


def _incr(key: str) -> None:
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.set(key, secrets.randbelow(1 << 48), nx=True)  # a missing counter starts at random (generations())
        pipe.incr(key)
        pipe.execute()
    except Exception:  # noqa: BLE001 (any Redis failure): the write stands; memos heal within MAX_AGE_S
        logger.warning("could not bump %s: memos may serve the old settings for up to %.0f s", key, MAX_AGE_S)


def bump(tenant_id: int | None) -> None:
    """The tenant's settings changed (None: something all tenants share)."""
    key = shared_key() if tenant_id is None else tenant_key(tenant_id)
    _incr(key)
    known = _request.get()
    if known is not None:
        known.clear()  # this request reads the counters again
    transaction.on_commit(lambda: _incr(key))


def watch(model: type, tenant_of: Callable[[object], int | None]) -> None:
    """Bump on every save and delete of `model`; tenant_of(instance) names the tenant, or None for shared data."""

    def changed(sender: type, instance: object, **kwargs: object) -> None:
        bump(tenant_of(instance))

    uid = f"generations.{model._meta.label}"
    post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)


@contextmanager
def request_generations() -> Iterator[None]:
    """The counters a request reads are read once (TenantMiddleware wraps each request in this)."""
    token = _request.set({})
    try:
        yield
    finally:
        _request.reset(token)


def remember(tenant_id: int, value: Generations) -> None:
    known = _request.get()
    if known is not None:
        known[tenant_id] = value


def generations(tenant_id: int) -> Generations | None:
    """The tenant's counters now, or None when Redis cannot say (then nothing may be memoised)."""
    known = _request.get()
    if known is not None and tenant_id in known:
        return known[tenant_id]
    keys = [tenant_key(tenant_id), shared_key()]
    try:
        client = redis_client()
        values = client.mget(keys)
        if None in values:
            # A counter that does not exist yet (or a Redis that lost its data) starts at a random value, so it
            # never comes back to a number a memo was keyed on before.
            for key in keys:
                client.set(key, secrets.randbelow(1 << 48), nx=True)
            values = client.mget(keys)
    except Exception:  # noqa: BLE001 (any Redis failure): read the database instead
        return None
    value = (int(values[0]), int(values[1]))
    remember(tenant_id, value)
    return value


class Memo:
    """Values per key, each valid while its tenant's counters are what they were when it was loaded."""

    _all: list["Memo"] = []

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[object, tuple[Generations, float, object]] = {}
        Memo._all.append(self)

    def get(self, *, tenant_id: int, key: object, load: Callable[[], T]) -> T:
        gens = generations(tenant_id)
        if gens is None:
            return load()
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] == gens and now - hit[1] < MAX_AGE_S:
            return hit[2]
        value = load()  # after reading the counters: a change committed later bumps them past `gens`
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))  # the oldest insertion
            self._entries[key] = (gens, now, value)
        return value

    @classmethod
    def forget_all(cls) -> None:
        """Empty every memo (tests: a rolled-back transaction bumps nothing)."""
        for memo in cls._all:
            with memo._lock:
                memo._entries.clear()
