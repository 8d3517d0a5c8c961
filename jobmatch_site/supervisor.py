"""Keep `serve`'s processes alive: restart a dead child or embedded server, with backoff, until a stop signal.

A unit that dies is started again after 1 s, then 2, 4, ... up to 30 s while it keeps dying soon after a start; one
that ran for 60 s counts as healthy, so its next death is restarted after 1 s again. A start that fails (the
embedded PostgreSQL refuses while a killed server's backends still hold its shared memory) is retried the same way.
Only SIGINT or SIGTERM ends the loop, which then stops every child it started.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0
STOP_TIMEOUT_S = 30.0


def backoff_s(failures: int) -> float:
    """The wait before the next start after `failures` deaths or failed starts in a row: 1, 2, 4, ... 30 s."""
    return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** max(0, failures - 1))


class Child:
    """A command run as a child process, in its own session: a Ctrl-C reaches the supervisor, which stops it."""

    def __init__(self, name: str, command: Sequence[str]) -> None:
        self.name, self.command = name, list(command)
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        self.process = subprocess.Popen(self.command, start_new_session=True)
        return f"pid {self.process.pid}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ended(self) -> str:
        """Kill what it left behind in its process group (a killed gunicorn's workers keep its port, a killed
        Celery worker's pool process lives on); say how it ended."""
        self._kill_group()
        code = self.process.returncode if self.process else None
        return f"killed by signal {-code}" if code is not None and code < 0 else f"exited with {code}"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)  # its own warm shutdown: gunicorn and Celery stop their children
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._kill_group()

    def _kill_group(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing left in it
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the group is its own pid


class Server:
    """A daemon that outlives whoever starts it (the embedded PostgreSQL or Redis): watched, never stopped here."""

    def __init__(self, name: str, running: Callable[[], bool], start: Callable[[], object]) -> None:
        self.name, self._running, self._start = name, running, start

    def start(self) -> str:
        return "started" if self._start() else "running"

    def alive(self) -> bool:
        return self._running()

    def ended(self) -> str:
        return "not running"

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Left to its owner (embedded.stop_started_here), which knows whether this run started it."""


@dataclass
class _Watch:
    unit: Child | Server
    failures: int = 0
    started_at: float = 0.0
    due_at: float | None = 0.0  # when to (re)start it; None while it runs


class Supervisor:
    """Starts the servers (first) and children, then restarts whichever dies until `run`'s stop event is set."""

    def __init__(
        self,
        children: Sequence[Child],
        servers: Sequence[Server] = (),
        *,
        say: Callable[[str], object] = print,
        poll_s: float = 0.5,
    ) -> None:
        self.watches = [_Watch(unit) for unit in (*servers, *children)]  # servers first: the children need them
        self.say, self.poll_s = say, poll_s

    @property
    def children(self) -> list[Child]:
        return [watch.unit for watch in self.watches if isinstance(watch.unit, Child)]

    def run(self, stop: threading.Event, *, on_started: Callable[[], object] = lambda: None) -> None:
        """Start everything, call `on_started`, keep it all running until `stop` is set; then stop the children."""
        try:
            self.check(time.monotonic())
            on_started()
            while not stop.wait(self.poll_s):
                self.check(time.monotonic())
        finally:
            for child in self.children:
                child.stop()

    def check(self, now: float) -> None:
        """One pass: note what died since the last one, and start what is due."""
        for watch in self.watches:
            if watch.due_at is None:
                if watch.unit.alive():
                    continue
                watch.failures = 1 if now - watch.started_at >= HEALTHY_AFTER_S else watch.failures + 1
                watch.due_at = now + backoff_s(watch.failures)
                self.say(f"{watch.unit.name} {watch.unit.ended()}; restarting in {watch.due_at - now:.0f} s")
            if now >= watch.due_at:
                self._start(watch, now)

    def _start(self, watch: _Watch, now: float) -> None:
        try:
            how = watch.unit.start()
        except Exception as exc:  # a server that will not start yet is retried, never the end of the stack
            watch.failures += 1
            watch.due_at = now + backoff_s(watch.failures)
            self.say(f"{watch.unit.name} did not start ({exc}); retrying in {watch.due_at - now:.0f} s")
            return
        watch.started_at, watch.due_at = now, None
        self.say(f"{watch.unit.name}: {how}")


def supervise(supervisor: Supervisor, *, on_started: Callable[[], object] = lambda: None) -> None:
    """Run `supervisor` in the main thread until SIGINT (Ctrl-C) or SIGTERM (a process manager's stop)."""
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        supervisor.run(stop, on_started=on_started)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
