"""Fine-tune the base encoder on ontology pairs, bare (the served vector is the backbone's pooled, normalised
output) or under a softmax-group head. Torch only; deterministic by seed."""

import json
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .data import Pair
from .heads import LOSS_SCALE
from .losses import TCM_NEGATIVE_MARGIN, TCM_POSITIVE_MARGIN, PairLoss
from .softmax_head import SoftmaxGroupHead


@dataclass
class TrainConfig:
    base_model: str
    # "none": the backbone alone, whose pooled vector ranks (the head's squeezed band cost ranking: bench/README.md);
    # "softmax_groups": the seed's G x K softmax-group head on top.
    head: str = "none"
    # GISTEmbed-style guide: an in-batch negative the frozen base model scores above the pair's own positive (minus
    # guide_margin) is a likely synonym and is masked, not pushed away.
    guide: bool = True
    guide_margin: float = 0.0
    epochs: float = 1.0
    batch_size: int = 128
    groups: int = 4
    group_size: int = 128
    temperature: float = 1.0
    loss: str = "batch_wide"  # or "in_batch" (MultipleNegativesRankingLoss with twins masked)
    # The isometric head's near-uniform groups squeeze cosines into ~1/33 of the backbone's range (c^2 / (G*K + c^2)
    # for c = 4, G*K = 512), so the loss's scale and margin are 20 and 0.1 stretched by that factor: at scale 20
    # the fine-tune fell to MRR 0.199, at 600 it rose above base (bench/README.md, "Loss scale for the head").
    scale: float = LOSS_SCALE
    margin: float = 0.003
    tcm_weight: float = 0.0  # 0 switches TCM off
    # TCM's (m+, m-) in cosine: the paper's 0.9 and 0.5 by default. In the head's squeezed band every pair is above
    # 0.9, so those make every negative "hard" and no positive; 1 - a(1 - m) maps them into the band.
    tcm_margins: tuple[float, float] = (TCM_POSITIVE_MARGIN, TCM_NEGATIVE_MARGIN)
    backbone_lr: float = 3e-5
    head_lr: float = 1e-3
    warmup_fraction: float = 0.05
    max_seq_length: int = 64  # titles are short; descriptions are cut to their first sentences
    head_warmup_epochs: int = 0  # head-only epochs on cached backbone vectors first (cheap: big batches, many epochs)
    # "isometric": the head starts as a scaled orthonormal map, so its near-uniform softmax groups keep the
    # backbone's inner products and the model starts at the base encoder's ranking (bench/README.md: MRR 0.3557 vs
    # 0.3565 on the sample, against ~0.32 for trained random heads); "random": PyTorch's default Linear init.
    head_init: str = "isometric"
    head_init_scale: float = 4.0  # larger scales leave the softmax's linear range (16: MRR 0.337)
    head_warmup_batch_size: int = 1024
    max_minutes: float | None = None
    device: str = "cpu"
    seed: int = 0
    extra: dict = field(default_factory=dict)  # data hashes, pair counts: recorded, not used


@dataclass
class TrainReport:
    steps: int
    pairs_seen: int
    seconds: float
    stopped_early: bool
    final_loss: float | None  # None when no fine-tune step ran (head warm-up only)
    masked_negatives: float = 0.0  # mean share of in-batch negatives masked by the guide / crosswalk
    tcm_gradient_share: float | None = None  # TCM's share of the gradient norm at the embeddings (sampled)


SHARE_EVERY = 20  # steps between samples of TCM's gradient share (two small autograd calls at the embeddings)


def _gradient_share(terms: dict[str, torch.Tensor], outputs: tuple[torch.Tensor, ...]) -> float:
    """||d tcm / d embeddings|| / (||d pair|| + ||d tcm||): whether TCM's weight moves the model at all (at weight 1
    next to a scale-600 loss it carried 0.2-0.5%, so its OPIS effect was noise)."""
    norms = {}
    for name in ("pair", "tcm"):
        grads = torch.autograd.grad(terms[name], outputs, retain_graph=True, allow_unused=True)
        norms[name] = sum(float(g.norm()) for g in grads if g is not None)
    return norms["tcm"] / max(norms["pair"] + norms["tcm"], 1e-12)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _batches(pairs: list[Pair], batch_size: int) -> Iterator[list[Pair]]:
    """Batches in order, each group at most once (a deferred twin opens the next batch): more real negatives.
    Twins still deferred when the pairs run out get batches of their own, so every pair is seen once an epoch."""
    stream, carried = iter(pairs), deque()
    while True:
        batch, groups, deferred = [], set(), []
        while len(batch) < batch_size and (pair := carried.popleft() if carried else next(stream, None)) is not None:
            if pair.group in groups:
                deferred.append(pair)
            else:
                batch.append(pair)
                groups.add(pair.group)
        if len(batch) > 1:  # a lone pair has no negative to learn from
            yield batch
        if not deferred and len(batch) < batch_size:
            return
        carried.extendleft(reversed(deferred))


