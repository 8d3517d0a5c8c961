"""Feedback and calibration in Django admin: each tenant admin sees only their tenant's marks and fits."""

import pytest

from matching.models import Feedback, GlobalCalibration, ThresholdFit
from matching.services import calibrate_tenant, record_feedback
from tenants.scoping import tenant_scope
from tests.factories import candidate, vacancy

pytestmark = pytest.mark.django_db


def _marked(tenant, prefix):
    v, c1, c2 = (
        vacancy(tenant, "Welder", external_id=f"{prefix}-v"),
        candidate(tenant, "Welder"),
        candidate(tenant, "Cook"),
    )
    with tenant_scope(tenant.id):
        record_feedback(tenant=tenant, vacancy=v, candidate=c1, good=True)
        record_feedback(tenant=tenant, vacancy=v, candidate=c2, good=False)
        calibrate_tenant(tenant=tenant)
        return ThresholdFit.objects.get(), Feedback.objects.first()


def test_another_tenants_feedback_and_fits_are_absent_from_lists_and_404_in_admin(acme, globex, acme_admin):
    _marked(acme, "ours")
    fit, mark = _marked(globex, "theirs")
    assert "theirs-v" not in acme_admin.get("/admin/matching/feedback/").content.decode()
    assert "ours-v" in acme_admin.get("/admin/matching/feedback/").content.decode()
    assert acme_admin.get(f"/admin/matching/feedback/{mark.id}/change/").status_code == 404
    assert acme_admin.get(f"/admin/matching/thresholdfit/{fit.id}/change/").status_code == 404


def test_a_tenant_admin_sees_the_global_threshold_but_not_the_opis_across_tenants(acme, acme_admin):
    calibration = GlobalCalibration.objects.create(
        encoder_version=acme.active_encoder, n_labels=3, n_good=1, threshold=0.4321, precision=1, recall=1, f1=1,
        false_accept_rate=0, curve=[], opis_tenants=0.1234,
    )  # fmt: skip
    page = acme_admin.get(f"/admin/matching/globalcalibration/{calibration.id}/change/").content.decode()
    assert "0.4321" in page
    assert "0.1234" not in page
