"""The lexical channel's weights (issue 20): w in (1 - w) x dense + w x lexical, the title's share of a record's
lexical vector, and its non-zero cap, on demo-like records.

Queries: the JobBERT validation titles (real vacancy titles tagged with their ESCO occupation), as typed and with one
typo in every word of 4+ letters (a deleted, doubled, swapped or replaced letter, seed 0). Corpus: one record per
ESCO occupation as the demo builds them (an alternative label as the title, the occupation's description as the
description). A query's target is its own occupation's record; ties count at their expected rank. The weights are
chosen on half A of the titles (by distinct title, seed 0) and reported on half B.

Not a test. Usage: .venv/bin/python bench/lexical_weight.py [--titles N] [--encoder ARTIFACT]; writes
bench/results/lexical_weight.json (lexical_weight_<name>.json for another encoder). ARTIFACT is what an encoder
version's artifact_path holds (default: the base model; `shipped:jobmatch-minilm-v1` for the shipped learned one).
The dense vectors are cached in var/experiments/cache/, per encoder.
"""

import argparse
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
from scipy.sparse import csr_matrix  # noqa: E402

import matching.ml.lexical as lexical_module  # noqa: E402
from matching.ml.encoder import BASE_MODEL, load_encoder  # noqa: E402
from matching.ml.evaluation import filtered_ranks  # noqa: E402
from matching.ml.lexical import HASH_DIM  # noqa: E402
from matching.ml.metrics import ranking_metrics  # noqa: E402
from matching.reference_data import JOBBERT_VALIDATION_CSV, esco_occupations, validation_titles  # noqa: E402
from matching.services.lexical import lexical_encoder  # noqa: E402

CACHE = ROOT / "var" / "experiments" / "cache"
GRID_W = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
GRID_TITLE = (0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
GRID_NNZ = (150, 400, 1000)


def typo(text: str, rng: np.random.Generator) -> str:
    words = []
    for word in text.split(" "):
        if len(word) >= 4 and word.isalpha():
            i = int(rng.integers(1, len(word) - 1))
            op = int(rng.integers(4))
            if op == 0:
                word = word[:i] + word[i + 1 :]
            elif op == 1:
                word = word[:i] + word[i] + word[i:]
            elif op == 2:
                word = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
            else:
                word = word[:i] + "aeiou"[int(rng.integers(5))] + word[i + 1 :]
        words.append(word)
    return " ".join(words)


def dense(name: str, texts: list[str], artifact: str = BASE_MODEL) -> np.ndarray:
    tag = "" if artifact == BASE_MODEL else "_" + artifact.replace(":", "_").replace("/", "_")
    path = CACHE / f"lexical_weight_{name}{tag}.npy"
    if not path.exists():
        model = load_encoder(artifact, backend=settings.ENCODER_BACKEND, cache_dir=settings.ENCODER_CACHE_DIR)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, model.encode(texts, batch_size=128)[0])
    return np.load(path)


def as_matrix(rows: list) -> csr_matrix:
    indptr = np.r_[0, np.cumsum([len(r.indices) for r in rows])]
    indices = np.concatenate([r.indices for r in rows])
    values = np.concatenate([r.values for r in rows])
    return csr_matrix((values, indices, indptr), shape=(len(rows), HASH_DIM))


