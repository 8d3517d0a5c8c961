"""Calibrated thresholds: fitted per tenant from its labelled pairs, the global fallback, and no leaks."""

import numpy as np
import pytest
from django.db import transaction
from pgvector import SparseVector

from matching.ml.lexical import HASH_DIM
from matching.models import CandidateEmbedding, GlobalCalibration, Kind, ThresholdFit, VacancyEmbedding
from matching.services import (
    MIN_LABELS_PER_CLASS,
    calibrate_global,
    calibrate_tenant,
    record_feedback,
    search,
    threshold_for,
    upsert_records,
)
from matching.services.encoding import text_hash
from tenants.scoping import tenant_scope

pytestmark = pytest.mark.django_db
DIMENSION = 384


def labelled_pairs_with_similarities(tenant, similarities, good, *, prefix="p"):
    """One (vacancy, candidate) pair per similarity, with stored vectors whose cosine is exactly that, marked: the
    dense and the lexical vectors alike, so the fused score a search serves is that similarity too."""
    n = len(similarities)
    # One transaction: the encode tasks the upserts queue go out after the synthetic vectors are committed, so a
    # worker already running finds them current and leaves them alone.
    with tenant_scope(tenant.id), transaction.atomic():
        vacancies = upsert_records(
            tenant=tenant, kind=Kind.VACANCIES, rows=[{"external_id": f"{prefix}v{i}", "title": "V"} for i in range(n)]
        ).ids
        candidates = upsert_records(
            tenant=tenant, kind=Kind.CANDIDATES, rows=[{"external_id": f"{prefix}c{i}", "title": "C"} for i in range(n)]
        ).ids
        axis, other = np.eye(DIMENSION, dtype=np.float32)[:2]
        version, hashed = tenant.active_encoder, text_hash("V")
        VacancyEmbedding.objects.bulk_create(
            VacancyEmbedding(
                tenant=tenant, record_id=rid, encoder_version=version, vector=axis, text_hash=hashed,
                lexical=SparseVector({0: 1.0}, HASH_DIM),
            )
            for rid in vacancies
        )  # fmt: skip
        CandidateEmbedding.objects.bulk_create(
            CandidateEmbedding(
                tenant=tenant,
                record_id=rid,
                encoder_version=version,
                vector=s * axis + np.sqrt(1 - s * s) * other,
                text_hash=text_hash("C"),
                lexical=SparseVector({0: float(s), 1: float(np.sqrt(1 - s * s))}, HASH_DIM),
            )
            for rid, s in zip(candidates, similarities, strict=True)
        )
        for vid, cid, is_good in zip(vacancies, candidates, good, strict=True):
            vacancy = Kind.VACANCIES.record_model.objects.get(pk=vid)
            candidate = Kind.CANDIDATES.record_model.objects.get(pk=cid)
            record_feedback(tenant=tenant, vacancy=vacancy, candidate=candidate, good=bool(is_good))


@pytest.fixture
def separable(acme):
    """50 good pairs at similarity 0.62..0.90, 50 bad at 0.20..0.58: best F1 is exactly at the lowest good, 0.62."""
    goods, bads = np.linspace(0.62, 0.90, 50), np.linspace(0.20, 0.58, 50)
    labelled_pairs_with_similarities(acme, np.r_[goods, bads], np.r_[np.ones(50), np.zeros(50)])
    return goods, bads


@pytest.fixture
def global_threshold(acme):
    return GlobalCalibration.objects.create(
        encoder_version=acme.active_encoder, n_labels=3, n_good=1, threshold=0.5, precision=1, recall=1, f1=1,
        false_accept_rate=0, curve=[{"threshold": 0.5, "precision": 1, "recall": 1, "f1": 1, "far": 0.0}],
    )  # fmt: skip


def test_calibration_on_separable_synthetic_pairs_recovers_the_known_best_f1_threshold(acme, separable):
    goods, _ = separable
    with tenant_scope(acme.id):
        report = calibrate_tenant(tenant=acme)
    assert report.fit.threshold == pytest.approx(goods.min(), abs=1e-5)
    assert (report.fit.precision, report.fit.recall, report.fit.n_labels) == (1.0, 1.0, 100)
    assert report.threshold.source == "tenant"
    assert len(report.fit.curve) > 10


