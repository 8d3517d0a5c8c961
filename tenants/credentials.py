"""An API-key request's authentication and rate-limit counting in one Redis call.

The script (`_SCRIPT`) reads the key's cached record (by its prefix), its tenant's generation counters
(jobmatch_site/generations.py) and counts the request against each of the view's rate limits (a sorted set per key
and limit: the requests of the last window, as DRF's SimpleRateThrottle keeps them in a list), all atomically. On a
miss the record is read from PostgreSQL and stored by the same script (SET NX, RECORD_TTL_S).

Revocation: any change to a key (revoke, delete, admin edit) replaces its record by a marker, at once and again after
commit; a marker sends every lookup to the database until it expires, and SET NX keeps a lookup that raced the
change from caching the old row over it. So a revoked key is refused from the commit on.
"""

import copy
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from jobmatch_site.generations import Memo, redis_client, remember, shared_key, tenant_key

from .models import ApiKey, Tenant
from .scoping import tenant_scope

logger = logging.getLogger(__name__)
RECORD_TTL_S = 300
MARKER = "db"  # "ask the database": written on every change of a key
LAST_USED_EVERY_S = 60  # last_used_at is written at most this often per key

# One sliding window per limit (a sorted set of request times): FIRST is the ARGV index of the first limit's
# triple (counter key, limit, window seconds), SUFFIX what the counter key is completed with, MEMBER this request.
_WINDOWS = """local verdicts = {}
for i = FIRST, #ARGV, 3 do
  local key, limit, window = ARGV[i] .. SUFFIX, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then
    redis.call('ZADD', key, now, MEMBER)
    redis.call('EXPIRE', key, math.ceil(window))
    table.insert(verdicts, {1, ''})
  else
    table.insert(verdicts, {0, redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2]})
  end
end
"""


def _windows(first: int, suffix: str, member: str) -> str:
    return _WINDOWS.replace("FIRST", str(first)).replace("SUFFIX", suffix).replace("MEMBER", member)


# ARGV: record key, record to store ("" to read), record TTL, tenant counter prefix, shared counter key, last-used
# key prefix, last-used interval, now, member, the secret's hash, then per limit: counter key prefix, limit, window
# seconds. Returns {record or false}, {record, 'bad'} for a wrong secret (nothing counted), or {record, tenant
# generation, shared generation ('' while missing), write last_used (0/1), {allowed, oldest} per limit}.
_SCRIPT = (
    """
local record = ARGV[2]
if record ~= '' then
  redis.call('SET', ARGV[1], record, 'NX', 'EX', ARGV[3])
  record = redis.call('GET', ARGV[1])
else
  record = redis.call('GET', ARGV[1])
end
if (not record) or record == 'db' then return {record} end
local data = cjson.decode(record)
if data['secret_hash'] ~= ARGV[10] then return {record, 'bad'} end
local ident = data['prefix']  -- unique and random: never a reused id's counters
local gens = redis.call('MGET', ARGV[4] .. data['tenant'], ARGV[5])
local used = redis.call('SET', ARGV[6] .. ident, '1', 'NX', 'EX', ARGV[7]) and 1 or 0
local now = tonumber(ARGV[8])
"""
    + _windows(11, "ident", "ARGV[9]")
    + """return {record, gens[1] or '', gens[2] or '', used, verdicts}
"""
)

# The same counting for a browser session's user: ARGV now, member, then per limit: counter key, limit, window.
_COUNT_SCRIPT = (
    """
local now = tonumber(ARGV[1])
"""
    + _windows(3, "''", "ARGV[2]")
    + """return verdicts
"""
)
_scripts: dict[str, object] = {}
_tenants = Memo()


@dataclass(frozen=True)
class Limit:
    scope: str  # the throttle's scope: "api", "search"
    requests: int
    window_s: float


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    oldest: float | None  # when refused: the oldest request still counted, for Retry-After


def _script(name: str, source: str):  # noqa: ANN202 (a redis Script)
    if name not in _scripts:
        _scripts[name] = redis_client().register_script(source)
    return _scripts[name]


def record_key(prefix: str) -> str:
    return cache.make_key(f"apikey:{prefix}")


def counter_prefix(scope: str, who: str) -> str:
    """Counter keys end in the key's prefix (or the user's id): `ratelimit:<scope>:key<prefix>`."""
    return cache.make_key(f"ratelimit:{scope}:{who}")  # not DRF's throttle:...: those hold a pickled list


