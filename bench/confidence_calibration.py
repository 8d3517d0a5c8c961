"""Which calibrator makes a hit's confidence a probability: experiments on the JobBERT validation split.

Every validation title (evaluate's Q.csv) against all ESCO occupations (C.csv, each scored by its best label), as
`evaluate` scores them; per title the best CONFIDENCE_POOL occupations plus the next, label "this hit is the title's
own occupation". Titles are split by a hash of their text (matching.ml.confidence.held_out: sha256 first
byte odd = held out); every calibrator is fitted on the even half and reported on both halves and the whole split:
ECE (10 equal-width bins) and AUROC of the top hit's confidence, and ECE over all pool rows.

Vectors are cached under var/ (var/confidence_<encoder>_vectors.npz) and reused across runs.

Not a test. Usage: .venv/bin/python bench/confidence_calibration.py [--encoder base|NAME] [--json OUT]
Writes bench/results/confidence_calibration_<encoder>.json by default.
"""

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jobmatch_site.settings")

import django  # noqa: E402

django.setup()

from matching.ml.confidence import (  # noqa: E402
    FEATURES,
    fit_calibrator,
    held_out,
    pool_features,
    pool_labels,
    top_pools,
)
from matching.ml.evaluation import best_row, id_scores  # noqa: E402
from matching.ml.heads import CONFIDENCE_POOL, softmax_confidence  # noqa: E402
from matching.ml.metrics import auroc  # noqa: E402
from matching.ml.metrics import ece as expected_calibration_error  # noqa: E402
from matching.services.encoding import served_encoder  # noqa: E402
from matching.services.evaluation import load_eval_set, resolve_encoder  # noqa: E402


def cached_vectors(encoder: str):
    """(eval set, title vectors, label vectors), the vectors from var/ when cached."""
    eval_set = load_eval_set(queries=ROOT / "var/eval/Q.csv", corpus=ROOT / "var/eval/C.csv")
    cache = ROOT / "var" / f"confidence_{encoder}_vectors.npz"
    if cache.exists():
        vectors = np.load(cache)
        return eval_set, vectors["queries"], vectors["rows"]
    model = served_encoder(resolve_encoder(encoder)[1])
    queries = model.encode(eval_set.queries, batch_size=256)[0]
    rows = model.encode(eval_set.corpus.texts, batch_size=256)[0]
    np.savez(cache, queries=queries, rows=rows)
    return eval_set, queries, rows


def report(confidence: np.ndarray, correct: np.ndarray, halves: np.ndarray) -> dict:
    """confidence, correct: [titles, pool]; ECE and AUROC of the top hit, ECE over all rows (None when only the
    top hit has a confidence), per part."""
    out = {}
    for part, keep in (("fit", ~halves), ("held_out", halves), ("all", np.ones_like(halves))):
        top, right = confidence[keep, 0], correct[keep, 0]
        rows = confidence[keep]
        out[part] = {
            "ece_top": expected_calibration_error(top, right),
            "auroc_top": auroc(top, right),
            "ece_rows": None
            if np.isnan(rows).any()
            else expected_calibration_error(rows.ravel(), correct[keep].ravel()),
            "mean_top": float(top.mean()),
            "right_top": float(right.mean()),
        }
    return out


def isotonic(score: np.ndarray, correct: np.ndarray, fit: np.ndarray) -> np.ndarray:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(score[fit].ravel(), correct[fit].ravel())
    return model.predict(score.ravel()).reshape(score.shape)


def top_only(x: np.ndarray, correct: np.ndarray, fit: np.ndarray, model: object) -> np.ndarray:
    """[titles, pool]: a classifier fitted on the top hits alone (x: [titles, features]); NaN below the top."""
    mean, std = x[fit].mean(0), np.maximum(x[fit].std(0), 1e-9)
    model.fit((x[fit] - mean) / std, correct[fit, 0])
    top = model.predict_proba((x - mean) / std)[:, 1]
    return np.c_[top, np.full((len(top), correct.shape[1] - 1), np.nan)]