def metrics(scores: np.ndarray, targets: np.ndarray, queries: list[str], rows: np.ndarray) -> dict:
    keys, ranks, _ = filtered_ranks(scores[rows], targets[rows], [queries[i] for i in rows])
    m = ranking_metrics(ranks, targets[rows], keys)
    return {"mrr": round(m.mrr, 4), "recall@1": round(m.recall_at[1], 4), "recall@10": round(m.recall_at[10], 4)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=3000, help="validation titles sampled (seed 0)")
    parser.add_argument("--encoder", default=BASE_MODEL, help="an encoder version's artifact (default: base)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.json is None:
        tag = "" if args.encoder == BASE_MODEL else "_" + args.encoder.split(":")[-1].split("/")[-1]
        args.json = ROOT / "bench" / "results" / f"lexical_weight{tag}.json"
    started = time.monotonic()
    rng = np.random.default_rng(0)
    occupations = [o for o in esco_occupations() if o.alt_labels]
    column = {o.uri: i for i, o in enumerate(occupations)}
    rows = [(t, column[u]) for t, u in validation_titles(JOBBERT_VALIDATION_CSV) if u in column]
    rows = [rows[i] for i in sorted(rng.choice(len(rows), size=min(args.titles, len(rows)), replace=False))]
    titles = [t for t, _ in rows]
    targets = np.array([c for _, c in rows])
    misspelt = [typo(t, rng) for t in titles]
    distinct = sorted(set(titles))
    half_a = set(np.random.default_rng(0).permutation(distinct)[: len(distinct) // 2])
    a = np.array([i for i, t in enumerate(titles) if t in half_a])
    b = np.array([i for i, t in enumerate(titles) if t not in half_a])
    record_titles = [o.alt_labels[0] for o in occupations]
    descriptions = [o.description for o in occupations]
    corpus = dense("corpus", [f"{t}. {d}" for t, d in zip(record_titles, descriptions, strict=True)], args.encoder)
    encoder = lexical_encoder()
    sets = {}
    for name, texts in (("as typed", titles), ("misspelt", misspelt)):
        query_lex = as_matrix(encoder.encode(texts))
        sets[name] = (texts, dense(name.replace(" ", "_"), texts, args.encoder) @ corpus.T, query_lex)

    corpora = {}

    def lexical_scores(query_lex: csr_matrix, title_weight: float, nnz: int) -> np.ndarray:
        if (title_weight, nnz) not in corpora:
            saved = lexical_module.TITLE_WEIGHT, lexical_module.MAX_NONZEROS
            lexical_module.TITLE_WEIGHT, lexical_module.MAX_NONZEROS = title_weight, nnz
            try:
                corpora[title_weight, nnz] = as_matrix(encoder.encode(record_titles, descriptions)).T.tocsc()
            finally:
                lexical_module.TITLE_WEIGHT, lexical_module.MAX_NONZEROS = saved
        return (query_lex @ corpora[title_weight, nnz]).toarray()

    def fused_on(rows_: np.ndarray, w: float, title_weight: float, nnz: int) -> dict:
        out = {}
        for name, (texts, dense_scores, query_lex) in sets.items():
            scores = (1 - w) * dense_scores + w * lexical_scores(query_lex, title_weight, nnz)
            out[name] = metrics(scores, targets, texts, rows_)
        return out

    # Half A picks (title weight, w) at the default cap by the MRR of the titles as typed (most searches have no
    # typo; the misspelt set's gain is reported beside it), then the cap is compared at that choice.
    grid = []
    for title_weight in GRID_TITLE:
        for name, (texts, dense_scores, query_lex) in sets.items():
            lex = lexical_scores(query_lex, title_weight, 400)
            for w in GRID_W:
                score = metrics((1 - w) * dense_scores + w * lex, targets, texts, a)["mrr"]
                grid.append({"title_weight": title_weight, "w": w, "set": name, "mrr_a": score})
    by_pair = {(g["title_weight"], g["w"]): g["mrr_a"] for g in grid if g["set"] == "as typed"}
    best_tw, best_w = max(by_pair, key=lambda p: by_pair[p])
    caps = {nnz: fused_on(a, best_w, best_tw, nnz) for nnz in GRID_NNZ}
    report = {
        "encoder": args.encoder,
        "titles": len(titles),
        "records": len(occupations),
        "half_a_titles": int(len(a)),
        "half_b_titles": int(len(b)),
        "chosen": {"title_weight": best_tw, "w": best_w},
        "grid_half_a": grid,
        "caps_half_a": {str(k): v for k, v in caps.items()},
        "report_half_b": {
            "dense only": fused_on(b, 0.0, best_tw, 400),
            f"fused w={best_w} title {best_tw}": fused_on(b, best_w, best_tw, 400),
            "lexical only": fused_on(b, 1.0, best_tw, 400),
        },
        "seconds": round(time.monotonic() - started, 1),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "grid_half_a"}, indent=1))


if __name__ == "__main__":
    main()
