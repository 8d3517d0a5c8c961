"""Build the own HNSW index of every tenant past SEARCH_EXACT_MAX_ROWS rows (what the periodic task does)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from matching.services.vector_indexes import ensure_tenant_indexes, missing_tenant_indexes


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--dry-run", action="store_true", help="list the missing indexes, build nothing")

    def handle(self, *args: object, dry_run: bool, **options: object) -> None:
        limit = settings.SEARCH_EXACT_MAX_ROWS
        if dry_run:
            missing = missing_tenant_indexes()
            for index in missing:
                self.stdout.write(f"missing {index.name}: tenant {index.tenant_id}, {index.rows} rows")
            self.stdout.write(f"{len(missing)} missing (tenants with more than {limit} rows under their encoder)")
            return
        built = ensure_tenant_indexes()
        for index in built:
            self.stdout.write(f"built {index.name}: tenant {index.tenant_id}, {index.rows} rows")
        self.stdout.write(f"{len(built)} built (tenants with more than {limit} rows under their encoder)")
