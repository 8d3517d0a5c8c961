"""The training pairs and batches: every pair is seen, noise really changes text, the crosswalk joins taxonomies,
and the guide keeps likely synonyms out of the negatives."""

import random

import numpy as np
import torch

from matching.ml.data import Pair, noisy_title, ontology_pairs
from matching.ml.losses import group_masked_in_batch_loss
from matching.ml.train import _batches, ignored_pairs
from matching.reference_data import CROSSWALK_CSV, ESCO_CSV, ONET_TSV


def test_every_pair_is_batched_once_an_epoch_even_twins_deferred_to_the_end():
    pairs = [Pair(f"a{i}", f"p{i}", group=f"g{i % 3}") for i in range(30)]  # three groups: mostly twins
    batched = [pair for batch in _batches(pairs, batch_size=8) for pair in batch]
    assert sorted(batched, key=lambda p: p.anchor) == sorted(pairs, key=lambda p: p.anchor)


def test_no_batch_holds_two_pairs_of_one_group():
    pairs = [Pair(f"a{i}", f"p{i}", group=f"g{i % 5}") for i in range(40)]
    for batch in _batches(pairs, batch_size=4):
        assert len({p.group for p in batch}) == len(batch)


def test_a_noisy_title_differs_in_more_than_case():
    rng = random.Random(0)
    titles = ["registered nurse", "software developer", "warehouse worker", "chief executive officer"] * 250
    noisy = [noisy_title(title, rng) for title in titles]
    only_case = sum(n != t and n.lower() == t.lower() for n, t in zip(noisy, titles, strict=True))
    assert only_case == 0  # the tokenizer lower-cases: a change of case alone is no noise at all
    assert sum(n != t for n, t in zip(noisy, titles, strict=True)) > 0.3 * len(titles)


def test_the_crosswalk_joins_exactly_matched_onet_titles_to_their_esco_occupation_and_relates_the_rest():
    plain = ontology_pairs(esco=ESCO_CSV, onet=ONET_TSV, seed=0)
    joined = ontology_pairs(esco=ESCO_CSV, onet=ONET_TSV, crosswalk=CROSSWALK_CSV, seed=0)
    assert joined.merged_by_crosswalk > 400 and joined.groups == plain.groups - joined.merged_by_crosswalk
    assert not any(p.group.startswith("onet:") and p.group in joined.related.get(p.group, ()) for p in joined.pairs)
    onet, esco = next((a, b) for a, near in joined.related.items() if a.startswith("onet:") for b in near)
    assert onet in joined.related[esco]  # symmetric: neither is ever the other's negative


def test_the_guide_masks_a_negative_it_scores_above_the_pairs_own_positive():
    batch = [Pair("nurse", "registered nurse", "a"), Pair("rn", "nurse practitioner", "b"), Pair("cook", "chef", "c")]
    guide = {text: vector for text, vector in zip(
        ["nurse", "registered nurse", "rn", "nurse practitioner", "cook", "chef"],
        np.array([[1, 0], [0.8, 0.6], [0.9, 0.1], [0.95, 0.31], [0, 1], [0.1, 0.99]], dtype=np.float32),
        strict=True,
    )}  # fmt: skip
    ignore = ignored_pairs(batch, guide=guide, margin=0.0, related={})
    assert ignore.tolist() == [[False, True, False], [False, False, False], [False, False, False]]


def test_a_masked_negative_drops_out_of_its_anchors_softmax():
    anchors = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    positives = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # the second positive is a synonym of the first anchor's
    groups = torch.tensor([0, 1])
    ignore = torch.tensor([[False, True], [False, False]])
    log2 = float(np.log(2))
    unmasked = group_masked_in_batch_loss(anchors, positives, groups)  # row 0 ties its positive with the synonym
    masked = group_masked_in_batch_loss(anchors, positives, groups, ignore=ignore)  # row 0 has nothing to beat
    assert (round(float(unmasked), 4), round(float(masked), 4)) == (round(log2, 4), round(log2 / 2, 4))


def test_titles_and_descriptions_are_padded_apart_and_keep_their_vectors_and_order():
    from sentence_transformers import SentenceTransformer

    from matching.ml.encoder import BASE_MODEL, resolve_model_path
    from matching.ml.train import pooled

    model = SentenceTransformer(str(resolve_model_path(BASE_MODEL)), device="cpu").eval()
    texts = ["registered nurse", "Nurses care for patients in hospitals, clinics and homes. " * 3, "welder", "chef"]
    padded_lengths, preprocess = [], model.preprocess

    def counted(batch, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        padded_lengths.append(len(batch))
        return preprocess(batch, *args, **kwargs)

    model.preprocess = counted
    with torch.no_grad():
        together = model.encode(texts, convert_to_tensor=True, batch_size=len(texts))
        apart = pooled(model, texts)
    assert padded_lengths[-2:] == [3, 1]  # the three titles in one batch, the description in its own
    assert torch.allclose(apart, together, atol=1e-5)
