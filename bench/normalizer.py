"""Occupation normalisation (issue 20): which occupation scoring ranks a JobBERT validation title's own ESCO
occupation highest. Weights are fitted on half A of the split (by distinct title, seed 0) and reported on half B
and on the full split, the `evaluate` set (13,224 titles x 3,007 ESCO occupations, ties at their expected rank).

Not a test. Usage: .venv/bin/python bench/normalizer.py [--encoder base|ARTIFACT] [--experiment NAME ...]
Writes bench/results/normalizer_<encoder>.json and prints one table. The served encoder's vectors of the titles,
labels and descriptions are cached in var/experiments/cache/, so each experiment costs seconds.
"""

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from matching.ml.encoder import BASE_MODEL, load_encoder  # noqa: E402
from matching.ml.evaluation import filtered_ranks  # noqa: E402
from matching.ml.metrics import ranking_metrics  # noqa: E402
from matching.ml.occupations import LexicalIndex, OccupationIndex, centroids_of, label_max  # noqa: E402
from matching.reference_data import ESCO_CSV, JOBBERT_VALIDATION_CSV, esco_titles  # noqa: E402
from matching.services.evaluation import load_eval_set, write_eval_sets  # noqa: E402

CACHE = ROOT / "var" / "experiments" / "cache"
GRID_C = (0.0, 0.25, 0.5, 0.75, 1.0)
GRID_D = (0.0, 0.1, 0.2, 0.3, 0.4)
GRID_L = (0.0, 0.1, 0.2, 0.3, 0.4)


def cached(name: str, texts: list[str], artifact: str) -> np.ndarray:
    path = CACHE / name
    if not path.exists():
        model = load_encoder(artifact, backend=settings.ENCODER_BACKEND, cache_dir=settings.ENCODER_CACHE_DIR)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, model.encode(texts, batch_size=256)[0])
    return np.load(path)


