"""Losses over (anchor, positive) pairs carrying a group id; two texts of one group are never a negative pair.

Pure functions over tensors, wrapped as nn.Modules with sentence-transformers' loss signature
(`forward(sentence_features, labels)`), so they train under SentenceTransformerTrainer or our own loop.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

TCM_POSITIVE_MARGIN, TCM_NEGATIVE_MARGIN = 0.9, 0.5  # m+ and m- from Zhang et al. (ICLR 2024), section 5.2


def _similarities(
    anchors: Tensor, positives: Tensor, groups: Tensor, ignore: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """Cosine matrix [B, B], the mask of negative pairs (different groups, not ignored), and of positive pairs.

    `ignore` [B, B] marks pairs that are neither: a guide model scores them above the anchor's own positive (a
    likely synonym; GISTEmbed) or the crosswalk relates their occupations. They add no gradient either way."""
    sims = F.normalize(anchors, dim=-1) @ F.normalize(positives, dim=-1).T
    same_group = groups[:, None] == groups[None, :]
    negative = ~same_group if ignore is None else ~same_group & ~ignore
    return sims, negative, same_group


def batch_wide_pair_loss(
    anchors: Tensor,
    positives: Tensor,
    groups: Tensor,
    *,
    scale: float = 20.0,
    margin: float = 0.1,
    ignore: Tensor | None = None,
) -> Tensor:
    """The seed's loss: every negative pair in the batch is penalised when it scores above any positive pair.

    For each positive pair k: softplus(logsumexp over the batch's B^2 - B negative pairs (fewer where groups mask
    twins) of scale*(s_n + margin) - scale*s_k), a smooth form of sum_n max(0, s_n + margin - s_k): B^2 - B
    comparisons per positive, B*(B^2 - B) per batch, where an in-batch softmax compares each anchor with its own
    row's B candidates only (B^2 per batch).
    """
    sims, negative, _ = _similarities(anchors, positives, groups, ignore)
    if not negative.any():
        return sims.new_zeros(())
    negatives = torch.logsumexp(scale * (sims[negative] + margin), dim=0)
    return F.softplus(negatives - scale * sims.diagonal()).mean()


def group_masked_in_batch_loss(
    anchors: Tensor, positives: Tensor, groups: Tensor, *, scale: float = 20.0, ignore: Tensor | None = None
) -> Tensor:
    """MultipleNegativesRankingLoss with twins masked: cross-entropy over each anchor's row of B candidates."""
    sims, negative, _ = _similarities(anchors, positives, groups, ignore)
    own = torch.eye(len(groups), dtype=torch.bool, device=sims.device)
    logits = (scale * sims).masked_fill(~negative & ~own, float("-inf"))  # a duplicate title is not a wrong answer
    return F.cross_entropy(logits, torch.arange(len(groups), device=sims.device))


def threshold_consistent_margin(
    anchors: Tensor,
    positives: Tensor,
    groups: Tensor,
    *,
    positive_margin: float = TCM_POSITIVE_MARGIN,
    negative_margin: float = TCM_NEGATIVE_MARGIN,
    ignore: Tensor | None = None,
) -> Tensor:
    """TCM: mean shortfall of hard positives below m+ plus mean excess of hard negatives above m-; empty sets add 0."""
    sims, negative, positive = _similarities(anchors, positives, groups, ignore)
    hard_positive = sims[positive][sims[positive] <= positive_margin]
    hard_negative = sims[negative][sims[negative] >= negative_margin]
    loss = sims.new_zeros(())
    if hard_positive.numel():
        loss = loss + (positive_margin - hard_positive).mean()
    if hard_negative.numel():
        loss = loss + (hard_negative - negative_margin).mean()
    return loss


class PairLoss(nn.Module):
    """A pair loss plus an optional TCM term, in sentence-transformers' loss interface (labels = group ids)."""

    def __init__(
        self,
        model: nn.Module,
        *,
        kind: str = "batch_wide",
        scale: float = 20.0,
        margin: float = 0.1,
        tcm_weight: float = 0.0,
        tcm_margins: tuple[float, float] = (TCM_POSITIVE_MARGIN, TCM_NEGATIVE_MARGIN),
    ) -> None:
        super().__init__()
        if kind not in {"batch_wide", "in_batch"}:
            raise ValueError(f"unknown loss kind {kind!r}")
        self.model, self.kind, self.scale, self.margin, self.tcm_weight = model, kind, scale, margin, tcm_weight
        self.tcm_margins = tcm_margins

    def forward(
        self, sentence_features: list[dict[str, Tensor]], labels: Tensor, ignore: Tensor | None = None
    ) -> Tensor:
        anchors, positives = (self.model(features)["sentence_embedding"] for features in sentence_features)
        return self.pair_loss(anchors, positives, labels, ignore)

    def pair_loss(self, anchors: Tensor, positives: Tensor, groups: Tensor, ignore: Tensor | None = None) -> Tensor:
        return sum(self.terms(anchors, positives, groups, ignore).values())

    def terms(
        self, anchors: Tensor, positives: Tensor, groups: Tensor, ignore: Tensor | None = None
    ) -> dict[str, Tensor]:
        """The loss's parts, weighted: {"pair": ..., "tcm": ...} (training logs each one's share of the gradient)."""
        if self.kind == "batch_wide":
            pair = batch_wide_pair_loss(anchors, positives, groups, scale=self.scale, margin=self.margin, ignore=ignore)
        else:
            pair = group_masked_in_batch_loss(anchors, positives, groups, scale=self.scale, ignore=ignore)
        terms = {"pair": pair}
        if self.tcm_weight:
            positive_margin, negative_margin = self.tcm_margins
            terms["tcm"] = self.tcm_weight * threshold_consistent_margin(
                anchors,
                positives,
                groups,
                positive_margin=positive_margin,
                negative_margin=negative_margin,
                ignore=ignore,
            )
        return terms
