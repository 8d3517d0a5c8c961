"""The ONNX backends: built locally from the wheel model, agree with torch fp32, leave a trained head to torch."""

import numpy as np
import pytest

from matching.ml.encoder import BASE_MODEL, TextEncoder, load_encoder, resolve_model_path
from matching.ml.onnx_encoder import ExportNotSupported, OnnxTextEncoder, build_onnx, check_exportable
from matching.ml.softmax_head import SoftmaxGroupHead

TEXTS = ["registered nurse", "Senior Java developer (m/w/d), Berlin", "welder", "forklift driver, night shifts"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def torch_vectors():
    return TextEncoder(resolve_model_path(BASE_MODEL)).encode(TEXTS)[0]


def test_the_onnx_fp32_encoder_gives_torchs_vectors_whatever_the_batch(cache, torch_vectors):
    encoder = OnnxTextEncoder(build_onnx(resolve_model_path(BASE_MODEL), cache, precision="fp32"))
    vectors, confidence = encoder.encode(TEXTS)
    alone = np.concatenate([encoder.encode([text])[0] for text in TEXTS])
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384) and confidence is None
    assert np.allclose(vectors, torch_vectors, atol=1e-4) and np.allclose(alone, vectors, atol=1e-5)


def test_the_int8_encoder_gives_unit_vectors_close_to_torch_fp32_whatever_the_batch(cache, torch_vectors):
    encoder = OnnxTextEncoder(build_onnx(resolve_model_path(BASE_MODEL), cache, precision="int8"))
    int8, _ = encoder.encode(TEXTS)
    alone = np.concatenate([encoder.encode([text])[0] for text in TEXTS])
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (int8 * torch_vectors).sum(axis=1).min() > 0.99  # bench/encode.py: mean 0.997 on 2,000 titles
    # Activations are quantised per token row, so batch-mates (and their padding) change nothing.
    assert np.allclose(alone, int8, atol=1e-5)


def test_a_second_build_reuses_the_cached_artifact(cache):
    first = build_onnx(resolve_model_path(BASE_MODEL), cache, precision="fp32")
    before = (first / "model.onnx").stat().st_mtime_ns
    again = build_onnx(resolve_model_path(BASE_MODEL), cache, precision="fp32")
    assert again == first and (again / "model.onnx").stat().st_mtime_ns == before


def test_a_model_with_a_softmax_group_head_is_served_by_torch_with_its_confidence(tmp_path):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(resolve_model_path(BASE_MODEL)), device="cpu")
    model.append(SoftmaxGroupHead(384, groups=2, group_size=8))
    model.save(str(tmp_path / "trained"))
    with pytest.raises(ExportNotSupported):
        check_exportable(tmp_path / "trained")
    encoder = load_encoder(str(tmp_path / "trained"), backend="onnx", cache_dir=tmp_path / "cache")
    vectors, confidence = encoder.encode(TEXTS)
    assert encoder.backend == "torch" and vectors.shape == (4, 16) and confidence.shape == (4,)


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown encoder backend"):
        load_encoder(BASE_MODEL, backend="tensorrt")
