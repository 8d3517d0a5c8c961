"""ENCODER_DEVICE reaches the encoder loader: cpu keeps the ONNX backend, cuda means torch on a GPU, and anything
else stops start-up with one line."""

import pytest

from matching.ml.encoder import BASE_MODEL
from matching.services.encoding import served_encoder
from tests.conftest import manage


def test_an_unknown_encoder_device_stops_start_up_with_one_line_and_exit_2():
    result = manage("check", env={"ENCODER_DEVICE": "tpu"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: ENCODER_DEVICE must be cpu, cuda or cuda:N, not 'tpu'"
    ]


def test_on_cpu_the_onnx_backend_stays_the_default(settings):
    settings.ENCODER_DEVICE = "cpu"
    assert served_encoder(BASE_MODEL).backend == settings.ENCODER_BACKEND == "onnx-int8"


def test_on_cuda_the_encoder_is_torch_on_the_gpu_or_refused_where_there_is_none(settings):
    import torch

    settings.ENCODER_DEVICE = "cuda"
    if not torch.cuda.is_available():  # this machine's CPU torch: a clear refusal, not ONNX on the CPU
        with pytest.raises(RuntimeError, match="sees no CUDA device"):
            served_encoder(BASE_MODEL)
        return
    encoder = served_encoder(BASE_MODEL)
    assert encoder.backend == "torch" and encoder.model.device.type == "cuda"
