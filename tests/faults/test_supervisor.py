"""`serve`'s supervisor on real processes: a killed child or embedded Redis comes back, and a stop signal ends it all.

The embedded Redis here runs in a temporary JOBMATCH_VAR_DIR, in processes of its own, so the servers this test run
uses are never touched.
"""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobmatch_site import embedded_postgres
from jobmatch_site.supervisor import Child, Supervisor, backoff_s
from tests.conftest import ROOT, wait_until

pytestmark = pytest.mark.timeout(60)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
# What `serve` does, on sleepers instead of gunicorn and Celery: argv[1] children, then the embedded servers named.
SUPERVISE = """
import sys
from jobmatch_site import embedded
from jobmatch_site.supervisor import Child, Server, Supervisor, supervise
SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
children = [Child(f"sleeper-{n}", SLEEPER) for n in range(int(sys.argv[1]))]
servers = [Server(name, *embedded.SERVERS[name]) for name in sys.argv[2:]]
say = lambda line: print(line, flush=True)
supervise(Supervisor(children, servers, say=say, poll_s=0.2), on_started=lambda: say("ready"))
"""


class Supervised:
    """The supervisor as its own process (signals go to a main thread), its output read line by line."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def wait_for(self, prefix: str, timeout_s: float = 20) -> str:
        seen = []
        try:
            while not (line := self.lines.get(timeout=timeout_s)).startswith(prefix):
                seen.append(line)
        except queue.Empty:
            raise AssertionError(f"no line starting {prefix!r} in {timeout_s:.0f} s; saw {seen}") from None
        return line

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _pid(line: str) -> int:
    return int(line.rsplit("pid ", 1)[1])


def _redis_pings(sock: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.settimeout(2)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def own_var(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment whose embedded servers live under a fresh var/; its Redis is stopped afterwards."""
    env = os.environ | {"JOBMATCH_VAR_DIR": str(tmp_path)}
    yield env
    _in(env, "from jobmatch_site import embedded; embedded.stop_redis()")


def _in(env: dict[str, str], code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
    ).stdout


def _redis_pid(env: dict[str, str]) -> int:
    return int(_in(env, "from jobmatch_site import embedded; print(embedded._redis_pid())"))


def test_a_supervised_child_killed_with_sigkill_is_started_again():
    supervisor = Supervisor([Child("sleeper", SLEEPER)], say=lambda line: None, poll_s=0.1)
    stop = threading.Event()
    loop = threading.Thread(target=supervisor.run, args=(stop,))
    loop.start()
    try:
        child = supervisor.children[0]
        first = wait_until(lambda: child.alive() and child.process.pid, timeout_s=10, what="the first start")
        os.kill(first, signal.SIGKILL)
        again = wait_until(
            lambda: child.alive() and child.process.pid != first and child.process.pid,
            timeout_s=10,
            what="the restart",
        )
    finally:
        stop.set()
        loop.join(timeout=40)
    assert not embedded_postgres.process_alive(again)


def test_what_a_killed_child_left_running_is_killed_before_it_starts_again(tmp_path):
    grandchild = tmp_path / "grandchild.pid"  # like a killed gunicorn's workers, which hold its port
    forks = f"import subprocess, time; open({str(grandchild)!r}, 'w').write(str(subprocess.Popen({SLEEPER!r}).pid)); "
    supervisor = Supervisor([Child("forker", [sys.executable, "-c", forks + "time.sleep(600)"])], say=lambda _: None)
    stop = threading.Event()
    loop = threading.Thread(target=supervisor.run, args=(stop,))
    loop.start()
    try:
        left = int(wait_until(lambda: grandchild.exists() and grandchild.read_text(), timeout_s=10, what="a fork"))
        grandchild.unlink()
        os.kill(supervisor.children[0].process.pid, signal.SIGKILL)
        wait_until(grandchild.exists, timeout_s=10, what="the restart")
        assert not embedded_postgres.process_alive(left)
    finally:
        stop.set()
        loop.join(timeout=40)


def test_a_child_that_keeps_dying_waits_longer_each_time_and_one_that_ran_a_minute_starts_over():
    supervisor = Supervisor([Child("crasher", [sys.executable, "-c", "pass"])], say=lambda line: None)
    watch, child = supervisor.watches[0], supervisor.children[0]
    supervisor.check(0.0)
    waits = []
    now = 0.0
    for _ in range(7):
        child.process.wait(timeout=10)
        supervisor.check(now)  # notes the death
        waits.append(watch.due_at - now)
        now = watch.due_at
        supervisor.check(now)  # starts it again
    child.process.wait(timeout=10)
    supervisor.check(now + 61)
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert watch.due_at - (now + 61) == 1
    assert backoff_s(1) == 1


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_ends_the_supervisor_and_every_child(stop_signal):
    supervised = Supervised("2", env=dict(os.environ))
    try:
        pids = [_pid(supervised.wait_for("sleeper-0")), _pid(supervised.wait_for("sleeper-1"))]
        supervised.wait_for("ready")
        supervised.process.send_signal(stop_signal)
        assert supervised.process.wait(timeout=40) == 0
    finally:
        supervised.end()
    assert [pid for pid in pids if embedded_postgres.process_alive(pid)] == []


def test_embedded_status_says_stopped_right_after_its_redis_is_killed(own_var):
    _in(own_var, "from jobmatch_site import embedded; embedded.start_redis()")
    os.kill(_redis_pid(own_var), signal.SIGKILL)
    assert "redis: stopped" in _in(own_var, "from jobmatch_site import embedded; embedded.main(['status'])")


def test_the_supervisor_starts_a_killed_embedded_redis_again(own_var):
    _in(own_var, "from jobmatch_site import embedded; embedded.start_redis()")
    sock = Path(_in(own_var, "from jobmatch_site import embedded; print(embedded.redis_paths()[1])").strip())
    supervised = Supervised("0", "redis", env=own_var)
    try:
        supervised.wait_for("ready")
        killed = _redis_pid(own_var)
        os.kill(killed, signal.SIGKILL)
        supervised.wait_for("redis not running")
        supervised.wait_for("redis: started")
        wait_until(lambda: _redis_pings(sock), timeout_s=10, what="the new Redis to answer PING")
        assert _redis_pid(own_var) != killed
    finally:
        supervised.end()
