"""The softmax-group head (Qdrant, "Metric Learning Tips & Tricks"): the embedding is G softmax groups of K units.

Each group is a distribution over K values, read like a classifier's softmax: a confident group puts its mass on
a few units. Confidence survives L2 normalisation of the concatenation, because each group's mass is rescaled by
the same factor and can be renormalised to sum to one.
"""

import numpy as np


def __getattr__(name: str) -> object:
    # Artifacts trained before the head moved name it matching.ml.heads.SoftmaxGroupHead in modules.json; import it
    # (and torch) only when such an artifact is loaded, so ONNX-served processes never pay for torch.
    if name == "SoftmaxGroupHead":
        from .softmax_head import SoftmaxGroupHead

        return SoftmaxGroupHead
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def group_confidence(vectors: np.ndarray, *, groups: int, group_size: int) -> np.ndarray:
    """Per row: the mean over groups of the group's top probability, rescaled so 1/K (uniform) -> 0, one-hot -> 1.

    It reads the way a classifier's top-1 probability is read; the mean (not the min) keeps one undecided group
    from voiding three confident ones.
    """
    probabilities = np.clip(vectors.reshape(len(vectors), groups, group_size), 0.0, None)
    probabilities = probabilities / np.maximum(probabilities.sum(axis=-1, keepdims=True), 1e-12)
    top = probabilities.max(axis=-1)
    return ((top - 1.0 / group_size) / (1.0 - 1.0 / group_size)).mean(axis=-1)


CONFIDENCE_POOL = 10  # a hit's confidence is its share among the best this many rows (bench: 0.7499 vs 0.7506 for all)
LOSS_SCALE = 600.0  # the training loss's cosine -> logit factor for the 4 x 128 head (train.TrainConfig.scale)


def softmax_confidence(similarities: np.ndarray, *, scale: float, pool: int = CONFIDENCE_POOL) -> np.ndarray:
    """A match's confidence read the way a classifier's softmax is read: the rows a search keeps are the classes,
    and a hit's confidence is its probability under the softmax the model was trained with (its cosines, inner
    products of the two objects' group distributions, times the loss's scale). It says how clearly the hit stands
    out from the alternatives: three equally good rows get a third each. On the JobBERT validation split it told
    right from wrong top-1 hits with AUROC 0.75, against 0.68 for the pairwise group overlap below, which ranks
    exactly as the cosine does (bench/confidence_readings.py).

    similarities: the rows of one search, any order; returns their confidences in that order. The normaliser is
    the best `pool` rows', so those sum to 1 and a row past them gets less than the last of them.
    """
    logits = scale * np.asarray(similarities, dtype=np.float64)
    weights = np.exp(logits - logits.max())
    return weights / np.sort(weights)[::-1][:pool].sum()


def loss_scale(config: dict) -> float:
    """The logit scale a version was trained with (versions trained before it was recorded: the default)."""
    return float(config.get("train", {}).get("scale", LOSS_SCALE))


def head_shape(dimension: int, config: dict) -> tuple[int, int]:
    """(groups, group_size) of a version's head, from its training config (4 groups when it predates one)."""
    train = config.get("train", {})
    groups = int(train.get("groups", 4))
    return groups, int(train.get("group_size", dimension // groups))


def group_overlap(query: np.ndarray, hits: np.ndarray, *, groups: int, group_size: int) -> np.ndarray:
    """Per group, the probability mass the query and the hit put on the same feature values (sum of the
    element-wise minimum, 1 when the two distributions agree, 0 when they share nothing), averaged over groups.
    The match confidence served until the fine-tunes at the loss's proper scale, where it came out ranking
    exactly as the cosine does (softmax_confidence replaced it); bench/ scripts still compare against it."""

    def distributions(vectors: np.ndarray) -> np.ndarray:
        p = np.clip(vectors.reshape(len(vectors), groups, group_size), 0.0, None)
        return p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-12)

    return np.minimum(distributions(query[None, :]), distributions(hits)).sum(axis=-1).mean(axis=-1)
