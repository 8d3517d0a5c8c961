"""Encoder throughput and agreement: torch fp32 against ONNX Runtime fp32 and int8, side by side in one run.

Titles are JobBERT validation titles; descriptions are two consecutive ESCO occupation descriptions joined and cut
to exactly 128 tokens.
Each round times every backend once, in turn, so a busy machine slows both alike; the table shows medians over
rounds and ratios of medians. Also: cosine agreement to torch fp32, single-query latency (p50/p95, one text per
call, as a free-text search encodes), and how far a vector moves with its batch (a title encoded alone against the
same title in a batch of 64: int8 dynamic quantisation scales activations per batch). No Django, no database.
Prints one table and writes JSON.
Run: .venv/bin/python bench/encode.py [--titles 2000] [--descriptions 500] [--rounds 5] [--singles 300]
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from matching.ml.encoder import BASE_MODEL, TextEncoder, resolve_model_path  # noqa: E402
from matching.ml.onnx_encoder import OnnxTextEncoder, build_onnx  # noqa: E402
from matching.reference_data import esco_occupations, validation_titles  # noqa: E402


def cpu_flags() -> list[str]:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return []
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16")
    return [flag for flag in flags.split(":")[1].split() if flag in wanted]


def load_texts(titles: int, descriptions: int, tokenizer) -> tuple[list[str], list[str]]:  # noqa: ANN001
    all_titles = [title for title, _ in validation_titles()]
    rng = np.random.default_rng(0)
    picked_titles = [all_titles[i] for i in rng.choice(len(all_titles), titles, replace=False)]
    texts = [o.description for o in esco_occupations() if o.description]
    cut = []
    for first, second in zip(texts, texts[1:], strict=False):  # most are shorter than 128 tokens: two per text
        ids = tokenizer.encode(f"{first} {second}", add_special_tokens=False)
        if len(ids) >= 126:  # 126 word pieces + [CLS] + [SEP] = 128 tokens
            cut.append(tokenizer.decode(ids[:126]))
        if len(cut) == descriptions:
            break
    return picked_titles, cut


def rate(encode, texts: list[str]) -> float:  # noqa: ANN001
    started = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - started)


def agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cosine = (a * b).sum(axis=1)
    return {"mean": float(cosine.mean()), "p5": float(np.percentile(cosine, 5)), "min": float(cosine.min())}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=2000)
    parser.add_argument("--descriptions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--singles", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/encode.json")
    args = parser.parse_args()
    import torch

    model_path = resolve_model_path(BASE_MODEL)
    backends, build = {"torch-fp32": TextEncoder(model_path)}, {}
    with tempfile.TemporaryDirectory() as cache:  # fresh exports: their build times are part of the result
        for precision in ("fp32", "int8"):
            started = time.perf_counter()
            artifact = build_onnx(model_path, Path(cache), precision=precision)
            build[precision] = {
                "s": time.perf_counter() - started,
                "mb": (artifact / "model.onnx").stat().st_size / 2**20,
            }
            backends[f"onnx-{precision}"] = OnnxTextEncoder(artifact)
    titles, descriptions = load_texts(args.titles, args.descriptions, backends["torch-fp32"].model.tokenizer)

    def encoder(name: str):  # noqa: ANN202
        return lambda texts: backends[name].encode(texts, batch_size=args.batch_size)[0]

    vectors = {name: (encoder(name)(titles), encoder(name)(descriptions)) for name in backends}  # also a warm-up
    rates: dict[str, dict[str, list[float]]] = {name: {"titles": [], "descriptions": []} for name in backends}
    for _ in range(args.rounds):
        for name in backends:
            rates[name]["titles"].append(rate(encoder(name), titles))
            rates[name]["descriptions"].append(rate(encoder(name), descriptions))
    latency: dict[str, list[float]] = {name: [] for name in backends}
    for text in titles[: args.singles]:
        for name, model in backends.items():
            started = time.perf_counter()
            model.encode([text])
            latency[name].append((time.perf_counter() - started) * 1000)
    alone = {name: model.encode(titles[:500], batch_size=1)[0] for name, model in backends.items()}

    fp32 = vectors["torch-fp32"]
    rows = []
    for name in backends:
        titles_s, descriptions_s = (float(np.median(rates[name][kind])) for kind in ("titles", "descriptions"))
        rows.append(
            {
                "backend": name,
                "titles_per_s": titles_s,
                "descriptions_per_s": descriptions_s,
                "titles_x_fp32": titles_s / float(np.median(rates["torch-fp32"]["titles"])),
                "descriptions_x_fp32": descriptions_s / float(np.median(rates["torch-fp32"]["descriptions"])),
                "single_p50_ms": float(np.percentile(latency[name], 50)),
                "single_p95_ms": float(np.percentile(latency[name], 95)),
                "cosine_titles": agreement(vectors[name][0], fp32[0]),
                "cosine_descriptions": agreement(vectors[name][1], fp32[1]),
                "alone_vs_batch": agreement(alone[name], vectors[name][0][:500]),
            }
        )
    print(f"CPU: {platform.processor() or platform.machine()}, flags {' '.join(cpu_flags())}, torch threads "
          f"{torch.get_num_threads()}, {os.cpu_count()} CPUs; {len(titles)} titles, {len(descriptions)} descriptions "
          f"of 128 tokens, batch {args.batch_size}, median of {args.rounds} rounds")  # fmt: skip
    print(
        "ONNX builds (export [+ quantise]): "
        + ", ".join(f"{p} {b['s']:.1f} s, {b['mb']:.1f} MB" for p, b in build.items())
    )
    print(
        f"{'backend':<11} {'titles/s':>9} {'x torch':>7} {'desc/s':>7} {'x torch':>7} {'1-query p50':>11} "
        f"{'p95 ms':>6} {'cos titles mean/p5/min':>23} {'cos desc mean/min':>17} {'alone/batch min':>15}"
    )
    for row in rows:
        ct, cd, ab = row["cosine_titles"], row["cosine_descriptions"], row["alone_vs_batch"]
        print(
            f"{row['backend']:<11} {row['titles_per_s']:>9.0f} {row['titles_x_fp32']:>7.2f} "
            f"{row['descriptions_per_s']:>7.1f} {row['descriptions_x_fp32']:>7.2f} {row['single_p50_ms']:>11.1f} "
            f"{row['single_p95_ms']:>6.1f} {ct['mean']:>9.4f}/{ct['p5']:.4f}/{ct['min']:.4f} "
            f"{cd['mean']:>9.4f}/{cd['min']:.4f} {ab['min']:>15.4f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "config": vars(args) | {"json": str(args.json)},
                "cpu_flags": cpu_flags(),
                "torch_threads": torch.get_num_threads(),
                "builds": build,
                "rows": rows,
                "rates": rates,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
