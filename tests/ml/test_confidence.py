"""A hit's confidence as a probability: features of a search, the logistic calibrator, ECE and reliability bins."""

import json

import numpy as np
import pytest

from matching.ml.confidence import Calibrator, fit_calibrator, fit_validated, held_out, pool_features, top_pools
from matching.ml.metrics import ece, reliability


def test_ece_is_the_count_weighted_gap_between_predicted_and_observed_per_bin():
    confidence = np.array([0.05, 0.05, 0.95, 0.95, 0.95, 0.95])
    correct = np.array([0, 0, 1, 1, 1, 0], dtype=bool)  # 0.05 -> 0 of 2 right, 0.95 -> 3 of 4
    bins = reliability(confidence, correct)
    assert [(b["lo"], b["n"], b["observed"]) for b in bins] == [(0.0, 2, 0.0), (0.9, 4, 0.75)]
    assert ece(confidence, correct) == pytest.approx((2 * 0.05 + 4 * 0.2) / 6)
    assert ece(np.array([1.0]), np.array([True])) == 0.0  # 1.0 falls in the last bin, not an eleventh
    assert ece(np.array([]), np.array([], dtype=bool)) is None


def _searches(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic searches: the right row is the top one more often the further it stands out."""
    rng = np.random.default_rng(seed)
    similarities = -np.sort(-rng.uniform(0.2, 0.8, size=(n, 11)), axis=1)
    gap = similarities[:, 0] - similarities[:, 1]
    right_first = rng.random(n) < 1 / (1 + np.exp(-(40 * gap - 1.5)))
    correct = np.zeros((n, 10), dtype=bool)
    correct[:, 0] = right_first
    return similarities, correct


def test_a_fitted_calibrator_is_calibrated_on_searches_it_was_not_fitted_on():
    fit_on, fit_correct = _searches(4000, seed=1)
    calibrator = fit_calibrator(fit_on, fit_correct)
    similarities, correct = _searches(4000, seed=2)
    confidence = calibrator.predict(similarities)[:, :10]
    assert ece(confidence[:, 0], correct[:, 0]) < 0.03
    assert confidence[:, 1:].mean() < 0.01  # the synthetic right row is never below the top
    assert np.all((confidence >= 0) & (confidence <= 1))


def test_the_stored_form_round_trips_through_json_and_predicts_the_same():
    calibrator = fit_calibrator(*_searches(500))
    again = Calibrator.from_json(json.loads(json.dumps(calibrator.to_json())))
    similarities = _searches(20, seed=3)[0]
    assert np.allclose(again.predict(similarities), calibrator.predict(similarities))
    with pytest.raises(ValueError, match="format"):
        Calibrator.from_json(calibrator.to_json() | {"format": 99})


def test_a_hits_confidence_does_not_change_with_k_and_a_search_with_few_rows_still_gets_one():
    calibrator = fit_calibrator(*_searches(500))
    rows = -np.sort(-np.random.default_rng(4).uniform(0.2, 0.8, size=30))
    assert np.allclose(calibrator.predict(rows[:11])[:10], calibrator.predict(rows)[:10])  # pool + 1 vs k = 30
    few = calibrator.predict(rows[:2])
    assert few.shape == (2,) and np.all((few > 0) & (few < 1))
    assert calibrator.predict(np.array([])).shape == (0,)


def test_features_are_read_off_the_pool_in_order():
    features = pool_features(np.array([[0.9, 0.8, 0.8, 0.5]]), scale=10.0, pool=3)[0]
    names = ("share", "cosine", "gap_next", "gap_top", "gap_pool", "rank", "entropy")
    column = {name: features[:, i] for i, name in enumerate(names)}
    assert np.allclose(column["cosine"], [0.9, 0.8, 0.8, 0.5])
    assert np.allclose(column["gap_next"], [0.1, 0.0, 0.3, 0.0])  # the last row has no next one
    assert np.allclose(column["gap_pool"], [0.1, 0.0, 0.0, -0.3])  # against the pool's last (3rd) row
    shares = 1 / (1 + np.exp(-column["share"]))
    assert np.isclose(shares[:3].sum(), 1.0) and shares[3] < shares[2]  # the pool's normaliser, as in heads
    assert 0 < column["entropy"][0] < 1 and np.all(column["entropy"] == column["entropy"][0])


def test_fit_validated_fits_on_one_half_and_reports_on_the_other():
    rng = np.random.default_rng(5)
    queries = [f"title {i}" for i in range(600)]
    targets = rng.integers(0, 40, size=600)
    scores = rng.uniform(0, 0.6, size=(600, 40))
    lucky = rng.random(600) < 0.5
    scores[np.arange(600), targets] += np.where(lucky, 0.5, 0.0)  # half the titles find their target first
    calibrator, report = fit_validated(scores, targets, queries)
    halves = held_out(queries)
    assert report["held_out"]["n"] == halves.sum() and report["fit"]["n"] == (~halves).sum()
    assert report["held_out"]["auroc"] > 0.9 and report["held_out"]["ece"] < 0.1
    assert sum(b["n"] for b in report["reliability"]) == halves.sum()
    similarities, columns = top_pools(scores)
    assert similarities.shape == (600, 11) and np.all(np.diff(similarities, axis=1) <= 0)
    assert np.array_equal(columns[:, 0], scores.argmax(axis=1))
