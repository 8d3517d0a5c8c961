"""The lexical channel of record search (issue 20): hashed character 2-4-gram TF-IDF vectors. NumPy and scikit-learn.

A dense encoder blurs a misspelt title ("sofware developr") into its neighbours; character n-grams still share most
of the right word's. Each text becomes a sparse vector: word-bounded character 2-4-grams hashed into HASH_DIM
buckets, sublinear tf, times a fixed IDF (fitted once on the ESCO labels and descriptions and shipped, so a row's
vector never changes with what else is stored), L2-normalised, so an inner product is a cosine. A record's title
and description are each normalised and then mixed TITLE_WEIGHT : 1 - TITLE_WEIGHT before the final normalisation:
a long description would otherwise drown the title's few n-grams. At most MAX_NONZEROS largest weights are kept
(pgvector's HNSW over sparsevec indexes at most 1,000; a row's storage grows with them).
"""

from dataclasses import dataclass

import numpy as np

HASH_DIM = 1 << 20  # collisions: a few thousand distinct n-grams per text against a million buckets
NGRAMS = (2, 4)
TITLE_WEIGHT = 0.2  # bench/lexical_weight.py: fitted on half the validation titles (bench/README.md, "Lexical channel")
MAX_NONZEROS = 400  # a title keeps all of its n-grams; a description its highest-weighted ones (bench/README.md)


def _hasher():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=HASH_DIM, alternate_sign=False, norm=None, lowercase=True
    )


@dataclass(frozen=True)
class SparseRow:
    """One text's lexical vector: sorted bucket indices and their values (unit length; empty for no n-grams)."""

    indices: np.ndarray  # int32, ascending
    values: np.ndarray  # float32

    def dot(self, other: "SparseRow") -> float:
        common, mine, theirs = np.intersect1d(self.indices, other.indices, assume_unique=True, return_indices=True)
        return float(self.values[mine] @ other.values[theirs]) if len(common) else 0.0


class LexicalEncoder:
    """Texts -> SparseRow under one fixed IDF (idf_of: the buckets seen when fitting, the rest get `unseen`)."""

    def __init__(self, buckets: np.ndarray, idf: np.ndarray, unseen: float) -> None:
        self.idf = np.full(HASH_DIM, unseen, dtype=np.float32)
        self.idf[buckets] = idf
        self.hasher = _hasher()

    @classmethod
    def fit(cls, texts: list[str]) -> "LexicalEncoder":
        """Smoothed IDF over `texts` as scikit-learn's TfidfTransformer computes it: ln((1 + n) / (1 + df)) + 1."""
        counts = _hasher().transform(texts).tocsc()
        df = np.diff(counts.indptr)
        seen = np.flatnonzero(df)
        n = len(texts)
        return cls(seen, np.log((1 + n) / (1 + df[seen])) + 1.0, float(np.log(1 + n) + 1.0))

    def _weighted(self, texts: list[str]):
        """[texts, HASH_DIM] csr: sublinear tf x idf, each row unit length (all-zero for a text of no n-grams)."""
        from sklearn.preprocessing import normalize

        matrix = self.hasher.transform(texts).astype(np.float32)
        matrix.data = 1.0 + np.log(matrix.data)
        return normalize(matrix.multiply(self.idf[None, :]).tocsr(), copy=False)

    def encode(self, titles: list[str], descriptions: list[str] | None = None) -> list[SparseRow]:
        """Each title (with its description, when given and not empty) as one unit-length sparse vector."""
        from sklearn.preprocessing import normalize

        matrix = self._weighted(titles)
        if descriptions is not None and any(descriptions):
            matrix = TITLE_WEIGHT * matrix + (1.0 - TITLE_WEIGHT) * self._weighted(descriptions)
        matrix = normalize(matrix.tocsr(), copy=False)
        rows = []
        for i in range(matrix.shape[0]):
            start, end = matrix.indptr[i], matrix.indptr[i + 1]
            indices, values = matrix.indices[start:end], matrix.data[start:end]
            if len(values) > MAX_NONZEROS:
                keep = np.sort(np.argpartition(-values, MAX_NONZEROS - 1)[:MAX_NONZEROS])
                indices, values = indices[keep], values[keep]
                values = values / np.linalg.norm(values)
            order = np.argsort(indices, kind="stable")
            rows.append(SparseRow(indices[order].astype(np.int32), values[order].astype(np.float32)))
        return rows

    def to_arrays(self) -> dict[str, np.ndarray]:
        unseen = float(self.idf.max())
        buckets = np.flatnonzero(self.idf != unseen).astype(np.int32)
        return {"buckets": buckets, "idf": self.idf[buckets], "unseen": np.float32(unseen)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "LexicalEncoder":
        return cls(arrays["buckets"], arrays["idf"], float(arrays["unseen"]))


def fused(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """The score search ranks by: (1 - w) x dense cosine + w x lexical cosine."""
    return (1.0 - weight) * dense + weight * lexical