def mrr(scores: np.ndarray, targets: np.ndarray, queries: list[str], rows: np.ndarray) -> dict:
    keys, ranks, _ = filtered_ranks(scores[rows], targets[rows], [queries[i] for i in rows])
    m = ranking_metrics(ranks, targets[rows], keys)
    return {"mrr": m.mrr, "recall@1": m.recall_at[1], "recall@10": m.recall_at[10], "n": int(len(rows))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", default="base")
    args = parser.parse_args()
    artifact = BASE_MODEL if args.encoder == "base" else args.encoder
    tag = "base" if args.encoder == "base" else Path(args.encoder).name
    started = time.monotonic()
    folder = ROOT / "var" / "eval"
    if not (folder / "Q.csv").exists():
        write_eval_sets(out=folder, esco=ESCO_CSV, jobbert=JOBBERT_VALIDATION_CSV)
    ev = load_eval_set(queries=folder / "Q.csv", corpus=folder / "C.csv")
    uris = list(ev.corpus.ids)
    labels_by, descriptions = esco_titles(hidden=False)
    hidden_by, _ = esco_titles(hidden=True)
    owner = np.array([i for i, uri in enumerate(uris) for _ in labels_by[uri]])
    labels = [label for uri in uris for label in labels_by[uri]]
    backend = settings.ENCODER_BACKEND
    q = cached(f"norm-{tag}-{backend}-q.npy", ev.queries, artifact)
    lv = cached(f"norm-{tag}-{backend}-labels.npy", labels, artifact)
    dv = cached(f"norm-{tag}-{backend}-descriptions.npy", [descriptions[u] or labels_by[u][0] for u in uris], artifact)
    print(f"vectors ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    index = OccupationIndex(label_vectors=lv, label_owner=owner, centroids=centroids_of(lv, owner, len(uris)),
                            descriptions=dv)  # fmt: skip
    base = label_max(q, index)
    centroid = q @ index.centroids.T
    description = q @ dv.T
    lexical = LexicalIndex(labels, owner).scores(ev.queries)
    hidden_owner = np.array([i for i, uri in enumerate(uris) for _ in hidden_by[uri]])
    lexical_hidden = LexicalIndex([x for uri in uris for x in hidden_by[uri]], hidden_owner).scores(ev.queries)
    lexical_desc = LexicalIndex([descriptions[u] or labels_by[u][0] for u in uris], np.arange(len(uris)))
    lexical_desc = lexical_desc.scores(ev.queries)
    print(f"channels ready in {time.monotonic() - started:.0f} s", file=sys.stderr)

    # Halves by distinct title, so a title repeated in the split never sits on both sides.
    distinct = np.unique(np.array(ev.queries), return_inverse=True)[1]
    rng = np.random.default_rng(0)
    in_a = rng.random(distinct.max() + 1) < 0.5
    half_a, half_b = np.flatnonzero(in_a[distinct]), np.flatnonzero(~in_a[distinct])
    full = np.arange(len(ev.queries))

    def fit(build, grid) -> tuple[tuple, float]:
        best = max(grid, key=lambda w: mrr(build(*w), ev.targets, ev.queries, half_a)["mrr"])
        return best, mrr(build(*best), ev.targets, ev.queries, half_a)["mrr"]

    experiments = []

    def report(name: str, scores: np.ndarray, weights: dict) -> None:
        row = {"experiment": name, "weights": weights}
        row |= {f"{part}_{key}": value for part, rows in (("a", half_a), ("b", half_b), ("full", full))
                for key, value in mrr(scores, ev.targets, ev.queries, rows).items() if key != "n"}  # fmt: skip
        experiments.append(row)
        print(f"{name:<44} {row['a_mrr']:.4f} {row['b_mrr']:.4f} {row['full_mrr']:.4f} {row['full_recall@1']:.4f} "
              f"{row['full_recall@10']:.4f}  {weights}", flush=True)  # fmt: skip

    print(f"{'experiment':<44} {'A MRR':>6} {'B MRR':>6} {'full':>6} {'r@1':>6} {'r@10':>6}  weights")
    report("label max (= evaluate)", base, {})

    def linear(lex):
        return lambda c, d, w: (1 - w) * (base + c * centroid + d * description) + w * lex

    grid = list(itertools.product(GRID_C, GRID_D, GRID_L))
    best, _ = fit(linear(lexical), grid)
    report("max + c*centroid + d*desc, lexical labels", linear(lexical)(*best), dict(zip("cdl", best, strict=True)))
    wide = list(itertools.product((0.75, 1.0, 1.25, 1.5), (0.2, 0.3, 0.4, 0.5), (0.4, 0.5, 0.6)))
    best_w, _ = fit(linear(lexical), wide)
    report("wider grid (c to 1.5, d to 0.5, l to 0.6)", linear(lexical)(*best_w), dict(zip("cdl", best_w, strict=1)))
    # the weights, not refitted
    report("issue's weights 0.5 / 0.2 / 0.2", linear(lexical)(0.5, 0.2, 0.2), {"c": 0.5, "d": 0.2, "l": 0.2})
    best_h, _ = fit(linear(lexical_hidden), grid)
    report("lexical over labels + hidden labels", linear(lexical_hidden)(*best_h), dict(zip("cdl", best_h, strict=1)))

    def with_desc_lex(c, d, w, e):
        return (1 - w - e) * (base + c * centroid + d * description) + w * lexical + e * lexical_desc

    grid_e = [(*best, e) for e in (0.0, 0.02, 0.05, 0.1, 0.2)]
    best_e, _ = fit(with_desc_lex, grid_e)
    report("+ lexical over the description", with_desc_lex(*best_e), dict(zip("cdle", best_e, strict=True)))

    # reciprocal-rank fusion of the dense and lexical rankings (Cormack et al. 2009, k = 60)
    def rrf(wl, k):
        dense = base + best[0] * centroid + best[1] * description
        r_dense = np.argsort(np.argsort(-dense, axis=1), axis=1)
        r_lex = np.argsort(np.argsort(-lexical, axis=1), axis=1)
        return (1 - wl) / (k + r_dense) + wl / (k + r_lex)

    best_r, _ = fit(rrf, [(w, k) for w in (0.2, 0.3, 0.4) for k in (10, 60)])
    report("reciprocal-rank fusion dense + lexical", rrf(*best_r), {"l": best_r[0], "k": best_r[1]})

    # second-best label too: an occupation two of whose labels fit is likelier than one with a lone lucky label
    sims = q @ lv.T
    top2 = np.empty_like(base)
    for i, s in enumerate(np.split(np.arange(len(labels)), index.starts[1:])):
        part = sims[:, s]
        top2[:, i] = np.sort(part, axis=1)[:, -2] if len(s) > 1 else part[:, 0]
    del sims

    def with_top2(c, d, w, t):
        return (1 - w) * (base + t * top2 + c * centroid + d * description) + w * lexical

    best_t, _ = fit(with_top2, [(*best, t) for t in (0.0, 0.1, 0.2, 0.3, 0.5)])
    report("+ t x second-best label", with_top2(*best_t), dict(zip("cdlt", best_t, strict=True)))

    out = ROOT / "bench" / "results" / f"normalizer_{tag}.json"
    out.write_text(json.dumps({"encoder": tag, "backend": backend, "n_queries": len(ev.queries),
                               "half_a": int(len(half_a)), "half_b": int(len(half_b)), "experiments": experiments,
                               "seconds": round(time.monotonic() - started, 1)}, indent=2) + "\n")  # fmt: skip
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
