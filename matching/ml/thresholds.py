"""Fitting a similarity threshold to labelled pairs. NumPy only."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ThresholdFit:
    threshold: float
    precision: float
    recall: float
    f1: float
    false_accept_rate: float
    n_labels: int
    curve: list[dict[str, float]]  # utility vs threshold: [{"threshold", "precision", "recall", "f1", "far"}]


def fit_threshold(
    similarities: np.ndarray, labels: np.ndarray, *, max_false_accept_rate: float | None = None, curve_points: int = 50
) -> ThresholdFit:
    """The threshold that maximises F1 (default), or the lowest one whose false-accept rate stays within
    max_false_accept_rate (the most recall a tenant can have for the false matches it tolerates).

    Candidate thresholds are the observed similarities themselves, so the optimum is exact on the labelled set.
    """
    similarities = np.asarray(similarities, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if len(similarities) == 0 or labels.all() or not labels.any():
        raise ValueError("fitting a threshold needs both good and bad labelled pairs")
    order = np.argsort(-similarities, kind="mergesort")
    s, y = similarities[order], labels[order]
    true_accepts, false_accepts = np.cumsum(y), np.cumsum(~y)
    last_of_value = np.r_[s[1:] != s[:-1], True]  # accept everything >= s[i]: ties go together
    tp, fp = true_accepts[last_of_value], false_accepts[last_of_value]
    thresholds = s[last_of_value]
    precision = tp / (tp + fp)
    recall = tp / labels.sum()
    f1 = np.where(tp > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    far = fp / (~labels).sum()
    if max_false_accept_rate is None:
        best = int(np.argmax(f1))
    else:
        allowed = np.flatnonzero(far <= max_false_accept_rate)
        best = int(allowed[-1]) if len(allowed) else 0  # the lowest threshold still within the budget
    picks = np.unique(np.linspace(0, len(thresholds) - 1, min(curve_points, len(thresholds))).astype(int))
    curve = [
        {"threshold": float(thresholds[i]), "precision": float(precision[i]), "recall": float(recall[i]),
         "f1": float(f1[i]), "far": float(far[i])}
        for i in picks
    ]  # fmt: skip
    return ThresholdFit(
        threshold=float(thresholds[best]), precision=float(precision[best]), recall=float(recall[best]),
        f1=float(f1[best]), false_accept_rate=float(far[best]), n_labels=len(labels), curve=curve,
    )  # fmt: skip
