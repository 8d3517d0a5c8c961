"""A streaming replica of the embedded PostgreSQL (embedded_postgres.py) under var/.

A hot standby made by pg_basebackup (from the same wheel) that streams the primary's WAL through a physical
replication slot: search reads from it (jobmatch_site/replica.py). Same cluster, so the same roles, policies and
test databases; the slot keeps the WAL it has not received, so it is dropped with the replica (stop_replica).
"""

import os
import pwd
import time
from pathlib import Path

from .embedded_postgres import (
    APP_ROLE,
    DATABASE_NAME,
    OWNER_ROLE,
    PG_SETTINGS,
    PG_SYSTEM_USER,
    STARTED_HERE,
    _as_root,
    _locked,
    _pg_run,
    _prepare_for_system_user,
    _socket_dir,
    postgres_paths,
    postgres_running,
    process_alive,
    start_postgres,
    var_dir,
)

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
