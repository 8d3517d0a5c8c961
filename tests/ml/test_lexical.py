"""The lexical channel's vectors (matching/ml/lexical.py): known answers on a tiny fitted IDF."""

import numpy as np

from matching.ml import lexical
from matching.ml.lexical import LexicalEncoder

ENCODER = LexicalEncoder.fit(["registered nurse", "software developer", "accountant", "welder", "nurse"])


def test_every_vector_is_unit_length_with_sorted_indices():
    for row in ENCODER.encode(["registered nurse", "x"], ["Ward care in a hospital", ""]):
        assert abs(np.linalg.norm(row.values) - 1) < 1e-6
        assert (np.diff(row.indices) > 0).all()


def test_a_misspelt_title_is_nearest_its_own_spelling():
    query = ENCODER.encode(["sofware developr"])[0]
    rows = ENCODER.encode(["software developer", "registered nurse", "accountant"])
    assert int(np.argmax([query.dot(row) for row in rows])) == 0


def test_a_long_description_keeps_at_most_max_nonzeros_and_the_title_counts_for_its_share(monkeypatch):
    monkeypatch.setattr(lexical, "MAX_NONZEROS", 50)
    title = ENCODER.encode(["welder"])[0]
    row = ENCODER.encode(["welder"], ["metal inert gas arc welding of steel frames, pipes and tanks " * 5])[0]
    assert len(row.indices) == 50
    assert 0 < title.dot(row) < 1
