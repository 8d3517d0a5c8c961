"""Which reading of a match's confidence best separates right from wrong top-1 hits (AUROC), for a trained head.

`evaluate` reports the AUROC of the served reading (heads.softmax_confidence: the hit's probability under the
loss's softmax over the best CONFIDENCE_POOL rows). This compares it with other readings of the same vectors on the
full JobBERT validation split against all ESCO occupations: the pairwise group overlap served before it, each
object's own peakedness, per-group agreement, the top-1 cosine and the gap to the runner-up. The split is halved by
query text (even / odd hash), so a reading picked on one half can be reported on the other.

Not a test. Usage: .venv/bin/python bench/confidence_readings.py VERSION_NAME [--json OUT]
Writes bench/results/confidence_<VERSION_NAME>.json by default.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")

import django  # noqa: E402

django.setup()

from matching.ml.evaluation import best_row, filtered_ranks, id_scores  # noqa: E402
from matching.ml.heads import CONFIDENCE_POOL, group_confidence, group_overlap, softmax_confidence  # noqa: E402
from matching.ml.metrics import auroc  # noqa: E402
from matching.models import EncoderVersion  # noqa: E402
from matching.services.encoding import served_encoder  # noqa: E402
from matching.services.evaluation import load_eval_set, resolve_encoder  # noqa: E402


def _distributions(vectors: np.ndarray, groups: int, group_size: int) -> np.ndarray:
    p = np.clip(vectors.reshape(len(vectors), groups, group_size), 0.0, None)
    return p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-12)


def readings(query: np.ndarray, hit: np.ndarray, scores: np.ndarray, groups: int, group_size: int, scale: float):
    """{name: per-query confidence of its top-1 hit}. query, hit: [n, G*K] vectors; scores: [n, ids]."""
    p, q = _distributions(query, groups, group_size), _distributions(hit, groups, group_size)
    top2 = -np.partition(-scores, 1, axis=1)[:, :2]
    shifted = scale * (scores - top2[:, :1])
    best = -np.partition(-scores, CONFIDENCE_POOL - 1, axis=1)[:, :CONFIDENCE_POOL]
    return {
        "group overlap (served before)": np.array(
            [
                group_overlap(a, b[None], groups=groups, group_size=group_size)[0]
                for a, b in zip(query, hit, strict=True)
            ]
        ),  # fmt: skip
        "query peakedness": group_confidence(query, groups=groups, group_size=group_size),
        "hit peakedness": group_confidence(hit, groups=groups, group_size=group_size),
        "min(query, hit) peakedness": np.minimum(
            group_confidence(query, groups=groups, group_size=group_size),
            group_confidence(hit, groups=groups, group_size=group_size),
        ),
        # Each group as a classifier over K values: how much of the query's mass sits on the hit's top value.
        "query mass on hit's argmax": np.take_along_axis(p, q.argmax(axis=-1)[..., None], axis=-1)[..., 0].mean(-1),
        "argmax agreement": (p.argmax(axis=-1) == q.argmax(axis=-1)).mean(axis=-1),
        "top-1 cosine (list)": top2[:, 0],
        "gap to runner-up (list)": top2[:, 0] - top2[:, 1],
        f"softmax over ids at scale {scale:g} (list)": 1.0 / np.exp(shifted).sum(axis=1),
        f"softmax over the top {CONFIDENCE_POOL} at scale {scale:g} (served)": np.array(
            [softmax_confidence(row, scale=scale).max() for row in best]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scale", type=float, help="softmax readings' logit scale (default: the loss's)")
    args = parser.parse_args()
    eval_set = load_eval_set(queries=ROOT / "var/eval/Q.csv", corpus=ROOT / "var/eval/C.csv")
    name, artifact = resolve_encoder(args.version)
    model = served_encoder(artifact)
    if model.head is None:
        sys.exit(f"{name} has no softmax-group head")
    query_vectors, _ = model.encode(eval_set.queries, batch_size=256)
    row_vectors, _ = model.encode(eval_set.corpus.texts, batch_size=256)
    scores = id_scores(query_vectors, row_vectors, eval_set.corpus)
    top = scores.argmax(axis=1)
    hits = row_vectors[best_row(query_vectors, row_vectors, eval_set.corpus, top)]
    correct = filtered_ranks(scores, eval_set.targets, eval_set.queries)[1] <= 1.0  # as `evaluate` counts it
    half = np.array([hashlib.sha256(q.encode()).digest()[0] % 2 for q in eval_set.queries])
    table = {}
    groups, group_size = model.head.groups, model.head.group_size
    scale = args.scale or EncoderVersion.objects.get(name=name).config["train"]["scale"]
    for reading, values in readings(query_vectors, hits, scores, groups, group_size, scale).items():
        table[reading] = {f"half {h}": auroc(values[half == h], correct[half == h]) for h in (0, 1)}
        table[reading]["all"] = auroc(values, correct)
    print(f"{name}: {len(correct)} queries, top-1 correct {correct.mean():.3f}")
    print(f"{'reading':44} {'half 0':>7} {'half 1':>7} {'all':>7}")
    for reading, row in table.items():
        print(f"{reading:44} {row['half 0']:7.4f} {row['half 1']:7.4f} {row['all']:7.4f}")
    out = args.json or ROOT / "bench" / "results" / f"confidence_{name}.json"
    out.write_text(json.dumps({"encoder": name, "top1_correct": float(correct.mean()), "auroc": table}, indent=2))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
