import math

import pytest
import torch

from training.sampler import (
    DecodeConfig,
    ban_neighbour_repeats,
    candidate_distribution,
    commit_counts,
    drop_same_round_twins,
    hold_same_round_repeats,
    iterative_decode,
    log_sum_exp_rows,
    penalise_repeats,
    sample_candidates,
    select_most_confident,
)

NO_BAN = torch.zeros(0, dtype=torch.long)


def logits():
    return torch.tensor([[2.0, 1.0, 0.0, -1.0]])  # a fresh copy: candidate_distribution consumes it


def normalised(weights):
    return weights / weights.sum(-1, keepdim=True)


def test_top_k_keeps_the_k_best_renormalised():
    ids, probs = candidate_distribution(logits(), NO_BAN, temperature=1.0, top_k=2, top_p=1.0)
    probs = normalised(probs)
    assert ids.tolist() == [[0, 1]]
    e = math.e
    assert torch.allclose(probs, torch.tensor([[e / (e + 1), 1 / (e + 1)]]), atol=1e-6)


def test_top_p_keeps_the_smallest_prefix_reaching_p():
    full = torch.softmax(logits(), -1)[0]  # 0.644, 0.237, 0.087, 0.032
    ids, probs = candidate_distribution(logits(), NO_BAN, temperature=1.0, top_k=0, top_p=0.5)
    assert ids[0, 0] == 0 and torch.allclose(normalised(probs)[0], torch.tensor([1.0, 0, 0, 0]))
    ids, probs = candidate_distribution(logits(), NO_BAN, temperature=1.0, top_k=0, top_p=0.7)
    kept = full[:2] / full[:2].sum()
    assert ids[0, :2].tolist() == [0, 1]
    assert torch.allclose(normalised(probs)[0, :2], kept, atol=1e-6) and probs[0, 2:].sum() == 0


def test_temperature_flattens_and_banned_tokens_get_no_mass():
    ids, probs = candidate_distribution(logits(), torch.tensor([0]), temperature=2.0, top_k=0, top_p=1.0)
    assert ids is None  # every id is a candidate
    probs = normalised(probs)
    assert probs[0, 0] == 0
    expected = torch.softmax(torch.tensor([1.0, 0.5, 0.0, -0.5])[1:], -1)
    assert torch.allclose(probs[0, 1:], expected, atol=1e-6)


def test_greedy_takes_the_best_allowed_token():
    ids, probs = candidate_distribution(logits(), torch.tensor([0]), temperature=0.0, top_k=0, top_p=1.0)
    assert ids.tolist() == [[1]] and probs.tolist() == [[1.0]]


@pytest.mark.parametrize(("u", "token"), [(0.1, 5), (0.4999, 5), (0.5, 6), (0.85, 7), (0.9999, 7)])
def test_inverse_cdf_sampling(u, token):
    ids, probs = torch.tensor([[5, 6, 7]]), torch.tensor([[0.5, 0.3, 0.2]])
    got, p = sample_candidates(ids, probs, torch.tensor([u]))
    assert got.item() == token
    assert p.item() == pytest.approx({5: 0.5, 6: 0.3, 7: 0.2}[token])


def test_unnormalised_weights_and_full_vocabulary_candidates():
    got, p = sample_candidates(None, torch.tensor([[5.0, 3.0, 2.0]]), torch.tensor([0.6]))
    assert got.item() == 1 and p.item() == pytest.approx(0.3)


