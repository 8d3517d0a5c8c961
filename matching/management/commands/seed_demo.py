from django.core.management.base import BaseCommand, CommandParser

from jobmatch_site.commands import refusals_exit_2
from matching.services.demo import seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo tenant, its user and sample vacancies/candidates from ESCO (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo", help="tenant slug (default: demo)")

    def handle(self, *args: object, tenant: str, **options: object) -> None:
        with refusals_exit_2():
            report = seed_demo(slug=tenant)
        self.stdout.write(
            f"tenant {report.tenant.slug}: {report.vacancies} vacancies, {report.candidates} candidates "
            f"(encoding in the background); log in as {report.username} / {report.password}"
        )
