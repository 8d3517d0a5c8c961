"""An encoder version's confidence calibrator: shipped for the base encoder, fitted for any other, stored with it."""

import pytest

from matching.ml.encoder import BASE_MODEL
from matching.models import EncoderVersion
from matching.services import confidence as service
from matching.services.confidence import confidence_calibrator, fit_confidence_calibrator
from matching.services.versions import prepare_confidence

pytestmark = pytest.mark.django_db


def test_the_base_encoders_shipped_calibrator_is_stored_when_its_version_is_prepared(acme, settings):
    version = acme.active_encoder
    assert confidence_calibrator(version) is None  # tests run with GLOBAL_CALIBRATION_AUTO off
    settings.GLOBAL_CALIBRATION_AUTO = True
    prepare_confidence(version=version)  # what registering the version and start-up do
    stored = EncoderVersion.objects.get(pk=version.pk).config["confidence"]
    assert stored["source"] == "shipped: matching/data/confidence/base-minilm-l6-v2.json"
    held = stored["metrics"]["held_out"]
    assert held["n"] > 6000 and held["ece"] <= 0.05  # measured on titles the fit did not see
    assert EncoderVersion.objects.get(pk=version.pk).config["base"] == "all-MiniLM-L6-v2"  # the rest is kept
    assert confidence_calibrator(EncoderVersion.objects.get(pk=version.pk)).pool == 10


def test_a_shipped_calibrator_is_taken_only_for_the_same_model():
    other = EncoderVersion(name="base-minilm-l6-v2", dimension=384, artifact_path="/elsewhere/a-trained-model")
    assert service.shipped_confidence(name=other.name, artifact=other.artifact_path) is None
    assert service.shipped_confidence(name="base-minilm-l6-v2", artifact=BASE_MODEL) is not None


def test_a_new_version_gets_its_own_fit_stored_beside_its_config(db):
    version = EncoderVersion.objects.create(
        name="trained-like", dimension=384, artifact_path=BASE_MODEL, config={"train": {"seed": 0}}
    )
    assert service.shipped_confidence(name=version.name, artifact=version.artifact_path) is None
    payload = fit_confidence_calibrator(version=version, titles=300, occupations=150)  # a quick subsample fit
    stored = EncoderVersion.objects.get(pk=version.pk).config
    assert stored["train"] == {"seed": 0} and stored["confidence"] == payload
    assert payload["data"]["n_titles"] == 300 and payload["data"]["occupations"] >= 150
    assert set(payload["metrics"]) == {"fit", "held_out", "all"}
    assert payload["metrics"]["all"]["n"] == 300 and 0 <= payload["metrics"]["held_out"]["ece"] <= 1
    assert sum(b["n"] for b in payload["reliability"]) == payload["metrics"]["held_out"]["n"]
    assert confidence_calibrator(version) is not None


def test_calibrate_confidence_refuses_an_unknown_encoder_and_a_subsample_export_with_exit_2(db, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    for options, message in (
        ({"encoder": "no-such-encoder"}, "unknown encoder"),
        ({"titles": 100, "export": tmp_path / "x.json"}, "drop --titles"),
    ):
        with pytest.raises(CommandError, match=message) as refused:
            call_command("calibrate", confidence=True, **options)
        assert refused.value.returncode == 2
