"""Scoring occupations for a text: more than its single best label (issue 20). NumPy and scikit-learn only.

An occupation's score is its best label's cosine, plus w_c x the cosine to the centroid of its label vectors (what
the labels agree on), plus w_d x the cosine to its description, then fused with a character 2-4-gram TF-IDF channel
(misspellings and rare words the dense encoder blurs): (1 - w_l) x dense + w_l x lexical. The weights are fitted on
one half of the JobBERT validation split and reported on the other (bench/normalizer.py, bench/README.md).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OccupationWeights:
    centroid: float = 0.5
    description: float = 0.2
    lexical: float = 0.2


# bench/normalizer.py, fitted on half A of the validation split (bench/README.md, "Occupation normalisation").
DEFAULT_WEIGHTS = OccupationWeights(centroid=0.75, description=0.3, lexical=0.4)


@dataclass(frozen=True)
class OccupationIndex:
    """One encoder version's vectors of a list of occupations: their labels (rows grouped by occupation, in order),
    the normalised centroid of each occupation's label vectors, and its description's vector."""

    label_vectors: np.ndarray  # [labels, d], unit length
    label_owner: np.ndarray  # [labels]: index of the occupation, non-decreasing
    centroids: np.ndarray  # [occupations, d], unit length
    descriptions: np.ndarray  # [occupations, d], unit length

    @property
    def starts(self) -> np.ndarray:
        return np.r_[0, np.flatnonzero(np.diff(self.label_owner)) + 1]


def centroids_of(label_vectors: np.ndarray, label_owner: np.ndarray, n: int) -> np.ndarray:
    """The unit-length mean of each occupation's label vectors."""
    sums = np.zeros((n, label_vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, label_owner, label_vectors)
    return (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def label_max(query_vectors: np.ndarray, index: OccupationIndex) -> np.ndarray:
    """[queries, occupations]: each occupation's best label cosine."""
    return np.maximum.reduceat(query_vectors @ index.label_vectors.T, index.starts, axis=1)


def dense_scores(
    query_vectors: np.ndarray, index: OccupationIndex, weights: OccupationWeights = DEFAULT_WEIGHTS
) -> np.ndarray:
    """[queries, occupations]: best label + w_c x centroid + w_d x description (cosines)."""
    scores = label_max(query_vectors, index)
    if weights.centroid:
        scores += weights.centroid * (query_vectors @ index.centroids.T)
    if weights.description:
        scores += weights.description * (query_vectors @ index.descriptions.T)
    return scores


def fused_scores(dense: np.ndarray, lexical: np.ndarray | None, weights: OccupationWeights) -> np.ndarray:
    """(1 - w_l) x dense + w_l x lexical; dense alone without a lexical channel."""
    if lexical is None or not weights.lexical:
        return dense
    return (1.0 - weights.lexical) * dense + weights.lexical * lexical


class LexicalIndex:
    """Character 2-4-gram TF-IDF (word-bounded, sublinear tf) over the occupations' labels: each occupation scored
    by its best label, as the dense channel is. Fitted on the labels alone, so a query's vector does not depend on
    which other queries come with it."""

    def __init__(self, labels: list[str], label_owner: np.ndarray) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True, sublinear_tf=True)
        self.rows = self.vectorizer.fit_transform(labels).T.tocsr()  # [ngrams, labels]
        self.starts = np.r_[0, np.flatnonzero(np.diff(label_owner)) + 1]

    def scores(self, texts: list[str], *, chunk: int = 512) -> np.ndarray:
        """[texts, occupations]: the best label's TF-IDF cosine."""
        out = np.empty((len(texts), len(self.starts)), dtype=np.float32)
        for begin in range(0, len(texts), chunk):
            sims = (self.vectorizer.transform(texts[begin : begin + chunk]) @ self.rows).toarray()
            out[begin : begin + chunk] = np.maximum.reduceat(sims, self.starts, axis=1)
        return out


def top_occupations(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of scores, the k best column indices (best first) and their scores; ties by column order."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -picked), axis=1)
    best = np.take_along_axis(part, order, axis=1)
    return best, np.take_along_axis(scores, best, axis=1)