def experiments(eval_set, queries: np.ndarray, rows: np.ndarray) -> tuple[dict, np.ndarray, np.ndarray, object]:
    """{name: [titles, pool] confidence}, correct, held-out mask, the chosen calibrator."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    scores = id_scores(queries, rows, eval_set.corpus)
    titles = eval_set.queries
    similarities, ids = top_pools(scores)
    correct = pool_labels(scores, ids, eval_set.targets, titles)
    halves = held_out(titles)
    fit = ~halves
    print(f"{len(titles)} titles ({int(halves.sum())} held out), top-1 right {correct[:, 0].mean():.4f}")
    pool = similarities[:, :CONFIDENCE_POOL]
    out: dict[str, np.ndarray] = {}
    for scale in (20.0, 50.0, 600.0):
        out[f"raw softmax share, scale {scale:g}"] = np.array([softmax_confidence(row, scale=scale) for row in pool])
    out["isotonic on softmax share (scale 50)"] = isotonic(out["raw softmax share, scale 50"], correct, fit)
    out["isotonic on cosine"] = isotonic(pool, correct, fit)
    subsets = {
        "Platt on share": ("share",),
        "LR share + cosine": ("share", "cosine"),
        "LR share + cosine + gap_next": ("share", "cosine", "gap_next"),
        "LR share + cosine + gap_next + rank": ("share", "cosine", "gap_next", "rank"),
        "LR all features": FEATURES,
    }
    for name, features in subsets.items():
        calibrator = fit_calibrator(similarities[fit], correct[fit], features=features)
        out[f"{name} (scale {calibrator.scale:g})"] = calibrator.predict(similarities)[:, :CONFIDENCE_POOL]
    chosen = calibrator
    for scale in (5.0, 20.0):
        fixed = fit_calibrator(similarities[fit], correct[fit], scales=(scale,))
        out[f"LR all features at scale {scale:g}"] = fixed.predict(similarities)[:, :CONFIDENCE_POOL]
    top_features = pool_features(similarities, scale=chosen.scale)[:, 0]
    out["LR all features, fitted on top hits only"] = top_only(top_features, correct, fit, LogisticRegression())
    # Beyond the features a search has: what more capacity, more rows, text overlap or the hits' own vectors add.
    gaps = np.c_[similarities, similarities[:, :1] - similarities[:, 1:]]
    boosted = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05)
    out["gradient boosting on the 11 cosines + gaps, top hits"] = top_only(gaps, correct, fit, boosted)
    best50 = -np.sort(-scores, axis=1)[:, :51]
    deep = np.c_[best50, best50[:, :1] - best50[:, 1:]]
    boosted = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=4)
    out["gradient boosting on the 51 best cosines + gaps, top hits"] = top_only(deep, correct, fit, boosted)
    labels = [eval_set.corpus.texts[r] for r in best_row(queries, rows, eval_set.corpus, ids[:, 0])]

    def words(text: str) -> set[str]:
        return set(re.findall(r"\w+", text.lower()))

    jaccard = np.array(
        [len(words(a) & words(b)) / max(len(words(a) | words(b)), 1) for a, b in zip(titles, labels, strict=True)]
    )
    exact = np.array([a.strip().lower() == b.strip().lower() for a, b in zip(titles, labels, strict=True)], dtype=float)
    length = np.log1p([len(words(a)) for a in titles])
    lexical = np.c_[top_features, jaccard, exact, length]
    out["LR all features + word overlap, exact label, title length"] = top_only(
        lexical, correct, fit, LogisticRegression()
    )
    hit_vectors = np.stack(
        [rows[best_row(queries, rows, eval_set.corpus, ids[:, j])] for j in range(CONFIDENCE_POOL)], axis=1
    )
    hit_hit = np.einsum("nd,npd->np", hit_vectors[:, 0], hit_vectors[:, 1:])  # top hit vs the other 9
    neighbours = np.c_[top_features, hit_hit.mean(1), hit_hit[:, 0], hit_hit.max(1)]
    out["LR all features + top hit's cosine to the other hits"] = top_only(
        neighbours, correct, fit, LogisticRegression()
    )
    boosted = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=4)
    everything = np.c_[gaps, jaccard, exact, length, hit_hit]
    out["gradient boosting on all of the above, top hits"] = top_only(everything, correct, fit, boosted)
    return out, correct, halves, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default="base")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    table = {}
    found, correct, halves, chosen = experiments(*cached_vectors(args.encoder))
    for name, confidence in found.items():
        table[name] = report(confidence, correct, halves)
    header = ("ECE fit", "ECE held", "ECE all", "AUC fit", "AUC held", "AUC all", "rows ECE held")
    print(f"{'calibrator':62} " + " ".join(f"{h:>8}" for h in header))
    for name, row in table.items():
        cells = [row[p][m] for m in ("ece_top", "auroc_top") for p in ("fit", "held_out", "all")]
        cells.append(row["held_out"]["ece_rows"])
        print(f"{name:62} " + " ".join("       -" if c is None else f"{c:8.4f}" for c in cells))
    coefficients = dict(zip(chosen.features, np.round(chosen.coef, 3).tolist(), strict=True))
    print(f"chosen: LR all features at scale {chosen.scale:g}: {coefficients}, intercept {chosen.intercept:.3f}")
    out = args.json or ROOT / "bench" / "results" / f"confidence_calibration_{args.encoder}.json"
    out.write_text(json.dumps({"encoder": args.encoder, "titles": len(correct), "table": table}, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
