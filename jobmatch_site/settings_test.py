"""Settings for the test suite: the same real services, a separate Redis database so a running `make run`
worker never consumes test tasks (Django's test runner already uses its own test_ database)."""

import os

os.environ.setdefault("REDIS_DB", "1")
# A test that wants a global threshold fits or loads one itself: most assert behaviour before any threshold exists.
os.environ.setdefault("GLOBAL_CALIBRATION_AUTO", "0")
# Likewise the ESCO occupation vectors: a worker preparing them mid-test would race the teardown's TRUNCATE.
os.environ.setdefault("OCCUPATIONS_AUTO", "0")
# Most tests write inside a transaction that never commits, which no replica ever sees: searches stay on the
# primary here, and tests/matching/test_replica.py makes and registers a streaming replica of its own.
os.environ.pop("DATABASE_REPLICA_URL", None)
os.environ["EMBEDDED_PG_REPLICA"] = "0"

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
