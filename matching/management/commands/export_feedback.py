import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobmatch_site.commands import command_tenant
from matching.services import export_feedback_csv


class Command(BaseCommand):
    help = "Write a tenant's feedback (labelled pairs) as CSV to stdout or a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args: object, tenant: str, output: Path | None, **options: object) -> None:
        with command_tenant(tenant) as scoped:
            try:
                handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
            try:
                for line in export_feedback_csv(tenant=scoped):
                    handle.write(line)
            finally:
                if output:
                    handle.close()
