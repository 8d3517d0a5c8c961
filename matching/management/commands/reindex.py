from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from jobmatch_site.commands import command_tenant
from matching.services.reindex import get_encoder_version, run_reindex


class Command(BaseCommand):
    help = "Encode all of a tenant's rows with an encoder version, then switch the tenant to it (resumable)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--encoder", required=True, help="encoder version name")  # --version is Django's own

    def handle(self, *args: object, tenant: str, encoder: str, **options: object) -> None:
        with command_tenant(tenant) as scoped, tqdm(unit="rows", desc="re-index", disable=None) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            job = run_reindex(tenant=scoped, version=get_encoder_version(name=encoder), progress=progress)
        self.stdout.write(f"{job.total} rows encoded with {encoder}; {tenant} now serves it ({job.message})")
