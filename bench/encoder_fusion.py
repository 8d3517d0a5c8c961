"""How much a lexical channel adds to the dense encoder: score = a * cosine(dense) + (1 - a) * cosine(char n-gram
TF-IDF), each occupation scored by its best label in each channel, on the full JobBERT validation split against all
ESCO occupations (the `evaluate` set). The documented lever (TalentCLEF 2025's winner fused BM25); measured here
before deciding whether the served encoder should carry a lexical channel.

Not a test. Usage: .venv/bin/python bench/encoder_fusion.py [encoder-artifact-or-base]
Writes bench/results/encoder_fusion.json. Dense vectors are cached in var/experiments/cache/.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import django  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")
django.setup()

from matching.ml.encoder import BASE_MODEL, load_encoder  # noqa: E402
from matching.ml.evaluation import evaluate_scores, id_scores  # noqa: E402
from matching.reference_data import ESCO_CSV, JOBBERT_VALIDATION_CSV  # noqa: E402
from matching.services.evaluation import _lexical_scores, load_eval_set, write_eval_sets  # noqa: E402

CACHE, OUT = ROOT / "var" / "experiments" / "cache", ROOT / "bench" / "results" / "encoder_fusion.json"
WEIGHTS = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.0]


def main(artifact: str = BASE_MODEL) -> None:
    folder = ROOT / "var" / "eval"
    if not (folder / "Q.csv").exists():
        write_eval_sets(out=folder, esco=ESCO_CSV, jobbert=JOBBERT_VALIDATION_CSV)
    eval_set = load_eval_set(queries=folder / "Q.csv", corpus=folder / "C.csv")
    tag = "base" if artifact == BASE_MODEL else Path(artifact).name
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not (CACHE / f"fusion-{tag}-q.npy").exists():
        model = load_encoder(artifact)
        np.save(CACHE / f"fusion-{tag}-q.npy", model.encode(eval_set.queries, batch_size=256)[0])
        np.save(CACHE / f"fusion-{tag}-c.npy", model.encode(eval_set.corpus.texts, batch_size=256)[0])
    dense = id_scores(np.load(CACHE / f"fusion-{tag}-q.npy"), np.load(CACHE / f"fusion-{tag}-c.npy"), eval_set.corpus)
    lexical = _lexical_scores(eval_set)
    rows = []
    print(f"{'dense weight':>12} {'MRR':>7} {'r@1':>7} {'r@10':>7} {'OPIS':>8}")
    for weight in WEIGHTS:
        fused = weight * dense + (1 - weight) * lexical
        m = evaluate_scores(fused, eval_set.targets, eval_set.queries, eval_set.corpus)
        rows.append({"dense_weight": weight, **{k: m[k] for k in ("mrr", "recall@1", "recall@10", "opis")}})
        print(f"{weight:>12.1f} {m['mrr']:>7.4f} {m['recall@1']:>7.4f} {m['recall@10']:>7.4f} {m['opis']:>8.5f}")
    OUT.write_text(json.dumps({"encoder": tag, "n_queries": len(eval_set.queries), "rows": rows,
                               "seconds": round(time.monotonic() - started, 1)}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
