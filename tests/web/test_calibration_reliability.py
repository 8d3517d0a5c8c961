"""The calibration page says how reliable the served confidence is (#18, #16): in plain words for everyone, from the
version's stored reliability bins (config["confidence"]["reliability"]), and as a table for admins."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from matching.services.confidence import load_shipped_confidence
from tenants.services import ensure_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def recruiter(acme):
    user = User.objects.create_user("rob", password="pw-rob-12345")
    ensure_member(tenant=acme, user=user, role="recruiter")
    client = Client()  # its own: acme_admin logs in on pytest-django's `client`
    client.force_login(user)
    return client


def _pct(value: float) -> int:
    return round(value * 100)


def test_without_a_calibrator_the_page_says_confidence_is_not_shown_yet(acme, recruiter):
    assert not acme.active_encoder.config.get("confidence")  # GLOBAL_CALIBRATION_AUTO=0 in tests
    page = recruiter.get("/calibration/").content.decode()
    assert 'id="reliability-words"' in page
    assert "not shown yet" in page and "no calibration has been fitted" in page
    assert "reliability-table" not in page


def test_the_shipped_calibrator_is_explained_from_its_stored_bins(acme, recruiter, acme_admin):
    version = acme.active_encoder
    assert load_shipped_confidence(version) is not None
    version.refresh_from_db()
    stored = version.config["confidence"]
    bins = stored["reliability"]
    solid = [b for b in bins if b["n"] >= 20]
    near = min(solid, key=lambda b: abs(b["predicted"] - 0.8))
    ece_points = f"{stored['metrics']['held_out']['ece'] * 100:.1f}"

    page = recruiter.get("/calibration/").content.decode()
    assert (
        f"When JobMatch says a match is about <strong>{_pct(near['predicted'])}% likely</strong>, it was right about "
        f"<strong>{_pct(near['observed'])}% of the time</strong> on validation data ({near['n']} test searches)."
    ) in page
    assert f"off by about <strong>{ece_points} percentage points</strong>" in page
    assert "reliability-table" not in page  # for admins

    admins = acme_admin.get("/calibration/").content.decode()
    assert 'id="reliability-table"' in admins
    assert admins.count('<tr class="reliability-bin">') == len(bins)
    for b in bins:
        assert f"<td>{_pct(b['predicted'])}%</td><td>{_pct(b['observed'])}%</td><td>{b['n']}</td>" in admins


def test_the_sentence_takes_the_nearest_well_populated_bin(acme, recruiter):
    version = acme.active_encoder
    bins = [
        {"lo": 0.1, "hi": 0.2, "n": 400, "predicted": 0.15, "observed": 0.13},
        {"lo": 0.6, "hi": 0.7, "n": 60, "predicted": 0.64, "observed": 0.58},
        {"lo": 0.8, "hi": 0.9, "n": 4, "predicted": 0.83, "observed": 0.25},  # too few to speak for
    ]
    version.config = version.config | {"confidence": {"reliability": bins, "metrics": {}}}
    version.save(update_fields=["config"])
    page = recruiter.get("/calibration/").content.decode()
    assert (
        "When JobMatch says a match is about <strong>64% likely</strong>, it was right about "
        "<strong>58% of the time</strong> on validation data (60 test searches)."
    ) in page
    assert "percentage points" not in page  # no ECE stored, none claimed
