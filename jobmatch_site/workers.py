"""The Celery processes `serve` runs: workers per queue and one beat, each its own process.

Beat runs apart from every worker so there is exactly one scheduler however many workers run: a second beat would
queue every periodic task twice, and `worker --beat` on two workers does exactly that.
"""

import sys
from pathlib import Path

from django.conf import settings

# What `--workers` names: the encode queue, the default queue, or one worker on both (the single-box default).
WORKER_KINDS = ("encode", "default", "all")
DEFAULT_WORKERS = "all=1"


def parse_workers(spec: str) -> dict[str, int]:
    """'encode=1,default=1' -> {'encode': 1, 'default': 1}; ValueError, in the caller's words, on anything else."""
    workers: dict[str, int] = {}
    for part in (part.strip() for part in spec.split(",")):
        kind, _, count = part.partition("=")
        if kind not in WORKER_KINDS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"--workers {spec!r}: each item is KIND=N with KIND one of {', '.join(WORKER_KINDS)}")
        if kind in workers:
            raise ValueError(f"--workers {spec!r} names {kind} twice")
        workers[kind] = int(count)
    if "all" in workers and len(workers) > 1:
        raise ValueError(f"--workers {spec!r}: 'all' already consumes every queue; name it alone")
    return workers


def _queues(kind: str) -> str:
    default, encode = settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_ENCODE_QUEUE
    return {"encode": encode, "default": default, "all": ",".join(dict.fromkeys((default, encode)))}[kind]


def celery_commands(workers: dict[str, int], *, schedule: Path) -> list[tuple[str, list[str]]]:
    """(name, argv) for each worker (concurrency N, its own queues and node name) and for the one beat."""
    celery = [sys.executable, "-m", "celery", "-A", "jobmatch_site"]
    commands = []
    for kind, count in workers.items():
        node = "worker" if kind == "all" else f"{kind}-worker"  # node names must differ between workers on a host
        commands.append((node.replace("-", " "), [*celery, "worker", "--queues", _queues(kind), "--concurrency",
                         str(count), "--hostname", f"{node}@%h", "--loglevel", "INFO"]))  # fmt: skip
    commands.append(("beat", [*celery, "beat", "--schedule", str(schedule), "--loglevel", "INFO"]))
    return commands
