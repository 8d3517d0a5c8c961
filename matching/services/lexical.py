"""The lexical channel's shipped IDF, a version's fusion weight, and the SQL form of its vectors (ml/lexical.py)."""

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..ml.lexical import HASH_DIM, LexicalEncoder, SparseRow
from ..models import EncoderVersion
from ..reference_data import DATA_DIR, esco_occupations

LEXICAL_IDF = DATA_DIR / "lexical_idf.npz"  # written by fit_lexical_idf(); tests check it still matches the data
# The weight of the lexical cosine in a version's fused score unless its config["lexical_weight"] says otherwise
# (0 turns the channel off): fitted on half of the JobBERT validation titles against demo-like ESCO records,
# reported on the other half (bench/lexical_weight.py, bench/README.md "Lexical channel").
DEFAULT_LEXICAL_WEIGHT = 0.4


def lexical_weight(version: EncoderVersion) -> float:
    """The version's w in (1 - w) x dense + w x lexical."""
    return float((version.config or {}).get("lexical_weight", DEFAULT_LEXICAL_WEIGHT))


def score_mix(weight: float) -> str:
    """The fused score in plain words, for the UI; empty for a dense-only version."""
    if not weight:
        return ""
    spelling = round(100 * weight)
    return f"similarity is {100 - spelling}% meaning and {spelling}% spelling, so a misspelt title is still found"


def pair_similarity(
    version: EncoderVersion, dense: np.ndarray, a: SparseRow | None, b: SparseRow | None, weight: float | None = None
) -> float:
    """Two stored rows' score as a search between them serves it: fused, or the dense cosine where one has no
    lexical vector (yet)."""
    w = lexical_weight(version) if weight is None else weight
    cosine = float(dense)
    if not w or a is None or b is None:
        return cosine
    return (1.0 - w) * cosine + w * a.dot(b)


def idf_corpus() -> list[str]:
    """What the IDF is fitted on: every ESCO label and description, one document each."""
    texts = []
    for occupation in esco_occupations():
        texts += [occupation.label, *occupation.alt_labels, occupation.description]
    return texts


def fit_lexical_idf(path: Path = LEXICAL_IDF) -> LexicalEncoder:
    encoder = LexicalEncoder.fit(idf_corpus())
    np.savez_compressed(path, **encoder.to_arrays())
    return encoder


@lru_cache(maxsize=1)
def lexical_encoder() -> LexicalEncoder:
    with np.load(LEXICAL_IDF) as arrays:
        return LexicalEncoder.from_arrays(dict(arrays))


def record_lexical(titles: list[str], descriptions: list[str] | None) -> list[SparseRow]:
    return lexical_encoder().encode(titles, descriptions)


def text_lexical(text: str) -> SparseRow:
    """A free-text query's vector: all of it read as a title."""
    return lexical_encoder().encode([text])[0]


def sparsevec_text(row: SparseRow) -> str:
    """pgvector's text form, 1-based: {1:0.5,7:0.8}/HASH_DIM."""
    pairs = ",".join(f"{int(i) + 1}:{float(v):.7g}" for i, v in zip(row.indices, row.values, strict=True))
    return f"{{{pairs}}}/{HASH_DIM}"


def sparsevec_binary(row: SparseRow) -> bytes:
    """pgvector's binary input: dimension, non-zeros, a zero (int32 each), indices (int32), values (float32)."""
    header = np.array([HASH_DIM, len(row.indices), 0], dtype=">i4").tobytes()
    return header + row.indices.astype(">i4").tobytes() + row.values.astype(">f4").tobytes()


def from_sparsevec(value: object) -> SparseRow | None:
    """A stored column value (pgvector's SparseVector, or None) as a SparseRow."""
    if value is None:
        return None
    return SparseRow(np.asarray(value.indices(), dtype=np.int32), np.asarray(value.values(), dtype=np.float32))