def build_model(config: TrainConfig):
    """The base model (its Normalize included: the head reads unit vectors) with a fresh softmax-group head."""
    from sentence_transformers import SentenceTransformer

    base = SentenceTransformer(config.base_model, device=config.device, local_files_only=True)
    if config.head == "none":
        return base
    if config.head != "softmax_groups":
        raise ValueError(f"head must be none or softmax_groups, not {config.head!r}")
    head = SoftmaxGroupHead(base.get_embedding_dimension(), config.groups, config.group_size, config.temperature)
    if config.head_init == "isometric":
        isometric_init(head.linear, scale=config.head_init_scale)
    elif config.head_init != "random":
        raise ValueError(f"head_init must be isometric or random, not {config.head_init!r}")
    return SentenceTransformer(modules=[*base._modules.values(), head], device=config.device)


def isometric_init(linear: torch.nn.Linear, *, scale: float) -> None:
    """Weights = scale x a random matrix with orthonormal columns (rows, when the head is narrower than its input),
    bias 0: inner products of the input survive the map, up to `scale` squared."""
    out_features, in_features = linear.weight.shape
    q, _ = torch.linalg.qr(torch.randn(max(out_features, in_features), min(out_features, in_features)))
    with torch.no_grad():
        linear.weight.copy_(scale * (q if out_features >= in_features else q.T))
        linear.bias.zero_()


def _loss(model, config: TrainConfig) -> PairLoss:
    return PairLoss(
        model,
        kind=config.loss,
        scale=config.scale,
        margin=config.margin,
        tcm_weight=config.tcm_weight,
        tcm_margins=tuple(config.tcm_margins),
    )


def warm_up_head(model, config: TrainConfig, pairs: list[Pair], progress=None) -> None:
    """Train the head alone on backbone vectors computed once: thousands of head steps for the price of one
    encoding pass, with batches large enough for the batch-wide loss to see ~10^6 negatives per step."""
    head, backbone = model[-1], [model[i] for i in range(len(model) - 1)]
    texts = sorted({p.anchor for p in pairs} | {p.positive for p in pairs})
    index = {text: i for i, text in enumerate(texts)}
    vectors = []
    with torch.no_grad():
        steps = range(0, len(texts), 256)
        for start in progress(steps) if progress else steps:
            features = model.preprocess(texts[start : start + 256])
            features = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in features.items()}
            for module in backbone:
                features = module(features)
            vectors.append(features["sentence_embedding"])
    cached = torch.cat(vectors)
    loss_fn = _loss(model, config)
    optimizer = torch.optim.AdamW(head.parameters(), lr=config.head_lr)
    labels_of: dict[str, int] = {}
    rng = random.Random(config.seed)
    for _ in range(config.head_warmup_epochs):
        order = pairs[:]
        rng.shuffle(order)
        for batch in _batches(order, config.head_warmup_batch_size):
            anchors = head({"sentence_embedding": cached[[index[p.anchor] for p in batch]]})["sentence_embedding"]
            positives = head({"sentence_embedding": cached[[index[p.positive] for p in batch]]})["sentence_embedding"]
            groups = torch.tensor([labels_of.setdefault(p.group, len(labels_of)) for p in batch], device=model.device)
            loss = loss_fn.pair_loss(anchors, positives, groups)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)


LONG_TEXT_CHARS = 80  # titles sit below it; the description positives (first sentences, up to 300 chars) above


def pooled(model, texts: list[str]) -> torch.Tensor:
    """The model's pooled vectors of texts, in order, short and long texts padded apart: in one padded batch every
    title runs at the length of the longest description (about 2.4x the tokens of a training step, same vectors)."""
    buckets = [[i for i, text in enumerate(texts) if (len(text) > LONG_TEXT_CHARS) == long] for long in (False, True)]
    buckets = [bucket for bucket in buckets if bucket]
    parts = []
    for bucket in buckets:
        features = model.preprocess([texts[i] for i in bucket])
        features = {k: v.to(model.device) if torch.is_tensor(v) else v for k, v in features.items()}
        parts.append(model(features)["sentence_embedding"])
    order = torch.tensor([i for bucket in buckets for i in bucket], device=parts[0].device)
    return torch.cat(parts)[torch.argsort(order)]


def guide_vectors(pairs: list[Pair], encode: Callable[[list[str]], np.ndarray]) -> dict[str, np.ndarray]:
    """Every text of the pairs under the frozen guide model (encoded once: the guide never changes)."""
    texts = sorted({p.anchor for p in pairs} | {p.positive for p in pairs})
    return dict(zip(texts, encode(texts), strict=True))


