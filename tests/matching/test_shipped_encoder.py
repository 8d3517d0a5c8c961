"""A trained encoder ships as its int8 export + training.json, and a fresh install registers and serves it."""

import numpy as np
import pytest

from matching.ml import encoder as ml_encoder
from matching.models import EncoderVersion
from matching.services import versions
from matching.services.encoding import encoder_for

pytestmark = pytest.mark.django_db


def test_a_shipped_encoder_is_registered_as_the_default_and_serves_its_export(acme, tmp_path, monkeypatch):
    base = acme.active_encoder  # any version with weights ships the same way a trained one does
    folder = versions.ship_encoder(version=base, name="shipped-test", out_dir=tmp_path, extra={"note": "test"})
    assert {"model.onnx", "encoder.json", "tokenizer.json", "training.json"} <= {p.name for p in folder.iterdir()}
    monkeypatch.setattr(versions, "ENCODERS_DIR", tmp_path)
    monkeypatch.setattr(ml_encoder, "ENCODERS_DIR", tmp_path)
    monkeypatch.setattr(versions, "DEFAULT_ENCODER_NAME", "shipped-test")
    version = versions.ensure_default_encoder()
    assert (version.name, version.artifact_path, version.dimension) == ("shipped-test", "shipped:shipped-test", 384)
    assert version.config["shipped"] == {"note": "test"}
    assert versions.ensure_default_encoder().pk == version.pk  # registered once
    texts = ["registered nurse", "welder"]
    shipped, served_base = encoder_for(version).encode(texts)[0], encoder_for(base).encode(texts)[0]
    assert np.allclose(shipped, served_base, atol=1e-6)  # the same int8 graph, loaded from the shipped folder


def test_without_a_shipped_encoder_new_tenants_get_the_base_one(acme, tmp_path, monkeypatch):
    monkeypatch.setattr(versions, "ENCODERS_DIR", tmp_path)  # nothing shipped there
    assert versions.ensure_default_encoder() == EncoderVersion.objects.get(name=acme.active_encoder.name)
