from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from jobmatch_site.commands import command_tenant
from matching.models import Kind
from matching.services.imports import import_csv


class Command(BaseCommand):
    help = (
        "Import vacancies or candidates from CSV (external_id,title,description,country,city,languages; other "
        "columns become custom fields). Valid rows are kept; bad rows are listed with their line numbers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--kind", required=True, choices=[kind.value for kind in Kind])
        parser.add_argument("file", type=Path)

    def handle(self, *args: object, tenant: str, kind: str, file: Path, **options: object) -> None:
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}", returncode=2) from exc
        with command_tenant(tenant) as scoped, tqdm(total=0, unit="rows", desc="import", disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            report = import_csv(tenant=scoped, kind=Kind(kind), raw=raw, progress=progress)
        for error in report.errors:
            self.stderr.write(f"line {error['line']}: {error['field'] or 'row'}: {error['detail']}")
        self.stdout.write(
            f"{report.rows} rows read: {report.created} created, {report.updated} updated, "
            f"{report.rows - report.created - report.updated - report.refused} unchanged, "
            f"{report.refused} rejected"
        )
