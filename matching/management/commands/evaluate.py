import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from jobmatch_site.commands import refusals_exit_2
from matching.services.evaluation import evaluate, evaluate_normalizer

KEYS = ("n_queries", "recall@1", "recall@5", "recall@10", "mrr", "macro_mrr", "map", "opis", "auroc", "ece")


class Command(BaseCommand):
    help = (
        "Score an encoder on Q.csv (query,target_id) against C.csv (id,text; an id's score is the best of its rows). "
        "Ties count at their expected rank. --encoder base|lexical|NAME (default: the newest registered version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queries", type=Path, required=True)
        parser.add_argument("--corpus", type=Path, required=True)
        parser.add_argument("--encoder", default=None)
        parser.add_argument("--json", type=Path, default=None, metavar="OUT.json")
        parser.add_argument(
            "--normalizer",
            action="store_true",
            help="score the occupation normaliser (C.csv ids are ESCO occupations; --encoder base|NAME)",
        )

    def handle(self, *args: object, queries: Path, corpus: Path, encoder: str | None, json: Path | None,
               normalizer: bool, **options: object) -> None:  # fmt: skip
        with refusals_exit_2():
            if normalizer:
                result = evaluate_normalizer(queries=queries, corpus=corpus, encoder=encoder, progress=tqdm)
            else:
                result = evaluate(queries=queries, corpus=corpus, encoder=encoder)
        self.stdout.write(
            f"encoder {result['encoder']}: {result['n_queries']} queries x {result['corpus_ids']} ids "
            f"in {result['seconds']} s ({result['skipped_queries']} queries without a corpus id skipped)"
        )
        for key in KEYS:
            value = result[key]
            self.stdout.write(
                f"  {key:<10} {'null' if value is None else f'{value:.4f}' if isinstance(value, float) else value}"
            )
        if json is not None:
            json.parent.mkdir(parents=True, exist_ok=True)
            json.write_text(_dumps(result))
            self.stdout.write(f"written to {json}")


def _dumps(result: dict) -> str:
    return json.dumps(result, indent=2)
