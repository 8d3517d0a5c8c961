from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from jobmatch_site.commands import refusals_exit_2
from matching.reference_data import ESCO_CSV, JOBBERT_VALIDATION_CSV
from matching.services.evaluation import write_eval_sets


class Command(BaseCommand):
    help = (
        "Write evaluate's inputs: C.csv from the ESCO occupations (preferred + alternative labels as rows of one id) "
        "and Q.csv from the JobBERT validation titles (query = vacancy title, target_id = ESCO URI)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=Path("var/eval"), help="folder for C.csv and Q.csv")
        parser.add_argument("--esco", type=Path, default=ESCO_CSV)
        parser.add_argument("--jobbert", type=Path, default=JOBBERT_VALIDATION_CSV)
        parser.add_argument("--preferred-only", action="store_true", help="one row per occupation (WorkRB's way)")

    def handle(
        self, *args: object, out: Path, esco: Path, jobbert: Path, preferred_only: bool, **options: object
    ) -> None:
        with refusals_exit_2():
            ids = write_eval_sets(out=out, esco=esco, jobbert=jobbert, preferred_only=preferred_only)
        self.stdout.write(f"wrote {out / 'C.csv'} ({ids} ids) and {out / 'Q.csv'}")