def forget_key(prefix: str) -> None:
    """A key changed: the database answers for it from now on (see the module's docstring)."""

    def mark() -> None:
        try:
            redis_client().set(record_key(prefix), MARKER, ex=RECORD_TTL_S)
        except Exception:  # noqa: BLE001 (any Redis failure): the lookup cannot use Redis either meanwhile
            logger.warning("could not mark API key %s as changed in Redis", prefix)

    mark()
    transaction.on_commit(mark)


def _verdicts(raw: list, limits: list[Limit]) -> dict[str, Verdict]:
    return {
        limit.scope: Verdict(bool(int(allowed)), float(oldest) if oldest else None)
        for limit, (allowed, oldest) in zip(limits, raw, strict=True)
    }


def _record_of(key: ApiKey) -> str:
    return json.dumps(
        {
            "ident": str(key.pk),
            "tenant": str(key.tenant_id),
            "name": key.name,
            "prefix": key.prefix,
            "secret_hash": key.secret_hash,
            "scopes": key.scopes,
        }  # fmt: skip
    )


def _key_from(record: dict) -> ApiKey:
    key = ApiKey(
        id=int(record["ident"]), tenant_id=int(record["tenant"]), name=record["name"], prefix=record["prefix"],
        secret_hash=record["secret_hash"], scopes=record["scopes"],
    )  # fmt: skip
    key._state.adding, key._state.db = False, "default"  # a stored row, as a query would return it
    return key


def tenant_of(tenant_id: int) -> Tenant:
    """The tenant with its active encoder, memoised until it changes; a copy per request (a caller may set fields)."""

    def load() -> Tenant:
        return Tenant.objects.select_related("active_encoder").get(pk=tenant_id)

    return copy.copy(_tenants.get(tenant_id=tenant_id, key=tenant_id, load=load))


def lookup_and_count(
    *, prefix: str, secret_hash: str, limits: list[Limit], load: Callable[[], ApiKey | None]
) -> tuple[ApiKey | None, dict[str, Verdict] | None, bool]:
    """(the live key with this prefix and secret or None, the verdict per limit or None when not counted here,
    whether to write its last_used_at). `load` reads and checks the key in the database, and writes its
    last_used_at as it sees fit (on a miss, a marker, or Redis unreachable)."""
    now = time.time()
    args = [record_key(prefix), "", RECORD_TTL_S, tenant_key(""), shared_key(),
            cache.make_key("apikey-used:"), LAST_USED_EVERY_S, f"{now:.6f}", uuid.uuid4().hex,
            secret_hash]  # fmt: skip
    for limit in limits:
        args += [counter_prefix(limit.scope, "key"), limit.requests, limit.window_s]
    script, loaded = _script("lookup", _SCRIPT), None
    try:
        found = script(args=args)
        if found[0] is None:  # a miss: the database, then store it and count in the same call
            loaded = load()
            if loaded is None:
                return None, None, False
            found = script(args=[args[0], _record_of(loaded), *args[2:]])
        if found[0] is None or found[0] == MARKER.encode():  # changed lately: the database answers
            return loaded or load(), None, False  # not counted: the throttles count for themselves
        if len(found) == 2:  # the wrong secret
            return None, None, False
    except Exception as exc:  # noqa: BLE001 (any Redis failure): the database answers; limits resume with Redis
        logger.warning("Redis unavailable for the API-key lookup, the database answers: %s", exc)
        return loaded or load(), None, False
    record, mine, shared, used, raw = found
    key = _key_from(json.loads(record))
    if mine and shared:  # else not created yet: generations() creates them when a memo asks
        remember(key.tenant_id, (int(mine), int(shared)))  # the request's generations: read once, here
    return key, _verdicts(raw, limits), bool(int(used)) and loaded is None  # load() wrote last_used_at itself


def count(*, who: str, limits: list[Limit]) -> dict[str, Verdict]:
    """Count a request of `who` ("user<id>") against each limit in one call; raises if Redis is unreachable."""
    now = time.time()
    args = [f"{now:.6f}", uuid.uuid4().hex]
    for limit in limits:
        args += [counter_prefix(limit.scope, who), limit.requests, limit.window_s]
    return _verdicts(_script("count", _COUNT_SCRIPT)(args=args), limits)


def touch(key: ApiKey) -> None:
    """Record that the key was used (at most once a LAST_USED_EVERY_S, as the Redis marker decides)."""
    with tenant_scope(key.tenant_id):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
