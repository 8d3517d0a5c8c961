"""matching/ml/occupations.py: known answers on tiny vectors."""

import numpy as np

from matching.ml.occupations import (
    LexicalIndex,
    OccupationIndex,
    OccupationWeights,
    centroids_of,
    dense_scores,
    fused_scores,
    top_occupations,
)


def _unit(*rows: list[float]) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _index(labels: np.ndarray, owner: list[int], descriptions: np.ndarray) -> OccupationIndex:
    owner = np.array(owner)
    return OccupationIndex(labels, owner, centroids_of(labels, owner, len(descriptions)), descriptions)


def test_an_occupation_whose_labels_agree_beats_one_with_a_single_lucky_label_once_the_centroid_counts():
    # occupation 0: one label very near the query, one far off; occupation 1: two labels fairly near
    labels = _unit([1, 0.05, 0], [-1, 0, 1], [1, 0.5, 0], [1, 0.4, 0.1])
    index = _index(labels, [0, 0, 1, 1], _unit([0, 0, 1], [0, 0, 1]))
    query = _unit([1, 0, 0])
    label_only = dense_scores(query, index, OccupationWeights(centroid=0, description=0, lexical=0))
    with_centroid = dense_scores(query, index, OccupationWeights(centroid=0.5, description=0, lexical=0))
    assert label_only.argmax() == 0
    assert with_centroid.argmax() == 1


def test_the_description_weight_adds_its_cosine():
    labels = _unit([1, 0, 0], [0, 1, 0])
    index = _index(labels, [0, 1], _unit([0, 1, 0], [1, 0, 0]))
    query = _unit([1, 1, 0])
    without = dense_scores(query, index, OccupationWeights(centroid=0, description=0, lexical=0))
    with_d = dense_scores(query, index, OccupationWeights(centroid=0, description=0.2, lexical=0))
    np.testing.assert_allclose(with_d - without, 0.2 * (query @ index.descriptions.T), rtol=1e-6)


def test_the_lexical_channel_finds_a_misspelt_title_and_fusion_weighs_it():
    lexical = LexicalIndex(
        ["accountant", "chartered accountant", "registered nurse", "software developer"], np.array([0, 0, 1, 2])
    )
    scores = lexical.scores(["acountant", "regestered nurse", "sofware developr"])
    assert list(scores.argmax(axis=1)) == [0, 1, 2]
    dense = np.zeros_like(scores)
    np.testing.assert_allclose(fused_scores(dense, scores, OccupationWeights(lexical=0.25)), 0.25 * scores)


def test_top_occupations_are_best_first_and_break_ties_by_column():
    best, values = top_occupations(np.array([[0.1, 0.9, 0.5, 0.9]]), 3)
    assert best.tolist() == [[1, 3, 2]]
    assert values.tolist() == [[0.9, 0.9, 0.5]]
