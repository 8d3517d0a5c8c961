"""Known-answer CPU tests for the losses."""

import math

import torch

from matching.ml.losses import batch_wide_pair_loss, group_masked_in_batch_loss, threshold_consistent_margin


def _unit(*rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=-1)


def test_batch_wide_loss_is_near_zero_when_every_positive_beats_every_negative_by_the_margin():
    anchors = _unit([1, 0], [0, 1])
    assert batch_wide_pair_loss(anchors, anchors.clone(), torch.tensor([0, 1]), scale=20, margin=0.1) < 1e-6


def test_batch_wide_loss_counts_negatives_from_other_rows_too():
    # Row 0's positive (cos 0.8) is beaten by the negative pair (anchor 1, positive 2) at cos ~0.9: a row-wise
    # softmax never compares those two, the batch-wide loss does.
    anchors = _unit([1, 0, 0], [0, 1, 0], [0, 0, 1])
    positives = _unit([0.8, 0.6, 0], [0.2, 1, 0], [0, 0.9, 0.44])
    groups = torch.tensor([0, 1, 2])
    loss = batch_wide_pair_loss(anchors, positives, groups, scale=20, margin=0.0)
    s = anchors @ positives.T
    expected = torch.nn.functional.softplus(torch.logsumexp(20 * s[~torch.eye(3, dtype=bool)], 0) - 20 * s.diagonal())
    assert torch.isclose(loss, expected.mean())
    assert loss > 1.0


def test_twins_of_one_group_are_not_negatives_for_either_loss():
    anchors = _unit([1, 0], [1, 0.01])
    positives = anchors.clone()
    twins = torch.tensor([3, 3])
    assert batch_wide_pair_loss(anchors, positives, twins) == 0
    assert group_masked_in_batch_loss(anchors, positives, twins) < 1e-6
    assert group_masked_in_batch_loss(anchors, positives, torch.tensor([3, 4])) > 0.5


def test_in_batch_loss_is_log_b_when_all_candidates_score_alike():
    anchors = _unit([1, 0], [1, 0], [1, 0])
    loss = group_masked_in_batch_loss(anchors, anchors.clone(), torch.tensor([0, 1, 2]))
    assert math.isclose(loss.item(), math.log(3), rel_tol=1e-5)


def test_tcm_adds_the_mean_shortfall_of_hard_positives_and_excess_of_hard_negatives():
    anchors = _unit([1, 0], [0, 1])
    positives = _unit([0.8, 0.6], [0.6, 0.8])  # positive cosines 0.8 and 0.8; negatives 0.6 and 0.6
    loss = threshold_consistent_margin(anchors, positives, torch.tensor([0, 1]))
    assert math.isclose(loss.item(), (0.9 - 0.8) + (0.6 - 0.5), rel_tol=1e-4)


def test_tcm_is_zero_when_positives_clear_m_plus_and_negatives_stay_under_m_minus():
    anchors = _unit([1, 0], [0, 1])
    assert threshold_consistent_margin(anchors, anchors.clone(), torch.tensor([0, 1])) == 0


def test_pair_loss_applies_its_own_tcm_margins():
    from matching.ml.losses import PairLoss

    anchors = _unit([1, 0], [0, 1])
    positives = _unit([0.8, 0.6], [0.6, 0.8])  # positive cosines 0.8, negative 0.6
    groups = torch.tensor([0, 1])
    plain = PairLoss(None, kind="in_batch").pair_loss(anchors, positives, groups)
    paper = PairLoss(None, kind="in_batch", tcm_weight=1.0).pair_loss(anchors, positives, groups)
    banded = PairLoss(None, kind="in_batch", tcm_weight=1.0, tcm_margins=(0.85, 0.7)).pair_loss(
        anchors, positives, groups
    )
    assert math.isclose((paper - plain).item(), 0.1 + 0.1, rel_tol=1e-4)
    assert math.isclose((banded - plain).item(), 0.85 - 0.8, rel_tol=1e-4)  # no negative above 0.7
