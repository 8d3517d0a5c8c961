"""A hit's confidence as a probability: a logistic calibrator over features of the search that returned it.

Features are read off the similarities of one search's best rows, nearest first (a pool: the best CONFIDENCE_POOL,
plus the next row where there is one), so a hit's confidence does not change with k. Per row of the pool:

- share: its softmax share among the pool at the calibrator's own logit scale (heads.softmax_confidence's reading),
  as a log-odds so that a logistic model can use it linearly;
- cosine: its similarity;
- gap_next: its similarity minus the next row's (0 for the last row when no next row was fetched);
- gap_top: the best row's similarity minus its own (0 for the best row);
- gap_pool: its similarity minus the pool's last (how far it sits above the rest);
- rank: its place in the pool (0 = best), as log(1 + rank);
- entropy: the normalised entropy of the pool's softmax (1 = all rows alike), one value per search.

The calibrator (fit_calibrator) is a logistic regression on the standardised features, fitted on labelled pools:
a few coefficients, stored as JSON beside an encoder version and applied with NumPy alone (apply). Its output is
a probability by construction of the log loss; ece/reliability measure how well it is one on held-out searches.
NumPy only at serve time; scikit-learn is imported by the fit alone.
"""

import hashlib
from dataclasses import dataclass

import numpy as np

from .evaluation import filtered_ranks
from .heads import CONFIDENCE_POOL
from .metrics import auroc, ece, reliability

FEATURES = ("share", "cosine", "gap_next", "gap_top", "gap_pool", "rank", "entropy")
SCALES = (5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 600.0)  # logit scales a fit picks from (base: 10; a head: ~600)
FORMAT = 1  # the stored calibrator's layout; a reader refuses others


def held_out(titles: list[str]) -> np.ndarray:
    """Per title, whether it is in the held-out half (first byte of its text's sha256 odd); fits use the rest."""
    return np.array([hashlib.sha256(title.encode()).digest()[0] % 2 == 1 for title in titles], dtype=bool)


