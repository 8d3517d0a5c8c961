"""Scoring queries against a corpus in which one id may have several rows (an occupation and its labels)."""

from dataclasses import dataclass

import numpy as np

from .metrics import auroc, ece, expected_ranks, opis, ranking_metrics


@dataclass(frozen=True)
class Corpus:
    ids: np.ndarray  # distinct ids, sorted
    row_id: np.ndarray  # per row: index into ids (rows sorted by it)
    texts: list[str]  # per row


def build_corpus(rows: list[tuple[str, str]]) -> Corpus:
    """rows of (id, text) -> rows grouped by id, so an id's score is one reduceat over its segment."""
    ids = np.array(sorted({row_id for row_id, _ in rows}))
    index = {value: i for i, value in enumerate(ids)}
    ordered = sorted(rows, key=lambda row: index[row[0]])
    return Corpus(ids=ids, row_id=np.array([index[r] for r, _ in ordered]), texts=[text for _, text in ordered])


def id_scores(query_vectors: np.ndarray, row_vectors: np.ndarray, corpus: Corpus, *, chunk: int = 1024) -> np.ndarray:
    """[queries, ids]: each id scored by its best row (cosine; vectors are unit length)."""
    starts = np.r_[0, np.flatnonzero(np.diff(corpus.row_id)) + 1]
    out = np.empty((len(query_vectors), len(corpus.ids)), dtype=np.float32)
    for begin in range(0, len(query_vectors), chunk):
        sims = query_vectors[begin : begin + chunk] @ row_vectors.T
        out[begin : begin + chunk] = np.maximum.reduceat(sims, starts, axis=1)
    return out


def best_row(query_vectors: np.ndarray, row_vectors: np.ndarray, corpus: Corpus, top_ids: np.ndarray) -> np.ndarray:
    """For each query, the corpus row that gave its top id its score (whose confidence the hit carries)."""
    rows = np.empty(len(top_ids), dtype=np.int64)
    for i, top in enumerate(top_ids):
        candidates = np.flatnonzero(corpus.row_id == top)
        rows[i] = candidates[np.argmax(row_vectors[candidates] @ query_vectors[i])]
    return rows


def filtered_ranks(scores: np.ndarray, targets: np.ndarray, queries: list[str]) -> tuple[np.ndarray, ...]:
    """(query key per row, rank of each row's target, [rows, ids] relevance): rows of one query text with several
    targets are ranked filtered (the other relevant ids leave the ranking)."""
    keys = np.unique(np.array(queries), return_inverse=True)[1]
    relevant = np.zeros_like(scores, dtype=bool)
    relevant[np.arange(len(targets)), targets] = True
    by_query = np.zeros((keys.max() + 1, scores.shape[1]), dtype=bool)
    np.logical_or.at(by_query, keys, relevant)
    return keys, expected_ranks(scores, targets, by_query[keys] & ~relevant), relevant


def evaluate_scores(
    scores: np.ndarray,
    targets: np.ndarray,
    queries: list[str],
    corpus: Corpus,
    *,
    hit_confidence: np.ndarray | None = None,
) -> dict:
    """Metrics for `evaluate`. targets: per query row, the index of its target id; ranks as filtered_ranks.
    hit_confidence: per query row, the top hit's confidence; AUROC and ECE (10 equal-width bins) of it against
    the top hit being right (both null without it)."""
    keys, ranks, relevant = filtered_ranks(scores, targets, queries)
    metrics = ranking_metrics(ranks, corpus.ids[targets], keys)
    consistency = opis(scores.ravel(), relevant.ravel(), np.repeat(targets, scores.shape[1]))  # class = target id
    result = {
        "n_queries": metrics.n_queries,
        **{f"recall@{k}": value for k, value in metrics.recall_at.items()},
        "mrr": metrics.mrr,
        "macro_mrr": metrics.macro_mrr,
        "map": metrics.map,
        "opis": consistency.opis,
        "auroc": None,
        "ece": None,
    }
    if hit_confidence is not None:
        correct = ranks <= 1.0  # the target is the top hit, untied
        result["auroc"] = auroc(hit_confidence, correct)
        result["ece"] = ece(hit_confidence, correct)
    return result
