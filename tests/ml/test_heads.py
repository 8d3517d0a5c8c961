"""Reading a match's confidence from the model's softmax over the rows a search keeps."""

import math

import numpy as np

from matching.ml.heads import LOSS_SCALE, loss_scale, softmax_confidence


def test_a_clear_winner_gets_nearly_all_the_confidence_and_ties_share_it():
    clear = softmax_confidence([0.99, 0.98, 0.97], scale=600)
    assert clear[0] > 0.99 and math.isclose(clear.sum(), 1.0)
    tied = softmax_confidence([0.97, 0.99, 0.99], scale=600)  # any order in, same order out
    assert math.isclose(tied[1], tied[2]) and tied[1] > 0.49 and tied[0] < 0.01


def test_the_scale_is_the_one_the_version_was_trained_with():
    assert loss_scale({"train": {"scale": 20.0}}) == 20.0
    assert loss_scale({}) == LOSS_SCALE  # a version registered before the scale was recorded
    flat = softmax_confidence(np.array([0.99, 0.98]), scale=20.0)
    assert 0.5 < flat[0] < 0.6  # at scale 20 a gap of 0.01 is barely a preference