def test_a_max_false_accept_rate_target_picks_the_lowest_threshold_within_that_rate(acme, separable):
    _, bads = separable
    with tenant_scope(acme.id):
        report = calibrate_tenant(tenant=acme, target="max_far", max_false_accept_rate=0.1)
    assert report.fit.threshold == pytest.approx(np.sort(bads)[-5], abs=1e-5)  # 5 of 50 bad pairs accepted
    assert report.fit.false_accept_rate == pytest.approx(0.1)


def test_a_tenant_with_no_labels_uses_the_global_threshold(acme, global_threshold):
    with tenant_scope(acme.id):
        threshold = threshold_for(tenant=acme, version=acme.active_encoder)
    assert (threshold.value, threshold.source) == (0.5, "global")


def test_with_fewer_labels_than_the_minimum_the_fit_is_stored_but_the_global_threshold_stays(acme, global_threshold):
    few = MIN_LABELS_PER_CLASS - 1
    labelled_pairs_with_similarities(
        acme, np.r_[np.full(few, 0.8), np.full(few, 0.3)], np.r_[np.ones(few), np.zeros(few)]
    )
    with tenant_scope(acme.id):
        report = calibrate_tenant(tenant=acme)
    assert report.fit.sufficient is False
    assert report.threshold.source == "global"


def test_one_tenants_threshold_never_applies_to_another(acme, globex, separable, global_threshold):
    with tenant_scope(acme.id):
        calibrate_tenant(tenant=acme)
    with tenant_scope(globex.id):
        theirs = threshold_for(tenant=globex, version=globex.active_encoder)
        assert not ThresholdFit.objects.exists()
    assert (theirs.value, theirs.source) == (0.5, "global")


def test_search_results_carry_is_match_and_only_matches_keeps_rows_at_or_above_the_threshold(acme, separable):
    with tenant_scope(acme.id):
        calibrate_tenant(tenant=acme)
        vacancy = Kind.VACANCIES.record_model.objects.get(external_id="pv0")
        everything = search(tenant=acme, target=Kind.CANDIDATES, record=vacancy, k=100)
        matches = search(tenant=acme, target=Kind.CANDIDATES, record=vacancy, k=100, only_matches=True)
    assert everything.threshold == pytest.approx(0.62, abs=1e-5)
    assert [m.is_match for m in everything.matches] == [
        m.similarity >= everything.threshold for m in everything.matches
    ]
    assert len(matches.matches) == 50  # the 50 good pairs' candidates, every one at or above 0.62
    assert all(m.is_match for m in matches.matches)


def test_only_matches_before_any_threshold_exists_returns_nothing(acme, separable):
    with tenant_scope(acme.id):
        vacancy = Kind.VACANCIES.record_model.objects.get(external_id="pv0")
        result = search(tenant=acme, target=Kind.CANDIDATES, record=vacancy, k=10, only_matches=True)
    assert (result.matches, result.threshold) == ([], None)


def test_the_global_fit_on_a_validation_subsample_is_stored_with_its_curve_and_opis(acme):
    calibration = calibrate_global(version=acme.active_encoder, titles=150)
    assert 0.0 < calibration.threshold < 1.0
    assert calibration.n_labels == 3 * calibration.n_good == 450  # one positive, two negatives per title
    assert calibration.curve and calibration.opis_groups is not None
    assert set(calibration.by_shape) == {"record", "text"}  # a fit per query shape (#17)
    assert calibration.by_shape["record"]["threshold"] > calibration.by_shape["text"]["threshold"]
    assert GlobalCalibration.objects.get(encoder_version=acme.active_encoder).pk == calibration.pk


@pytest.mark.django_db(transaction=True)
def test_the_periodic_refit_on_a_real_worker_fits_a_tenant_that_received_feedback(acme, separable, celery_worker):
    from matching.tasks import refit_thresholds_task
    from tests.conftest import wait_until

    refit_thresholds_task.delay()

    def fitted() -> bool:
        with tenant_scope(acme.id):
            return ThresholdFit.objects.filter(n_labels=100).exists()

    wait_until(fitted, timeout_s=60, what="the worker's refit")
    with tenant_scope(acme.id):
        assert threshold_for(tenant=acme, version=acme.active_encoder).value == pytest.approx(0.62, abs=1e-5)


