"""Retrieval and threshold-consistency metrics. NumPy only: `evaluate`, calibration and benchmarks share them."""

from dataclasses import dataclass

import numpy as np

OPIS_FAR_RANGE = (0.01, 0.10)  # calibration range: thresholds where the global false-accept rate runs 1%..10%
OPIS_MIN_POSITIVES = 2  # a class with one positive pair has a utility curve that is a step: noise, not signal
CALIBRATION_BINS = 10  # reliability diagram and ECE: equal-width bins of predicted probability on [0, 1]
_BINS = 4000  # score resolution 0.0005 on [-1, 1]


def expected_ranks(scores: np.ndarray, target: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """1-based rank of each row's target column; ties count at their expected position, never in the model's favour.

    scores: [n, m]; target: [n] column indices; exclude: optional [n, m] bool of columns left out of the ranking
    (other relevant ids of the same query: "filtered" ranking).
    """
    own = scores[np.arange(len(target)), target][:, None]
    competing = np.ones_like(scores, dtype=bool) if exclude is None else ~exclude
    competing[np.arange(len(target)), target] = False
    above = ((scores > own) & competing).sum(axis=1)
    tied = ((scores == own) & competing).sum(axis=1)
    return 1.0 + above + tied / 2.0


@dataclass(frozen=True)
class RankingMetrics:
    n_queries: int
    recall_at: dict[int, float]
    mrr: float
    macro_mrr: float
    map: float


def ranking_metrics(
    ranks: np.ndarray, target_ids: np.ndarray, query_keys: np.ndarray | None = None, *, ks: tuple[int, ...] = (1, 5, 10)
) -> RankingMetrics:
    """Micro recall@k and MRR over rows; macro MRR = mean over target ids of their rows' MRR; MAP over distinct
    queries (query_keys groups rows of one query with several relevant ids; ranks are filtered, so AP is exact)."""
    reciprocal = 1.0 / ranks
    ids, inverse = np.unique(target_ids, return_inverse=True)
    macro = float(np.mean(np.bincount(inverse, weights=reciprocal) / np.bincount(inverse)))
    if query_keys is None:
        average_precision = reciprocal
    else:
        # With filtered ranks, the j-th relevant item (1-based, in rank order) sits at rank_f + j - 1 overall.
        order = np.lexsort((ranks, query_keys))
        keys, sorted_ranks = query_keys[order], ranks[order]
        starts = np.r_[0, np.flatnonzero(keys[1:] != keys[:-1]) + 1]
        position = np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)])) + 1
        precision = position / (sorted_ranks + position - 1)
        sizes = np.diff(np.r_[starts, len(keys)])
        average_precision = np.add.reduceat(precision, starts) / sizes
    return RankingMetrics(
        n_queries=len(ranks),
        recall_at={k: float(np.mean(ranks <= k)) for k in ks},
        mrr=float(np.mean(reciprocal)),
        macro_mrr=macro,
        map=float(np.mean(average_precision)),
    )


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); None when one class is absent."""
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    mid = first + (counts + 1) / 2.0  # average rank of each tie group
    ranks[order] = np.repeat(mid, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability(confidence: np.ndarray, correct: np.ndarray, *, bins: int = CALIBRATION_BINS) -> list[dict]:
    """Per equal-width bin on [0, 1] that holds any prediction: its range, count, mean predicted and observed rate."""
    confidence, correct = np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=bool)
    index = np.clip((confidence * bins).astype(np.int64), 0, bins - 1)
    out = []
    for b in range(bins):
        inside = index == b
        if inside.any():
            out.append(
                {
                    "lo": b / bins,
                    "hi": (b + 1) / bins,
                    "n": int(inside.sum()),
                    "predicted": float(confidence[inside].mean()),
                    "observed": float(correct[inside].mean()),
                }
            )
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, *, bins: int = CALIBRATION_BINS) -> float | None:
    """Expected calibration error: the count-weighted mean over equal-width bins of |mean predicted - observed|."""
    rows = reliability(confidence, correct, bins=bins)
    total = sum(row["n"] for row in rows)
    if not total:
        return None
    return float(sum(row["n"] * abs(row["predicted"] - row["observed"]) for row in rows) / total)


def _bin(similarities: np.ndarray) -> np.ndarray:
    return np.clip(((np.asarray(similarities, dtype=np.float64) + 1.0) / 2.0 * _BINS).astype(np.int64), 0, _BINS - 1)


@dataclass(frozen=True)
class OpisResult:
    opis: float | None
    thresholds: np.ndarray  # the calibration range, as similarity thresholds
    classes: np.ndarray  # the classes that counted
    utility: np.ndarray  # [classes, thresholds]


def opis(
    similarities: np.ndarray,
    is_positive: np.ndarray,
    classes: np.ndarray,
    *,
    far_range: tuple[float, float] = OPIS_FAR_RANGE,
    min_positives: int = OPIS_MIN_POSITIVES,
) -> OpisResult:
    """One-threshold-for-all inconsistency (Zhang et al., ICLR 2024), over labelled pairs.

    Utility of class c at threshold d: the harmonic mean of its true-accept rate (positive pairs of c with
    similarity >= d) and true-reject rate (negative pairs of c below d). Calibration range: the thresholds at which
    the false-accept rate over all negative pairs runs from far_range[0] to far_range[1]. OPIS: the mean over
    classes (equal weight, each with >= min_positives positive pairs and at least one negative) of the mean squared
    gap between the class's utility curve and the average curve, over that range. Lower is more consistent.
    """
    is_positive = np.asarray(is_positive, dtype=bool)
    bins = _bin(similarities)
    labels, class_index = np.unique(np.asarray(classes), return_inverse=True)
    flat = class_index * _BINS + bins
    size = len(labels) * _BINS
    pos = np.bincount(flat[is_positive], minlength=size).reshape(len(labels), _BINS)
    neg = np.bincount(flat[~is_positive], minlength=size).reshape(len(labels), _BINS)
    # accepted at threshold bin b = pairs in bins >= b
    pos_accepted = np.cumsum(pos[:, ::-1], axis=1)[:, ::-1]
    neg_accepted = np.cumsum(neg[:, ::-1], axis=1)[:, ::-1]
    global_far = neg_accepted.sum(axis=0) / max(int((~is_positive).sum()), 1)
    in_range = np.flatnonzero((global_far >= far_range[0]) & (global_far <= far_range[1]))
    keep = (pos.sum(axis=1) >= min_positives) & (neg.sum(axis=1) > 0)
    thresholds = in_range / _BINS * 2.0 - 1.0
    if len(in_range) == 0 or keep.sum() == 0:
        return OpisResult(None, thresholds, labels[keep], np.zeros((int(keep.sum()), len(in_range))))
    tar = pos_accepted[keep][:, in_range] / pos.sum(axis=1)[keep][:, None]
    trr = 1.0 - neg_accepted[keep][:, in_range] / neg.sum(axis=1)[keep][:, None]
    utility = np.where(tar + trr > 0, 2 * tar * trr / np.maximum(tar + trr, 1e-12), 0.0)
    gap = utility - utility.mean(axis=0, keepdims=True)
    return OpisResult(float(np.mean(gap**2)), thresholds, labels[keep], utility)
