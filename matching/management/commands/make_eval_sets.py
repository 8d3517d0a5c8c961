import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matching.ml.data import esco_titles
from matching.services.demo import DATA_DIR


class Command(BaseCommand):
    help = (
        "Write evaluate's inputs: C.csv from the ESCO occupations (preferred + alternative labels as rows of one id) "
        "and Q.csv from the JobBERT validation titles (query = vacancy title, target_id = ESCO URI)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=Path("var/eval"), help="folder for C.csv and Q.csv")
        parser.add_argument("--esco", type=Path, default=DATA_DIR / "esco_v1.1.1_occupations_en.csv")
        parser.add_argument("--jobbert", type=Path, default=DATA_DIR / "jobbert_eval_validation_en.csv")
        parser.add_argument("--preferred-only", action="store_true", help="one row per occupation (WorkRB's way)")

    def handle(
        self, *args: object, out: Path, esco: Path, jobbert: Path, preferred_only: bool, **options: object
    ) -> None:
        for path in (esco, jobbert):
            if not path.is_file():
                raise CommandError(f"no such file: {path}", returncode=2)
        titles, _ = esco_titles(esco, hidden=False)  # hidden labels are search aids, not names
        out.mkdir(parents=True, exist_ok=True)
        with (out / "C.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text"])
            for uri, labels in titles.items():
                for label in labels[:1] if preferred_only else labels:
                    writer.writerow([uri, label])
        with jobbert.open(newline="", encoding="utf-8") as source, (out / "Q.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["query", "target_id"])
            for row in csv.DictReader(source):
                writer.writerow([row["vacancyTitle"], row["conceptUri"]])
        self.stdout.write(f"wrote {out / 'C.csv'} ({len(titles)} ids) and {out / 'Q.csv'}")
