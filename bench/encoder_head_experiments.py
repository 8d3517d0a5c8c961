"""Encoder experiments that fit in minutes on 2 CPU cores: the softmax-group head trained alone on cached base
vectors, scored on a fixed 1,500-query sample of the JobBERT validation titles against all ESCO occupations.

Not a test. Usage: .venv/bin/python bench/encoder_head_experiments.py [config-name ...]
Writes one JSON line per config to bench/results/encoder_head_experiments.jsonl. The caches (base vectors of the
training texts: ~18 min on a busy 2-core machine; the sample: ~1 min) live in var/experiments/cache/.
Full-model runs go through `manage.py train_encoder` and `manage.py evaluate` instead.
"""

import csv
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.ml.data import ontology_pairs  # noqa: E402
from matching.ml.encoder import BASE_MODEL, TextEncoder, resolve_model_path  # noqa: E402
from matching.ml.evaluation import best_row, build_corpus, id_scores  # noqa: E402
from matching.ml.heads import group_confidence, group_overlap  # noqa: E402
from matching.ml.losses import PairLoss  # noqa: E402
from matching.ml.metrics import auroc, expected_ranks, opis  # noqa: E402
from matching.ml.softmax_head import SoftmaxGroupHead  # noqa: E402
from matching.ml.train import _batches  # noqa: E402
from matching.reference_data import ESCO_CSV, ONET_TSV  # noqa: E402

CACHE = ROOT / "var" / "experiments" / "cache"
OUT = ROOT / "bench" / "results" / "encoder_head_experiments.jsonl"
CONFIGS = {
    "bw": {},
    "inbatch": {"kind": "in_batch"},
    "bw_tcm": {"tcm": 1.0},
    "bw_8x64": {"groups": 8, "group_size": 64},
    "bw_e15": {"epochs": 15},
    # Isometric start: W = c * Q with orthonormal columns, so the near-uniform softmax groups keep the backbone's
    # inner products (to first order) and the head starts at the base encoder's ranking instead of below it.
    "iso_c4_e0": {"isometric": 4.0, "epochs": 0},
    "iso_c16_e0": {"isometric": 16.0, "epochs": 0},
    "iso_c4_bw": {"isometric": 4.0},
    "iso_c4_bw_tcm": {"isometric": 4.0, "tcm": 1.0},
}


def _eval_sample(encoder: TextEncoder):
    """1,500 validation titles (fixed seed) and all ESCO labels, as base vectors (run make_eval_sets first)."""
    with (ROOT / "var/eval/C.csv").open() as c_file, (ROOT / "var/eval/Q.csv").open() as q_file:
        corpus = build_corpus([(r["id"], r["text"]) for r in csv.DictReader(c_file)])
        queries = list(csv.DictReader(q_file))
    index = {value: i for i, value in enumerate(corpus.ids)}
    chosen = [queries[i] for i in np.random.default_rng(0).choice(len(queries), 1500, replace=False)]
    chosen = [row for row in chosen if row["target_id"] in index]
    targets = np.array([index[row["target_id"]] for row in chosen])
    if not (CACHE / "queries.npy").exists():
        np.save(CACHE / "queries.npy", encoder.encode([r["query"] for r in chosen], batch_size=256)[0])
        np.save(CACHE / "corpus.npy", encoder.encode(corpus.texts, batch_size=256)[0])
    return corpus, targets, np.load(CACHE / "queries.npy"), np.load(CACHE / "corpus.npy")


def run(name, pairs, index, vectors, sample, *, groups=4, group_size=128, kind="batch_wide", tcm=0.0, epochs=5,
        batch_size=1024, lr=1e-3, seed=0, isometric=None):  # fmt: skip
    torch.manual_seed(seed)
    corpus, targets, query_vectors, corpus_vectors = sample
    head = SoftmaxGroupHead(384, groups, group_size)
    if isometric is None:
        torch.nn.init.normal_(head.linear.weight, 0, 1.0)
    else:
        with torch.no_grad():
            head.linear.weight.copy_(isometric * torch.linalg.qr(torch.randn(groups * group_size, 384))[0])
    torch.nn.init.zeros_(head.linear.bias)
    loss_fn = PairLoss(None, kind=kind, tcm_weight=tcm)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr)
    labels, rng, started = {}, random.Random(seed), time.monotonic()
    for _ in range(epochs):
        order = pairs[:]
        rng.shuffle(order)
        for batch in _batches(order, batch_size):
            a = head({"sentence_embedding": vectors[[index[p.anchor] for p in batch]]})["sentence_embedding"]
            b = head({"sentence_embedding": vectors[[index[p.positive] for p in batch]]})["sentence_embedding"]
            g = torch.tensor([labels.setdefault(p.group, len(labels)) for p in batch])
            loss_fn.pair_loss(a, b, g).backward()
            optimizer.step()
            optimizer.zero_grad()
    with torch.no_grad():
        q = head({"sentence_embedding": torch.tensor(query_vectors)})["sentence_embedding"].numpy()
        c = head({"sentence_embedding": torch.tensor(corpus_vectors)})["sentence_embedding"].numpy()
    q_conf = group_confidence(q, groups=groups, group_size=group_size)
    c_conf = group_confidence(c, groups=groups, group_size=group_size)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    scores = id_scores(q, c, corpus)
    ranks = expected_ranks(scores, targets)
    correct = ranks <= 1
    top = best_row(q, c, corpus, scores.argmax(axis=1))
    overlap = np.array(
        [group_overlap(q[i], c[[row]], groups=groups, group_size=group_size)[0] for i, row in enumerate(top)]
    )
    relevant = np.zeros_like(scores, dtype=bool)
    relevant[np.arange(len(targets)), targets] = True
    result = {
        "name": name, "isometric": isometric, "groups": groups, "group_size": group_size, "loss": kind, "tcm": tcm,
        "epochs": epochs,
        "batch_size": batch_size, "mrr": round(float(np.mean(1 / ranks)), 4),
        "opis": round(opis(scores.ravel(), relevant.ravel(), np.repeat(targets, scores.shape[1])).opis, 5),
        "auroc_query_confidence": round(auroc(q_conf, correct), 4),
        "auroc_hit_confidence": round(auroc(c_conf[top], correct), 4),
        "auroc_top_similarity": round(auroc(scores.max(axis=1), correct), 4),
        "auroc_group_overlap": round(auroc(overlap, correct), 4),
        "seconds": round(time.monotonic() - started, 1),
    }  # fmt: skip
    base = np.mean(1 / expected_ranks(id_scores(query_vectors, corpus_vectors, corpus), targets))
    result["base_mrr_same_sample"] = round(float(base), 4)
    return result


def main(names: list[str]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder(resolve_model_path(BASE_MODEL))
    pairs = ontology_pairs(esco=ESCO_CSV, onet=ONET_TSV).pairs
    texts = sorted({p.anchor for p in pairs} | {p.positive for p in pairs})
    index = {text: i for i, text in enumerate(texts)}
    if not (CACHE / "train_vectors.pt").exists():
        encoder.model.max_seq_length = 64
        torch.save(torch.tensor(encoder.encode(texts, batch_size=256)[0]), CACHE / "train_vectors.pt")
        encoder.model.max_seq_length = 256
    vectors = torch.load(CACHE / "train_vectors.pt")
    sample = _eval_sample(encoder)
    for name in names or list(CONFIGS):
        result = run(name, pairs, index, vectors, sample, **CONFIGS[name])
        print(json.dumps(result), flush=True)
        with OUT.open("a") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
