"""Settings for the test suite: the same real services, a separate Redis database so a running `make run`
worker never consumes test tasks (Django's test runner already uses its own test_ database)."""

import os

os.environ.setdefault("REDIS_DB", "1")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
CALIBRATE_GLOBAL_ON_DEMAND = False  # a test that wants a global threshold fits a small one itself
