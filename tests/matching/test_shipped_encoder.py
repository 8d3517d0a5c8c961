"""A trained encoder ships as its int8 export + training.json, and a fresh install registers and serves it."""

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from matching.ml import encoder as ml_encoder
from matching.models import EncoderVersion, GlobalCalibration
from matching.services import versions
from matching.services.encoding import encoder_for
from tenants.scoping import tenant_scope
from tenants.services import ensure_tenant
from tests.factories import candidate

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


def test_a_fresh_install_serves_the_shipped_learned_encoder_with_its_threshold_and_confidence(db, settings):
    """The folder committed in matching/data/encoders/: `make run`'s tenants search with it, a threshold and a
    confidence on every hit from the first search (its fits ship beside it; no worker, no training)."""
    settings.GLOBAL_CALIBRATION_AUTO = True  # the production default (the suite runs with it off)
    version = versions.ensure_default_encoder()
    assert (version.name, version.artifact_path) == ("jobmatch-minilm-v1", "shipped:jobmatch-minilm-v1")
    assert GlobalCalibration.objects.get(encoder_version=version).config["source"].startswith("shipped: ")
    tenant = ensure_tenant(slug="fresh", name="Fresh Install", encoder=version)
    with tenant_scope(tenant.id):
        for title in ("Registered nurse", "Welder", "Accountant"):
            candidate(tenant, title)
    out = StringIO()
    call_command("match", "--tenant", "fresh", "--text", "staff nurse", "--kind", "candidates", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["encoder"] == "jobmatch-minilm-v1" and payload["threshold"] is not None
    assert payload["results"][0]["title"] == "Registered nurse"
    assert all(isinstance(hit["confidence"], float) and 0 <= hit["confidence"] <= 1 for hit in payload["results"])
