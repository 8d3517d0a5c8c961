import json

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from jobmatch_site.commands import refusals_exit_2
from matching.services.normalization import encoder_version_named, normalize_text, prepare_for_command


class Command(BaseCommand):
    help = (
        "The top ESCO occupations of a text (a job title works best). The first run under an encoder version "
        "prepares ESCO's vectors (about a CPU-minute), as a worker does for the API."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--text", required=True)
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--encoder", default=None, help="base or a version name (default: the default encoder)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: object, text: str, k: int, encoder: str | None, json: bool, **options: object) -> None:
        with refusals_exit_2():
            version = encoder_version_named(encoder)
            prepare_for_command(version=version, progress=tqdm)
            result = normalize_text(version=version, text=text, k=k)
        if json:
            self.stdout.write(_dumps({"encoder": result.encoder, "results": [hit.as_dict() for hit in result.results]}))
            return
        self.stdout.write(f"encoder {result.encoder}")
        for hit in result.results:
            self.stdout.write(f"{hit.score:.3f}  {hit.isco_group:<5} {hit.label}  {hit.uri}")


def _dumps(payload: dict) -> str:
    return json.dumps(payload)