def ignored_pairs(
    batch: list[Pair], *, guide: dict[str, np.ndarray] | None, margin: float, related: dict[str, set[str]]
) -> torch.Tensor | None:
    """[B, B]: candidate j is no negative of anchor i when the guide scores it above i's own positive (minus margin),
    or the crosswalk relates their occupations."""
    ignore = torch.zeros((len(batch), len(batch)), dtype=torch.bool)
    if guide is not None:
        anchors = torch.from_numpy(np.stack([guide[p.anchor] for p in batch]))
        positives = torch.from_numpy(np.stack([guide[p.positive] for p in batch]))
        sims = anchors @ positives.T
        ignore |= sims > sims.diagonal()[:, None] - margin
    if related:
        for i, a in enumerate(batch):
            near = related.get(a.group)
            if near:
                for j, b in enumerate(batch):
                    ignore[i, j] |= b.group in near
    ignore.fill_diagonal_(False)
    return ignore if ignore.any() else None


def train(
    config: TrainConfig,
    pairs: list[Pair],
    out_dir: Path,
    *,
    progress: Callable[[Iterator], Iterator] | None = None,
    guide: Callable[[list[str]], np.ndarray] | None = None,
    related: dict[str, set[str]] | None = None,
) -> TrainReport:
    """Train, save a sentence-transformers model under out_dir, and a training.json beside it. `guide` encodes
    texts with the frozen guide model (used when config.guide); `related`: groups never negatives of each other."""
    set_seed(config.seed)
    model = build_model(config)
    serving_length = model.max_seq_length
    model.max_seq_length = config.max_seq_length
    if config.head_warmup_epochs and config.head != "none":
        warm_up_head(model, config, pairs, progress)
    loss_fn = _loss(model, config)
    head_params = {id(p) for p in model[-1].parameters()} if config.head != "none" else set()
    optimizer = torch.optim.AdamW([
        {"params": [p for p in model.parameters() if id(p) not in head_params], "lr": config.backbone_lr},
        {"params": [p for p in model.parameters() if id(p) in head_params], "lr": config.head_lr},
    ], weight_decay=0.01)  # fmt: skip
    per_epoch = max(1, len(pairs) // config.batch_size)
    total_steps = math.ceil(per_epoch * config.epochs)  # 0: the head warm-up alone
    guided = guide_vectors(pairs, guide) if config.guide and guide is not None and total_steps else None
    warmup = max(1, int(total_steps * config.warmup_fraction))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, (total_steps - step) / max(total_steps, 1))
    )
    labels_of: dict[str, int] = {}
    steps, seen, started, last_loss, stopped_early = 0, 0, time.monotonic(), None, False
    masked: list[float] = []  # per batch: the share of candidate pairs the guide or crosswalk kept from negatives
    tcm_shares: list[float] = []

    def epoch_batches() -> Iterator[list[Pair]]:
        for epoch in range(math.ceil(config.epochs)):
            order = pairs[:]
            random.Random(config.seed + epoch).shuffle(order)
            yield from _batches(order, config.batch_size)

    model.train()
    iterator = epoch_batches()
    bar = progress(range(total_steps)) if progress else range(total_steps)
    for _ in bar:
        batch = next(iterator, None)
        if batch is None:
            break
        if config.max_minutes is not None and time.monotonic() - started > config.max_minutes * 60:
            stopped_early = True
            break
        groups = torch.tensor([labels_of.setdefault(p.group, len(labels_of)) for p in batch], device=model.device)
        ignore = ignored_pairs(batch, guide=guided, margin=config.guide_margin, related=related or {})
        if ignore is not None:
            ignore = ignore.to(model.device)
            masked.append(float(ignore.sum()) / (len(batch) * (len(batch) - 1)))
        anchors, positives = (pooled(model, [getattr(p, side) for p in batch]) for side in ("anchor", "positive"))
        terms = loss_fn.terms(anchors, positives, groups, ignore)
        if "tcm" in terms and steps % SHARE_EVERY == 0:
            tcm_shares.append(_gradient_share(terms, (anchors, positives)))
        loss = sum(terms.values())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        steps, seen, last_loss = steps + 1, seen + len(batch), float(loss.detach())
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{last_loss:.3f}")
    model.eval()
    model.max_seq_length = serving_length
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    report = TrainReport(
        steps=steps,
        pairs_seen=seen,
        seconds=time.monotonic() - started,
        stopped_early=stopped_early,
        final_loss=last_loss,
        masked_negatives=float(np.mean(masked)) if masked else 0.0,
        tcm_gradient_share=float(np.mean(tcm_shares)) if tcm_shares else None,
    )
    (out_dir / "training.json").write_text(json.dumps({"config": asdict(config), "report": asdict(report)}, indent=2))
    return report