@pytest.mark.django_db(transaction=True)
def test_the_calibration_api_shows_each_tenant_only_its_own_threshold(
    api_client, acme, globex, separable, global_threshold, celery_worker
):
    from tests.conftest import wait_until

    queued = api_client(acme).post("/api/v1/calibration/refit/")
    # a worker fits it, and may already have started when the answer is written
    assert queued.status_code == 202 and queued.json()["refit"]["status"] in ("queued", "running")
    wait_until(
        lambda: api_client(acme).get("/api/v1/calibration/").json()["refit"]["status"] == "done",
        timeout_s=60,
        what="the worker's refit",
    )
    ours, theirs = (
        api_client(acme).get("/api/v1/calibration/").json(),
        api_client(globex).get("/api/v1/calibration/").json(),
    )
    assert (ours["source"], ours["latest_fit"]["n_labels"]) == ("tenant", 100)
    assert (theirs["source"], theirs["threshold"], theirs["latest_fit"], theirs["refit"]) == ("global", 0.5, None, None)


def test_opis_across_tenants_is_stored_for_operators_and_never_shown_to_a_tenant(
    api_client, acme, globex, separable, global_threshold
):
    shifted = np.r_[np.linspace(0.3, 0.5, 20), np.linspace(0.1, 0.35, 20)]  # globex: lower, overlapping scores
    labelled_pairs_with_similarities(globex, shifted, np.r_[np.ones(20), np.zeros(20)], prefix="g")
    with tenant_scope(acme.id):
        report = calibrate_tenant(tenant=acme)
    global_threshold.refresh_from_db()
    assert report.opis_tenants is not None and report.opis_tenants > 0
    assert global_threshold.opis_tenants == pytest.approx(report.opis_tenants)
    assert "opis_tenants" not in str(api_client(acme).get("/api/v1/calibration/").json())


def test_a_shipped_global_fit_round_trips_and_is_taken_only_for_the_same_model(acme, global_threshold, tmp_path):
    from matching.services import global_calibration as shipped

    version = acme.active_encoder
    path = tmp_path / f"{version.name}.json"
    shipped.export_global_calibration(version=version, path=path)
    global_threshold.delete()
    original = shipped.SHIPPED_DIR
    shipped.SHIPPED_DIR = tmp_path
    try:
        loaded = shipped.load_shipped_global_calibration(version)
        assert (loaded.threshold, loaded.curve, loaded.n_labels) == (0.5, global_threshold.curve, 3)
        assert loaded.config["source"].startswith("shipped:")
        loaded.delete()
        version.artifact_path = "/elsewhere/a-trained-model"  # same name, another model: its own fit is needed
        assert shipped.load_shipped_global_calibration(version) is None
    finally:
        shipped.SHIPPED_DIR = original


def test_the_base_encoders_shipped_fit_is_served_at_once_and_agrees_with_a_fresh_subsample_fit(acme, settings):
    from matching.services.versions import prepare_global_threshold

    settings.GLOBAL_CALIBRATION_AUTO = True
    prepare_global_threshold(version=acme.active_encoder)  # what registering the version and start-up do
    with tenant_scope(acme.id):
        threshold = threshold_for(tenant=acme, version=acme.active_encoder)
    assert threshold.source == "global"
    stored = GlobalCalibration.objects.get(encoder_version=acme.active_encoder)
    assert stored.n_labels == 3 * stored.n_good > 39_000 and stored.config["source"].startswith("shipped:")
    assert (threshold.shape, threshold.value) == ("text", stored.by_shape["text"]["threshold"])
    shipped = {shape: fit["threshold"] for shape, fit in stored.by_shape.items()}
    fresh = calibrate_global(version=acme.active_encoder, titles=600)  # ~20 s; the full fit takes minutes
    assert abs(fresh.threshold - stored.threshold) < 0.06
    for shape in ("record", "text"):  # each query shape's fit (#17) agrees with its shipped one too
        assert abs(fresh.by_shape[shape]["threshold"] - shipped[shape]) < 0.06