def top_pools(scores: np.ndarray, *, pool: int = CONFIDENCE_POOL) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, columns), each [queries, pool + 1]: every query's best pool + 1 columns, best first (what a
    search fetches to score its pool, see pool_features)."""
    size = min(pool + 1, scores.shape[1])
    columns = np.argpartition(-scores, size - 1, axis=1)[:, :size]
    order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
    columns = np.take_along_axis(columns, order, axis=1)
    return np.take_along_axis(scores, columns, axis=1), columns


def pool_features(similarities: np.ndarray, *, scale: float, pool: int = CONFIDENCE_POOL) -> np.ndarray:
    """[searches, rows, FEATURES] for each search's rows, given [searches, rows] similarities sorted descending.

    The softmax's normaliser is the best `pool` rows' (as heads.softmax_confidence); rows past the pool get
    features too (a search with k > pool), read against the same pool. A row's next row is the row after it in
    the input; the last input row has no next one (gap_next 0), so pass one row past those you want scored.
    """
    s = np.atleast_2d(np.asarray(similarities, dtype=np.float64))
    n, m = s.shape
    size = min(pool, m)
    logits = scale * (s - s[:, :1])
    weights = np.exp(logits)
    normaliser = weights[:, :size].sum(axis=1, keepdims=True)
    share = np.clip(weights / normaliser, 1e-12, 1 - 1e-12)
    probabilities = weights[:, :size] / normaliser
    entropy = -(probabilities * np.log(np.clip(probabilities, 1e-300, None))).sum(axis=1, keepdims=True)
    entropy = entropy / np.log(size) if size > 1 else np.zeros_like(entropy)
    gap_next = np.concatenate([s[:, :-1] - s[:, 1:], np.zeros((n, 1))], axis=1)
    columns = {
        "share": np.log(share) - np.log1p(-share),
        "cosine": s,
        "gap_next": gap_next,
        "gap_top": s[:, :1] - s,
        "gap_pool": s - s[:, size - 1 : size],
        "rank": np.broadcast_to(np.log1p(np.arange(m, dtype=np.float64)), (n, m)),
        "entropy": np.broadcast_to(entropy, (n, m)),
    }
    return np.stack([columns[name] for name in FEATURES], axis=-1)


@dataclass(frozen=True)
class Calibrator:
    """A fitted logistic calibrator; to_json / from_json are the stored form."""

    scale: float
    pool: int
    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, similarities: np.ndarray) -> np.ndarray:
        """Per row, the probability it is a right match; [rows] or [searches, rows] sorted descending (see
        pool_features for the pool and the next row)."""
        s = np.asarray(similarities, dtype=np.float64)
        if s.shape[-1] == 0:
            return np.zeros(s.shape)
        x = pool_features(s.reshape(-1, s.shape[-1]), scale=self.scale, pool=self.pool)
        x = x[..., [FEATURES.index(name) for name in self.features]]
        logit = ((x - self.mean) / self.std) @ self.coef + self.intercept
        return (1.0 / (1.0 + np.exp(-logit))).reshape(s.shape)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "model": "logistic regression on standardised search features",
            "scale": self.scale,
            "pool": self.pool,
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, payload: dict) -> "Calibrator":
        if payload.get("format") != FORMAT:
            raise ValueError(f"calibrator format {payload.get('format')!r}, expected {FORMAT}")
        return cls(
            scale=float(payload["scale"]),
            pool=int(payload["pool"]),
            features=tuple(payload["features"]),
            mean=np.asarray(payload["mean"], dtype=np.float64),
            std=np.asarray(payload["std"], dtype=np.float64),
            coef=np.asarray(payload["coef"], dtype=np.float64),
            intercept=float(payload["intercept"]),
        )


def fit_calibrator(
    similarities: np.ndarray,
    correct: np.ndarray,
    *,
    features: tuple[str, ...] = FEATURES,
    scales: tuple[float, ...] = SCALES,
    pool: int = CONFIDENCE_POOL,
    regularisation: float = 1.0,
) -> Calibrator:
    """Fit on labelled searches: similarities [searches, pool + 1] sorted descending, correct [searches, pool]
    (row i of search j is a right match). Every pool row is a training example, so ranks past the first get a
    probability of their own. The softmax scale is the one whose fit has the lowest log loss on the training rows."""
    from sklearn.linear_model import LogisticRegression

    correct = np.asarray(correct, dtype=bool)
    labels = correct[:, :pool].ravel()
    best = None
    for scale in scales:
        x = pool_features(similarities, scale=scale, pool=pool)[:, :pool]
        x = x[..., [FEATURES.index(name) for name in features]].reshape(-1, len(features))
        mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
        model = LogisticRegression(C=regularisation, max_iter=1000).fit((x - mean) / std, labels)
        p = np.clip(model.predict_proba((x - mean) / std)[:, 1], 1e-12, 1 - 1e-12)
        loss = -np.mean(labels * np.log(p) + (~labels) * np.log1p(-p))
        if best is None or loss < best[0]:
            best = (loss, Calibrator(scale, pool, features, mean, std, model.coef_[0], float(model.intercept_[0])))
    return best[1]


def pool_labels(scores: np.ndarray, columns: np.ndarray, targets: np.ndarray, queries: list[str]) -> np.ndarray:
    """[queries, pool]: pool row j (top_pools' columns) is right when it is the query's own target at its own,
    untied place, so the top hit's label is `evaluate`'s (filtered rank == 1, a tie counting at its expected place)."""
    pool = columns.shape[1] - 1 if columns.shape[1] > 1 else 1
    ranks = filtered_ranks(scores, targets, queries)[1]
    place = np.arange(1, pool + 1)
    return (columns[:, :pool] == targets[:, None]) & (ranks[:, None] == place)


def scores_report(confidence: np.ndarray, correct: np.ndarray) -> dict:
    """ECE and AUROC of the top hit's confidence ([searches] or [searches, rows]: column 0 is the top hit)."""
    top, right = (
        np.asarray(confidence).reshape(len(confidence), -1)[:, 0],
        np.asarray(correct).reshape(len(correct), -1)[:, 0],
    )
    return {
        "n": len(top),
        "ece": ece(top, right),
        "auroc": auroc(top, right),
        "mean_confidence": float(top.mean()) if len(top) else None,
        "top1_right": float(right.mean()) if len(right) else None,
    }


def fit_validated(
    scores: np.ndarray, targets: np.ndarray, queries: list[str], **fit: object
) -> tuple[Calibrator, dict]:
    """Fit on the queries outside the held-out half (held_out), and report on the fit half, the held-out half and
    all: (calibrator, {"fit": ..., "held_out": ..., "all": ..., "reliability": held-out top-hit bins})."""
    similarities, columns = top_pools(scores)
    correct = pool_labels(scores, columns, targets, queries)
    halves = held_out(queries)
    calibrator = fit_calibrator(similarities[~halves], correct[~halves], **fit)
    confidence = calibrator.predict(similarities)[:, : correct.shape[1]]
    report = {
        part: scores_report(confidence[keep], correct[keep])
        for part, keep in (("fit", ~halves), ("held_out", halves), ("all", np.ones_like(halves)))
    }
    report["reliability"] = reliability(confidence[halves, 0], correct[halves, 0])
    return calibrator, report
