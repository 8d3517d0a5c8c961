"""Known-answer tests for the metrics `evaluate` and calibration report."""

import numpy as np
import pytest

from matching.ml.metrics import auroc, expected_ranks, opis, ranking_metrics
from matching.ml.thresholds import fit_threshold


def test_a_tie_with_the_target_counts_at_its_expected_rank():
    scores = np.array([[0.9, 0.5, 0.9, 0.1]])
    assert expected_ranks(scores, np.array([0]))[0] == 1.5  # tied with one other: rank 1 or 2, expected 1.5


def test_filtered_ranking_leaves_other_relevant_ids_out():
    scores = np.array([[0.9, 0.8, 0.7]])
    exclude = np.array([[True, False, False]])
    assert expected_ranks(scores, np.array([1]), exclude)[0] == 1.0


def test_ranking_metrics_known_answer():
    ranks = np.array([1.0, 2.0, 4.0, 20.0])
    metrics = ranking_metrics(ranks, np.array(["a", "a", "b", "c"]))
    assert metrics.mrr == pytest.approx((1 + 0.5 + 0.25 + 0.05) / 4)
    assert metrics.macro_mrr == pytest.approx((0.75 + 0.25 + 0.05) / 3)
    assert metrics.recall_at == {1: 0.25, 5: 0.75, 10: 0.75}


def test_average_precision_of_a_query_with_two_relevant_ids():
    # relevant items at overall ranks 1 and 3 -> filtered ranks 1 and 2; AP = (1/1 + 2/3) / 2
    metrics = ranking_metrics(np.array([1.0, 2.0]), np.array(["x", "y"]), np.array(["q", "q"]))
    assert metrics.map == pytest.approx((1 + 2 / 3) / 2)


def test_auroc_is_one_for_perfect_separation_and_a_half_for_ties():
    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert auroc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == 0.5
    assert auroc(np.array([0.5, 0.6]), np.array([1, 1])) is None


def test_opis_is_zero_when_every_class_behaves_alike_and_grows_when_one_drifts():
    rng = np.random.default_rng(0)
    n = 4000
    classes = rng.integers(0, 4, n)
    positive = rng.random(n) < 0.3
    sims = np.where(positive, rng.normal(0.7, 0.1, n), rng.normal(0.2, 0.1, n))
    alike = opis(sims, positive, classes).opis
    drifted = sims + np.where((classes == 0) & positive, -0.3, 0.0)  # class 0's positives score much lower
    assert alike < 0.002
    assert opis(drifted, positive, classes).opis > 10 * alike


def test_fit_threshold_recovers_the_separating_threshold_of_clean_labels():
    sims = np.array([0.2, 0.3, 0.45, 0.55, 0.6, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    fit = fit_threshold(sims, labels)
    assert (fit.threshold, fit.precision, fit.recall) == (0.55, 1.0, 1.0)


def test_fit_threshold_with_a_false_accept_budget_stays_within_it():
    rng = np.random.default_rng(1)
    labels = rng.random(2000) < 0.5
    sims = np.where(labels, rng.normal(0.6, 0.1, 2000), rng.normal(0.4, 0.1, 2000))
    fit = fit_threshold(sims, labels, max_false_accept_rate=0.05)
    assert fit.false_accept_rate <= 0.05
    assert fit.false_accept_rate > 0.04  # the lowest threshold within budget, not an overly strict one


def test_fit_threshold_needs_both_kinds_of_label():
    with pytest.raises(ValueError):
        fit_threshold(np.array([0.5, 0.6]), np.array([1, 1]))
