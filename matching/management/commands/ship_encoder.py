from django.core.management.base import BaseCommand, CommandParser

from jobmatch_site.commands import refusals_exit_2
from matching.services.reindex import get_encoder_version
from matching.services.versions import DEFAULT_ENCODER_NAME, ship_encoder


class Command(BaseCommand):
    help = "Ship a trained encoder version: its int8 ONNX export + training.json in matching/data/encoders/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--encoder", required=True, help="the trained version to ship")
        parser.add_argument("--as", dest="name", default=DEFAULT_ENCODER_NAME, help="the shipped name")

    def handle(self, *args: object, encoder: str, name: str, **options: object) -> None:
        with refusals_exit_2():
            target = ship_encoder(version=get_encoder_version(name=encoder), name=name)
        size_mb = sum(path.stat().st_size for path in target.iterdir()) / 1e6
        self.stdout.write(f"{encoder} shipped as {name}: {target} ({size_mb:.1f} MB); commit that folder to release it")
