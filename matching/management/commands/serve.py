import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from jobmatch_site import embedded
from jobmatch_site.http_server import gunicorn_command
from matching.management.demo import seed_demo
from matching.services import prepare_versions


class Command(BaseCommand):
    help = "Run JobMatch here: migrate, seed the demo, start the web server and one Celery worker; Ctrl-C stops all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="skip seeding the demo tenant")

    def handle(self, *args: object, host: str, port: int, no_demo: bool, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        report = None if no_demo else seed_demo()
        self.stdout.write("Preparing the encoders (the first start builds their ONNX exports, about a minute)...")
        prepare_versions()  # before the web server forks: requests only load exports, never build them
        var = settings.BASE_DIR / "var"
        commands = [
            gunicorn_command(bind=f"{host}:{port}"),
            [sys.executable, "-m", "celery", "-A", "jobmatch_site", "worker", "--beat", "--concurrency", "1",
             "--loglevel", "INFO", "--schedule", str(var / "celerybeat-schedule")],
        ]  # fmt: skip
        children: list[subprocess.Popen] = []
        # A process manager stops us with SIGTERM, and a shell starts background jobs with SIGINT ignored: both end
        # up in the same clean stop as a Ctrl-C.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:  # from the first child on, any exit (Ctrl-C included) goes through _stop
            for command in commands:
                children.append(subprocess.Popen(command))
            self.stdout.write(self.style.SUCCESS(f"\nJobMatch is running at http://{host}:{port}/"))
            if report:
                self.stdout.write(
                    f"Log in as {report.username} / {report.password} (tenant {report.tenant.slug}); "
                    f"admin at http://{host}:{port}/admin/, API docs at http://{host}:{port}/api/docs/"
                )
            self.stdout.write("Ctrl-C stops the web server, the worker and the embedded services this run started.\n")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)

    def _stop(self, children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        stopped = embedded.stop_started_here()
        self.stdout.write(f"stopped web server, worker{''.join(f', {name}' for name in stopped)}")
