import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobmatch_site import embedded
from jobmatch_site.http_server import gunicorn_command
from jobmatch_site.supervisor import Child, Server, Supervisor, supervise
from jobmatch_site.workers import DEFAULT_WORKERS, celery_commands, parse_workers
from matching.management.demo import DemoReport, seed_demo
from matching.services import prepare_versions


class Command(BaseCommand):
    help = "Run JobMatch here: migrate, seed the demo, start the web server, Celery workers and beat; Ctrl-C stops all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="skip seeding the demo tenant")
        parser.add_argument(
            "--workers",
            default=os.environ.get("SERVE_WORKERS", DEFAULT_WORKERS),
            help="Celery workers per queue, e.g. encode=1,default=1 (default all=1: one worker on every queue)",
        )

    def handle(self, *args: object, host: str, port: int, no_demo: bool, workers: str, **options: object) -> None:
        try:
            celery = celery_commands(parse_workers(workers), schedule=settings.BASE_DIR / "var" / "celerybeat-schedule")
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        report = None if no_demo else seed_demo()
        self.stdout.write("Preparing the encoders (the first start builds their ONNX exports, about a minute)...")
        prepare_versions()  # before the web server forks: requests only load exports, never build them
        children = [Child("web server", gunicorn_command(bind=f"{host}:{port}"))]
        children += [Child(name, command) for name, command in celery]
        servers = [Server(name, *embedded.SERVERS[name]) for name in settings.EMBEDDED_SERVERS]
        supervisor = Supervisor(children, servers, say=self._say)
        try:
            supervise(supervisor, on_started=lambda: self._started(host, port, report))
        finally:
            stopped = embedded.stop_started_here()
            names = [child.name for child in children] + stopped
            self.stdout.write(f"stopped {', '.join(names)}")

    def _say(self, line: str) -> None:
        self.stdout.write(f"serve: {line}")

    def _started(self, host: str, port: int, report: DemoReport | None) -> None:
        self.stdout.write(self.style.SUCCESS(f"\nJobMatch is running at http://{host}:{port}/"))
        if report:
            self.stdout.write(
                f"Log in as {report.username} / {report.password} (tenant {report.tenant.slug}); "
                f"admin at http://{host}:{port}/admin/, API docs at http://{host}:{port}/api/docs/"
            )
        self.stdout.write(
            "A child or embedded server that dies is restarted. Ctrl-C stops the web server, the workers, beat and the "
            "embedded services this run started.\n"
        )
