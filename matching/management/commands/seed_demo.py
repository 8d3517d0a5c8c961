from django.core.management.base import BaseCommand, CommandParser

from jobmatch_site.commands import refusals_exit_2
from matching.management.demo import seed_demo
from matching.services import encoded_counts
from tenants.scoping import tenant_scope


class Command(BaseCommand):
    help = "Create or refresh the demo tenant, its user and sample vacancies/candidates from ESCO (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", default="demo", help="tenant slug (default: demo)")

    def handle(self, *args: object, tenant: str, **options: object) -> None:
        with refusals_exit_2():
            report = seed_demo(slug=tenant)
            with tenant_scope(report.tenant.id):
                waiting = sum(c["rows"] - c["encoded"] for c in encoded_counts(tenant=report.tenant).values())
        self.stdout.write(
            f"tenant {report.tenant.slug}: {report.vacancies} vacancies, {report.candidates} candidates; "
            f"log in as {report.username} / {report.password}"
        )
        if waiting:
            self.stdout.write(
                f"{waiting} rows wait for a worker to encode them: searches find them once it has "
                "(`make run` starts one)"
            )
