"""Word-LM fusion: the word context of a masked position, the candidate scores and the fused logits,
checked by hand on a toy trigram model and a toy WordPiece vocabulary."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.fluency import BOS, EOS, UNK, NgramLM
from training.sampler import DecodeConfig, iterative_decode
from training.word_fusion import MASKED, WordFusion

CORPUS = ["the cat sat .", "the dog sat .", "a cat ran .", "the catnip sat ."]
# toy vocabulary: 0 [PAD], 1 [CLS], 2 [SEP], 3 [MASK], 4 [L], then words and one continuation piece
VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[L]", "the", "cat", "dog", "sat", "ran", ".", "a", "##nip"]
TOK = {t: i for i, t in enumerate(VOCAB)}
PAD, CLS, SEP, MASK, LABEL = range(5)


@pytest.fixture(scope="module")
def lm() -> NgramLM:
    return NgramLM.train(CORPUS, min_count=1)


@pytest.fixture(scope="module")
def fusion(lm) -> WordFusion:
    return WordFusion(lm, VOCAB, text_start=3, special_ids=[SEP, PAD])


def prompt(*tokens: str) -> list[int]:
    return [CLS, LABEL, SEP, *(TOK[t] for t in tokens), SEP]


def test_probs_known_backs_off_to_the_lower_orders(lm):
    every = np.arange(lm.size)
    the, cat = lm.vocab["the"], lm.vocab["cat"]
    p_bigram = lm.probs_known(np.full(lm.size, -1), np.full(lm.size, the), every)
    p_unigram = lm.probs_known(np.full(lm.size, -1), np.full(lm.size, -1), every)
    assert p_bigram.sum() == pytest.approx(1.0) and p_unigram.sum() == pytest.approx(1.0)
    # the known (u, v) agrees with probs; the lower orders differ from it
    full = lm.probs_known(np.array([BOS]), np.array([the]), np.array([cat]))[0]
    assert full == pytest.approx(lm.probs(np.array([BOS]), np.array([the]), np.array([cat]))[0])
    assert p_bigram[cat] != pytest.approx(full)
    # unigram: continuation count of "cat" (after "the" and "a") + 1 over distinct bigrams + vocabulary
    distinct_bigrams = int(lm.uni_total)
    assert p_unigram[cat] == pytest.approx((2 + 1) / (distinct_bigrams + lm.size))


def test_context_of_masked_positions(fusion, lm):
    # [CLS] [L] [SEP] the cat ##nip [MASK] . [SEP]: "catnip" is one word; the masked word has it and
    # "the" before it, "." and the end after it
    ids = torch.tensor([prompt("the", "cat", "##nip", "sat", ".")])
    still = torch.zeros_like(ids, dtype=torch.bool)
    still[0, 6] = True  # "sat"
    still[0, 3] = True  # "the"
    ctx = fusion.context(ids, still, still.nonzero())
    # position 3 (first text word): two sentence starts before it; "catnip", then the masked word after it
    assert (ctx.left2[0], ctx.left1[0], ctx.right1[0], ctx.right2[0]) == (BOS, BOS, lm.vocab["catnip"], MASKED)
    # position 6: the masked "the" and "catnip" before it; "." and the end after it
    assert (ctx.left2[1], ctx.left1[1], ctx.right1[1], ctx.right2[1]) == (MASKED, lm.vocab["catnip"], lm.vocab["."], EOS)
    assert not ctx.glued.any()


def test_a_word_followed_by_a_written_continuation_piece_is_glued(fusion):
    ids = torch.tensor([prompt("the", "cat", "##nip", "sat", ".")])
    still = torch.zeros_like(ids, dtype=torch.bool)
    still[0, 4] = True  # "cat" of "catnip"
    ctx = fusion.context(ids, still, still.nonzero())
    assert ctx.glued.tolist() == [True]


def test_candidate_scores_are_the_three_trigram_terms(fusion, lm):
    ids = torch.tensor([prompt("the", "cat", "sat", ".")])
    still = torch.zeros_like(ids, dtype=torch.bool)
    still[0, 4] = True  # "cat"
    ctx = fusion.context(ids, still, still.nonzero())
    cands = np.array([[TOK["cat"], TOK["ran"], TOK["##nip"]]])
    got = fusion.candidate_scores(ctx, cands)

    def p(u, v, w):
        return float(lm.probs(np.array([u]), np.array([v]), np.array([w]))[0])

    the, sat, dot = lm.vocab["the"], lm.vocab["sat"], lm.vocab["."]
    for column, word in ((0, lm.vocab["cat"]), (1, lm.vocab["ran"]), (2, UNK)):
        expected = np.log(p(BOS, the, word)) + np.log(p(the, word, sat)) + np.log(p(word, sat, dot))
        assert got[0, column] == pytest.approx(expected)
    assert got[0, 0] > got[0, 1]  # "the cat sat" was seen, "the ran sat" never


def test_apply_keeps_only_scored_candidates_and_can_flip_the_choice(fusion):
    ids = torch.tensor([prompt("the", "cat", "sat", ".")])
    still = torch.zeros_like(ids, dtype=torch.bool)
    still[0, 4] = True
    logits = torch.full((1, len(VOCAB)), -5.0)
    logits[0, TOK["ran"]] = 2.0  # the generator prefers "the ran sat ."
    logits[0, TOK["cat"]] = 1.0
    fused = logits.clone()
    fusion.apply(fused, ids, still, still.nonzero(), weight=0.0)
    assert torch.equal(fused, logits)  # weight 0 changes nothing
    fusion.apply(fused, ids, still, still.nonzero(), weight=1.0)
    assert int(fused.argmax()) == TOK["cat"]
    assert torch.isfinite(fused).sum() == min(len(VOCAB), 64)


def test_iterative_decode_refuses_a_weight_without_a_model():
    ids = torch.tensor([prompt("the", "cat", "sat", ".")])
    masked = torch.zeros_like(ids, dtype=torch.bool)
    masked[0, 4] = True
    with pytest.raises(ValueError, match="word trigram model"):
        iterative_decode(
            lambda i, a, p: torch.zeros((len(p), len(VOCAB))),
            ids,
            torch.ones_like(ids),
            masked=masked,
            uniforms=torch.zeros((1, 8, ids.shape[1])),
            banned=torch.zeros(len(VOCAB), dtype=torch.bool),
            config=DecodeConfig(word_lm_weight=1.0),
            mask_id=MASK,
        )


def test_iterative_decode_with_fusion_writes_the_word_the_trigram_model_knows(fusion):
    # a generator with no opinion (flat logits over the words): greedy fused decoding of
    # "the [MASK] sat ." picks a word that was seen between "the" and "sat"
    ids = torch.tensor([prompt("the", "ran", "sat", ".")])
    masked = torch.zeros_like(ids, dtype=torch.bool)
    masked[0, 4] = True
    banned = torch.zeros(len(VOCAB), dtype=torch.bool)
    banned[:5] = True
    new = iterative_decode(
        lambda i, a, p: torch.zeros((len(p), len(VOCAB))),
        ids,
        torch.ones_like(ids),
        masked=masked,
        uniforms=torch.zeros((1, 8, ids.shape[1])),
        banned=banned,
        config=DecodeConfig(temperature=0.0, word_lm_weight=1.0),
        mask_id=MASK,
        word_fusion=fusion,
    )
    assert VOCAB[int(new[0, 4])] in ("cat", "dog")
