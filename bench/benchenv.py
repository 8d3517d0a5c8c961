"""What the Django benchmarks share: their own embedded PostgreSQL + Redis under var/bench/ (never the app's data),
migrated, and a real Celery worker or gunicorn started as a child process and stopped by its own pid."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results"


def setup_django() -> None:
    """Point the embedded servers at var/bench (before settings are read), set Django up, migrate."""
    os.environ.setdefault("JOBMATCH_VAR_DIR", str(BENCH_VAR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def child_env(**extra: str) -> dict[str, str]:
    return os.environ | {"JOBMATCH_VAR_DIR": os.environ.get("JOBMATCH_VAR_DIR", str(BENCH_VAR))} | extra


@contextmanager
def child(command: list[str], *, ready: str, log: Path, env: dict[str, str], timeout_s: float = 120) -> Iterator[int]:
    """Run `command` until the block ends; wait until its log shows `ready`. Yields its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + timeout_s
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[2:5]} did not start; see {log}")
            time.sleep(0.2)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def celery_worker(log: Path, concurrency: int = 1, queues: str | None = None) -> "contextmanager":
    """A worker on `queues` (e.g. "encode": a dedicated encode worker), or on every queue."""
    command = [sys.executable, "-m", "celery", "-A", "jobmatch_site", "worker", "--concurrency", str(concurrency),
               "--loglevel", "INFO", "--without-gossip", "--without-mingle",
               "-n", f"bench-{os.getpid()}@%h", *(["--queues", queues] if queues else [])]  # fmt: skip
    return child(command, ready="ready.", log=log, env=child_env())


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set so far (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
