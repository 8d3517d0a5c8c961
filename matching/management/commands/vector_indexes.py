"""Build the HNSW indexes searches can use and lack: each tenant's past SEARCH_EXACT_MAX_ROWS rows, each active
version's past that many rows in all; first delete the vectors (and graphs) of versions tenants left more than
RETIRED_VECTORS_KEEP_S ago. What the periodic task does."""

from django.conf import settings
from django.core.management.base import BaseCommand

from matching.services.vector_indexes import (
    cross_tenant_ensure_indexes,
    cross_tenant_retire_vectors,
    cross_tenant_retired_vectors,
    missing_indexes,
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--dry-run", action="store_true", help="list what would be retired and built, do nothing")

    def handle(self, *args: object, dry_run: bool, **options: object) -> None:
        limit = settings.SEARCH_EXACT_MAX_ROWS
        retired = cross_tenant_retired_vectors() if dry_run else cross_tenant_retire_vectors()
        for item in retired:
            self.stdout.write(
                f"{'to retire' if dry_run else 'retired'}: tenant {item.tenant_id}, version {item.version_id}, "
                f"{item.rows} vectors" + (f", indexes {', '.join(item.indexes)}" if item.indexes else "")
            )
        if dry_run:
            missing = missing_indexes()
            for index in missing:
                self.stdout.write(f"missing {index.name}: {_whose(index)}, {index.rows} rows")
            self.stdout.write(f"{len(missing)} missing (tenants and versions with more than {limit} rows)")
            return
        built = cross_tenant_ensure_indexes()
        for index in built:
            self.stdout.write(f"built {index.name}: {_whose(index)}, {index.rows} rows")
        self.stdout.write(f"{len(built)} built (tenants and versions with more than {limit} rows)")


def _whose(index) -> str:  # noqa: ANN001
    return f"version {index.version_id}" if index.tenant_id is None else f"tenant {index.tenant_id}"