def test_nucleus_wider_than_the_windows_matches_a_full_sort():
    from training import sampler

    first, second = sampler.NUCLEUS_WINDOWS
    torch.manual_seed(0)
    vocab = second * 3
    rows = torch.randn(4, vocab) * 0.1  # nearly uniform: the 0.9 nucleus spans ~0.9 of the vocabulary
    rows[0, 7] = 20.0  # row 0: a nucleus of one candidate, inside the first window
    rows[1, : first * 3] += 12.0  # row 1: a nucleus past the first window, inside the second
    rows[2, : first // 2] += 12.0  # row 2: inside the first window, but wider than one
    ids, weights = candidate_distribution(rows.clone(), NO_BAN, temperature=1.0, top_k=0, top_p=0.9)
    assert ids.shape[1] > second  # row 3 was sorted in full
    assert ids[0, 0] == 7 and (weights[0, 1:] == 0).all()
    values, order = rows.sort(-1, descending=True)
    probs = torch.softmax(values, -1)
    expected = probs.masked_fill(probs.cumsum(-1) - probs >= 0.9, 0.0)
    kept = (expected > 0).sum(-1)
    assert 1 < kept[2] <= first < kept[1] <= second < kept[3]
    for row in range(4):
        k = int(kept[row])
        assert set(ids[row, :k].tolist()) == set(order[row, :k].tolist())  # ties may swap places
        assert torch.allclose(weights[row, :k].sort(descending=True).values, expected[row, :k], atol=1e-6)
        assert (weights[row, k:] == 0).all()


def test_log_sum_exp_rows_by_hand_and_beside_torch():
    # row 1: e^0 + e^ln3 = 4, the -inf adds nothing; row 2: e^2 + e^2 = 2e^2, -200 is below the clamp
    # (its e^-202 is not there to see in float32 either)
    logits = torch.tensor([[0.0, math.log(3.0), -math.inf], [2.0, -200.0, 2.0]])
    got = log_sum_exp_rows(logits)
    assert got.shape == (2, 1)
    assert got[:, 0].tolist() == pytest.approx([math.log(4.0), 2.0 + math.log(2.0)], abs=1e-6)
    banned = torch.randn(64, 500).index_fill_(-1, torch.arange(0, 500, 3), -math.inf)
    assert torch.allclose(log_sum_exp_rows(banned), torch.logsumexp(banned, -1, keepdim=True), atol=1e-6)


def test_commit_counts_are_ceil_of_remaining_over_rounds_left():
    assert commit_counts(torch.tensor([5, 4, 0, 1]), 4).tolist() == [2, 1, 0, 1]
    assert commit_counts(torch.tensor([5, 4, 0, 1]), 1).tolist() == [5, 4, 0, 1]


def test_select_most_confident_respects_counts_and_eligibility():
    conf = torch.tensor([[0.1, -math.inf, 0.9, 0.5], [0.5, 0.5, 0.5, -math.inf]])
    chosen = select_most_confident(conf, torch.tensor([2, 1]))
    assert chosen.tolist() == [[False, False, True, True], [True, False, False, False]]
    # Asking for more than there are eligible positions never selects an ineligible one.
    assert select_most_confident(conf, torch.tensor([4, 4]))[:, 3].tolist() == [True, False]


class RecordingLogits:
    """A fixed logit table per position; records how many positions each round asked for."""

    def __init__(self, table: torch.Tensor):
        self.table = table  # (L, V)
        self.calls: list[int] = []

    def __call__(self, ids, attention, positions):
        self.calls.append(positions.shape[0])
        return self.table[positions[:, 1]]


def decode_table(fn: RecordingLogits, ids, masked, config: DecodeConfig, *, mask_id: int):
    """iterative_decode of one chain over a fixed logit table: every position attended, no token
    banned, the uniform 0.5 in every round."""
    return iterative_decode(
        fn,
        ids,
        torch.ones_like(ids),
        masked=masked,
        uniforms=torch.full((1, config.rounds, ids.shape[1]), 0.5),
        banned=torch.zeros(fn.table.shape[1], dtype=torch.bool),
        config=config,
        mask_id=mask_id,
    )


def test_decode_commits_most_confident_first_and_fills_everything():
    table = torch.full((5, 6), -10.0)
    # Position 1 is very sure of token 3, position 2 fairly sure of 4, position 3 unsure of 5.
    table[1, 3], table[2, 4], table[3, 5] = 10.0, 3.0, 0.5
    fn = RecordingLogits(table)
    ids = torch.tensor([[1, 2, 2, 2, 0]])
    masked = torch.tensor([[False, True, True, True, False]])
    out = decode_table(
        fn, ids, masked, DecodeConfig(guidance_scale=1.0, rounds=2, temperature=0.0), mask_id=2
    )
    assert out.tolist() == [[1, 3, 4, 5, 0]]
    assert fn.calls == [3, 1]  # round 1 commits ceil(3/2) = 2, round 2 the last one


def test_neighbour_repeats_are_banned_only_beside_written_tokens():
    # ids: [CLS=1, 7, MASK, 8, MASK, SEP=2]: position 2 sits between written 7 and 8, position 4
    # between written 8 and SEP 2.
    ids = torch.tensor([[1, 7, 0, 8, 0, 2]])
    still = torch.tensor([[False, False, True, False, True, False]])
    positions = still.nonzero()
    out = ban_neighbour_repeats(torch.zeros(2, 10), ids, still, positions=positions)
    assert out[0].isinf().nonzero().flatten().tolist() == [7, 8]
    assert out[1].isinf().nonzero().flatten().tolist() == [2, 8]
    # neighbours not yet written ban nothing
    ids = torch.tensor([[1, 0, 0, 2]])
    still = torch.tensor([[False, True, True, False]])
    out = ban_neighbour_repeats(torch.zeros(2, 5), ids, still, positions=still.nonzero())
    assert out[0].isinf().nonzero().flatten().tolist() == [1]
    assert out[1].isinf().nonzero().flatten().tolist() == [2]


def test_repeat_penalty_divides_by_the_penalty_once_per_copy_of_a_written_or_kept_token():
    # row 0: [CLS=1, 7, MASK, 7, 8, PAD=3 (attention 0)]; token 7 twice, 8 once, CLS once; the PAD
    # and the masked slot count for nothing.
    ids = torch.tensor([[1, 7, 0, 7, 8, 3]])
    still = torch.tensor([[False, False, True, False, False, False]])
    attention = torch.tensor([[1, 1, 1, 1, 1, 0]])
    out = penalise_repeats(torch.zeros(1, 10), ids, still, attention, positions=still.nonzero(), penalty=2.0)
    expected = torch.zeros(10)
    expected[7] = -2 * math.log(2.0)  # probability / 4
    expected[8] = expected[1] = -math.log(2.0)  # probability / 2
    assert torch.allclose(out[0], expected)
    # penalty 1 leaves the logits as they are
    same = penalise_repeats(torch.ones(1, 10), ids, still, attention, positions=still.nonzero(), penalty=1.0)
    assert torch.equal(same, torch.ones(1, 10))


def test_same_round_copies_of_a_content_word_keep_only_the_most_confident():
    # one row: positions 1, 3 and 5 commit content word 7 (confidences 0.2, 0.9, 0.9), positions 2
    # and 4 function word 8, position 6 content word 9 once, position 0 word 7 but not committed.
    tokens = torch.tensor([[7, 7, 8, 7, 8, 7, 9]])
    commit = torch.tensor([[False, True, True, True, True, True, True]])
    confidence = torch.tensor([[0.99, 0.2, 0.5, 0.9, 0.5, 0.9, 0.1]])
    content = torch.zeros(10, dtype=torch.bool)
    content[[7, 9]] = True
    kept = hold_same_round_repeats(commit, tokens, confidence, content)
    # 7 at 3 and 5 tie on 0.9: the earlier (3) stays; 1 is less confident; the two 8s are function words
    assert kept.tolist() == [[False, False, True, True, True, False, True]]
    single = torch.tensor([[False, True, True, False, True, False, True]])  # one copy of each: untouched
    assert torch.equal(hold_same_round_repeats(single, tokens, confidence, content), single)


def test_decode_with_a_repeat_penalty_takes_the_next_best_new_token():
    table = torch.full((6, 7), -10.0)
    table[3, 4] = 2.0  # position 3 wants token 4, already kept at position 1 (not beside it)
    table[3, 6] = 1.5  # a new token, e^0.5 = 1.65 times less likely before the penalty
    ids = torch.tensor([[1, 4, 5, 0, 2, 2]])
    masked = torch.tensor([[False, False, False, True, False, False]])

    def decode(penalty):
        return decode_table(
            RecordingLogits(table),
            ids,
            masked,
            DecodeConfig(guidance_scale=1.0, rounds=1, temperature=0.0, repetition_penalty=penalty),
            mask_id=0,
        )[0, 3].item()

    assert decode(1.0) == 4
    assert decode(2.0) == 6  # 2.0 - ln 2 = 1.31 < 1.5


def test_decode_never_writes_a_content_word_the_text_holds_nor_one_twice_in_a_round():
    # [CLS=1, 4, 3, M, 3, M, 8, M, SEP=2]; content words 4 and 6; 3 and 8 are function words.
    # Two rounds: the first commits the two surest positions, 5 and 7, both sure of 6; only the surer
    # (5) keeps it, and 7, sampled again in the second round with 6 in the text, takes 3.
    table = torch.full((9, 9), -20.0)
    table[3, 4], table[3, 7], table[3, 5] = 9.0, 1.0, -1.0  # wants 4, kept at position 1: takes 7
    table[5, 6] = 10.0  # wants 6, the surer of the two that do: keeps it
    table[7, 6], table[7, 3] = 8.0, 4.0  # wants 6 too: takes 3, a function word already in the text
    ids = torch.tensor([[1, 4, 3, 0, 3, 0, 8, 0, 2]])
    masked = ids == 0
    content = torch.zeros(9, dtype=torch.bool)
    content[[4, 6]] = True

    def decode(ban):
        config = DecodeConfig(
            guidance_scale=1.0, rounds=2, temperature=1.0, top_p=1.0, ban_content_repeats=ban
        )
        return iterative_decode(
            RecordingLogits(table),
            ids,
            torch.ones_like(ids),
            masked=masked,
            uniforms=torch.full((1, 2, 9), 0.5),
            banned=torch.zeros(9, dtype=torch.bool),
            config=config,
            mask_id=0,
            content=content,
        )[0, [3, 5, 7]].tolist()

    assert decode(False) == [4, 6, 6]  # as decoding was before the rule
    assert decode(True) == [7, 6, 3]


def test_decode_with_a_prior_correction_subtracts_its_share_of_the_shift():
    table = torch.full((4, 6), -10.0)
    table[2, 4] = 2.0  # position 2 wants token 4, whose prior fine-tuning raised by ln 8
    table[2, 5] = 1.0
    shift = torch.zeros(6)
    shift[4] = math.log(8.0)
    ids = torch.tensor([[1, 3, 0, 2]])
    masked = torch.tensor([[False, False, True, False]])

    def decode(correction, given_shift=shift):
        return iterative_decode(
            RecordingLogits(table),
            ids,
            torch.ones_like(ids),
            masked=masked,
            uniforms=torch.full((1, 1, 4), 0.5),
            banned=torch.zeros(6, dtype=torch.bool),
            config=DecodeConfig(guidance_scale=1.0, rounds=1, temperature=0.0, prior_correction=correction),
            mask_id=0,
            prior_shift=given_shift,
        )[0, 2].item()

    assert decode(0.0) == 4  # off
    assert decode(0.4) == 4  # 2.0 - 0.4 ln 8 = 1.17 > 1.0
    assert decode(0.5) == 5  # 2.0 - 0.5 ln 8 = 0.96 < 1.0
    assert decode(1.0, None) == 4  # no shift measured (a checkpoint fitted before): nothing to correct


def test_same_round_twins_keep_only_the_earlier():
    commit = torch.tensor([[False, True, True, True, False, True]])
    tokens = torch.tensor([[0, 5, 5, 5, 6, 6]])  # 5 5 5 committed together; the 6s: one not committed
    kept = drop_same_round_twins(commit, tokens)
    assert kept.tolist() == [[False, True, False, False, False, True]]
    assert drop_same_round_twins(commit, torch.arange(6)[None]) is commit  # no twins: unchanged


def test_decode_draws_a_same_round_twin_again_beside_its_written_neighbour():
    table = torch.full((6, 8), -10.0)
    table[1, 5] = table[2, 5] = 10.0  # positions 1 and 2 both want token 5, surely: same round
    table[2, 6] = 5.0  # position 2's next choice
    table[3, 7] = table[4, 3] = 1.0  # positions 3 and 4: tokens of their own
    fn = RecordingLogits(table)
    ids = torch.tensor([[1, 0, 0, 0, 0, 2]])
    masked = torch.tensor([[False, True, True, True, True, False]])
    out = decode_table(
        fn,
        ids,
        masked,
        DecodeConfig(guidance_scale=1.0, rounds=2, temperature=0.0, repetition_penalty=1.0),
        mask_id=0,
    )
    # round 1 commits two positions, 1 and 2, both with 5: position 2 waits; round 2 fills 2, 3 and 4
    assert fn.calls == [4, 3]
    assert out[0, 1:3].tolist() == [5, 6]


def test_a_twin_in_the_last_round_takes_one_pass_more_and_nothing_stays_masked():
    # Sampled at T = 1 (greedy gives every position confidence 1, and ties go to the earlier one)
    table = torch.full((6, 8), -10.0)
    table[1, 5] = table[4, 4] = 20.0  # round 1 commits positions 1 and 4, the surest
    table[2, 6] = 3.0  # then 2 and 3 together in the last round, both drawing 6 at u = 0.5
    table[3, 6], table[3, 7] = 3.0, 2.5  # position 3: 6 (p 0.62) or 7
    fn = RecordingLogits(table)
    ids = torch.tensor([[1, 0, 0, 0, 0, 2]])
    masked = torch.tensor([[False, True, True, True, True, False]])
    out = decode_table(
        fn,
        ids,
        masked,
        DecodeConfig(guidance_scale=1.0, rounds=2, temperature=1.0, top_p=1.0, repetition_penalty=1.0),
        mask_id=0,
    )
    assert fn.calls == [4, 2, 1]
    assert out[0].tolist() == [1, 5, 6, 7, 4, 2]


def test_decode_never_repeats_the_token_beside_it():
    table = torch.full((5, 6), -10.0)
    table[2, 3] = 10.0  # position 2 wants token 3, which is already written at position 1
    table[2, 5] = 5.0  # its next choice
    ids = torch.tensor([[1, 3, 2, 4, 0]])
    masked = torch.tensor([[False, False, True, False, False]])
    out = decode_table(
        RecordingLogits(table),
        ids,
        masked,
        DecodeConfig(guidance_scale=1.0, rounds=1, temperature=0.0),
        mask_id=2,
    )
    assert out.tolist() == [[1, 3, 5, 4, 0]]


def test_decode_with_one_round_is_one_shot():
    fn = RecordingLogits(torch.randn(6, 9))
    ids = torch.tensor([[1, 2, 2, 2, 2, 0]])
    masked = torch.tensor([[False, True, True, True, True, False]])
    iterative_decode(
        fn,
        ids,
        torch.ones_like(ids),
        masked=masked,
        uniforms=torch.rand(1, 1, 6),
        banned=torch.zeros(9, dtype=torch.bool),
        config=DecodeConfig(guidance_scale=1.0, rounds=1),
        mask_id=2,
    )
    assert fn.calls == [4]


def test_classifier_free_guidance_mixes_conditional_and_null_passes():
    # tokens 3-7 exist (7 is the label beside the masked position) but are never likely
    never = [-1e4] * 5
    cond, uncond = torch.tensor([0.0, 1.0, 0.9, *never]), torch.tensor([0.0, 0.0, 1.5, *never])

    def fn(ids, attention, positions):
        is_null = ids[positions[:, 0], 0] == 99  # label position 0 holds 99 in the null pass
        return torch.where(is_null[:, None], uncond, cond)

    ids = torch.tensor([[7, 0]])
    masked = torch.tensor([[False, True]])

    def run(scale):
        return iterative_decode(
            fn,
            ids,
            torch.ones_like(ids),
            masked=masked,
            uniforms=torch.zeros(1, 1, 2),
            banned=torch.zeros(8, dtype=torch.bool),
            config=DecodeConfig(rounds=1, temperature=0.0, guidance_scale=scale),
            mask_id=0,
            label_position=0,
            null_label_id=99,
        )[0, 1].item()

    assert run(1.0) == 1  # conditional only
    assert run(0.0) == 2  # unconditional only
    assert run(2.0) == 1  # 0 + 2 * (1 - 0) = 2 > 1.5 + 2 * (0.9 - 1.5) = 0.3


def test_decode_config_rejects_bad_values():
    for kwargs in (
        {"rounds": 0},
        {"temperature": -1},
        {"top_k": -1},
        {"top_p": 0},
        {"top_p": 1.5},
        {"temperature": math.nan},
        {"guidance_scale": math.inf},
    ):
        with pytest.raises(ValueError):
            DecodeConfig(**kwargs)


def test_real_model_never_writes_banned_tokens_or_unmasked_positions(tiny_augmenter):
    aug = tiny_augmenter
    torch.manual_seed(0)
    encoded = aug.codec.encode(["The movie was great today!", "Our team was rude again!"], aug.max_content)
    label = aug.label_ids["joy"]
    from training.common import pad_batch
    from training.generator import PREFIX_LENGTH, prompt_ids

    prompts = [prompt_ids(e.ids, label, aug.codec) for e in encoded] * 8
    ids, attention = pad_batch(prompts, aug.codec.pad_id)
    masked = (torch.rand(ids.shape) < 0.6) & (attention.bool())
    masked[:, :PREFIX_LENGTH] = False
    masked[ids == aug.codec.sep_id] = False
    # A hot, flat distribution makes banned tokens likely if they were not excluded.
    config = DecodeConfig(guidance_scale=1.0, rounds=3, temperature=5.0)
    out = iterative_decode(
        aug.runner,
        ids,
        attention,
        masked=masked,
        uniforms=torch.rand(ids.shape[0], 3, ids.shape[1]),
        banned=aug.banned,
        config=config,
        mask_id=aug.codec.mask_id,
        label_position=1,
        null_label_id=aug.null_label_id,
    )
    assert torch.equal(out[~masked], ids[~masked])  # label token, specials, unmasked text untouched
    written = out[masked]
    assert not aug.banned[written].any()
    assert (written != aug.codec.mask_id).all()


def test_a_guided_config_takes_two_rows_per_prompt():
    assert (
        not DecodeConfig(guidance_scale=1.0).guided and DecodeConfig(guidance_scale=1.0).rows_per_prompt == 1
    )
    assert DecodeConfig(guidance_scale=3.0).guided and DecodeConfig(guidance_scale=3.0).rows_per_prompt == 2
    assert (
        DecodeConfig(guidance_scale=0.5).rows_per_prompt == 2
    )  # below 1 is guidance too (away from the label)


def test_guided_rounds_guide_only_the_first_passes():
    every = DecodeConfig(guidance_scale=3.0, guided_rounds=0, rounds=8)
    first2 = DecodeConfig(guidance_scale=3.0, guided_rounds=2, rounds=8)
    off = DecodeConfig(guidance_scale=1.0, guided_rounds=2, rounds=8)
    assert [every.guides_pass(r) for r in (0, 7, 8)] == [True, True, True]  # extra passes too
    assert [first2.guides_pass(r) for r in (0, 1, 2, 7)] == [True, True, False, False]
    assert not off.guides_pass(0)
    # rows of 8 passes: 8 + 8 null rows; 8 + 2; 8 + 0; of 1 pass with 2 guided rounds: 1 + 1
    assert (every.forward_rows(8), first2.forward_rows(8), off.forward_rows(8)) == (16, 10, 8)
    assert first2.forward_rows(1) == 2


def test_decoding_runs_the_null_label_rows_in_the_guided_rounds_only():
    rows_per_call = []

    def fn(ids, attention, positions):
        rows_per_call.append(ids.shape[0])
        return torch.zeros(positions.shape[0], 8)

    ids = torch.tensor([[7, 0, 0, 0]])  # label at 0, three masked positions: one per round
    iterative_decode(
        fn,
        ids,
        torch.ones_like(ids),
        masked=torch.tensor([[False, True, True, True]]),
        uniforms=torch.zeros(1, 3, 4),
        banned=torch.zeros(8, dtype=torch.bool),
        config=DecodeConfig(rounds=3, temperature=0.0, guidance_scale=3.0, guided_rounds=1),
        mask_id=0,
        label_position=0,
        null_label_id=99,
    )
    assert rows_per_call == [2, 1, 1]  # the row and its null-label twin, then the row alone
