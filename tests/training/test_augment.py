from collections import Counter

import pytest

from training.augmenters.diffusion import DiffusionOptions
from training.policies import augment_balanced, balance_counts, each_counts
from training.sampler import DecodeConfig

TEXTS = ["The movie was great today!", "Our team was rude again!", "My day was lonely tonight!"]
LABELS = ["joy", "anger", "sad"]


def outputs_by_item(result):
    by_item = {}
    for a in result.augmentations:
        by_item.setdefault(a.source_index, []).append(a.text)
    return by_item


def test_exactly_n_distinct_new_texts_per_input(tiny_augmenter):
    result = tiny_augmenter.augment(TEXTS, LABELS, [4, 4, 4], seed=1)
    assert not result.shortfalls
    by_item = outputs_by_item(result)
    for i, text in enumerate(TEXTS):
        got = by_item[i]
        assert len(got) == 4
        assert len({tiny_augmenter.codec.normalise(t) for t in got}) == 4
        assert tiny_augmenter.codec.normalise(text) not in {tiny_augmenter.codec.normalise(t) for t in got}
    assert [a.label for a in result.augmentations] == [lbl for lbl in LABELS for _ in range(4)]


def test_provenance_describes_each_output(tiny_augmenter):
    result = tiny_augmenter.augment(
        TEXTS, LABELS, [3, 3, 3], seed=2, options=DiffusionOptions(steps=(10, 12))
    )
    for a in result.augmentations:
        p = a.provenance
        n = len(tiny_augmenter.codec.encode([TEXTS[a.source_index]], 100)[0])
        assert p["seed"] == 2 and 10 <= p["step"] <= 12 and p["rounds"] == DecodeConfig().rounds
        assert p["masked_positions"] and all(0 <= i < n for i in p["masked_positions"])
        assert p["mask_ratio"] == pytest.approx(len(p["masked_positions"]) / n, abs=1e-4)
        assert 0 < p["changed_ratio"] <= p["mask_ratio"]
        assert 0.0 <= p["label_prob"] <= 1.0 and p["predicted_label"] in LABELS


def test_same_seed_same_outputs_other_seed_other_outputs(tiny_augmenter):
    def run(seed):
        return [a.text for a in tiny_augmenter.augment(TEXTS, LABELS, [3, 3, 3], seed=seed).augmentations]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_outputs_do_not_depend_on_batching_or_on_other_inputs(tiny_augmenter):
    together = outputs_by_item(tiny_augmenter.augment(TEXTS, LABELS, [3, 3, 3], seed=3))
    alone = outputs_by_item(tiny_augmenter.augment(TEXTS[:1], LABELS[:1], [3], seed=3))
    one_by_one = outputs_by_item(
        tiny_augmenter.augment(TEXTS, LABELS, [3, 3, 3], seed=3, options=DiffusionOptions(batch_size=1))
    )
    assert together[0] == alone[0]
    assert together == one_by_one


def test_token_limited_batches_by_hand():
    from training.common import token_limited_batches

    # lengths by index: 0:10, 1:30, 2:20, 3:40, 4:10 -> length order 0, 4, 2, 1, 3
    lengths = [10, 30, 20, 40, 10]
    # 60 tokens: [0, 4] = 2x10; + 2 would be 3x20 = 60, fits; + 1 would be 4x30 = 120 -> new batch;
    # [1] then + 3 would be 2x40 = 80 -> new batch
    assert list(token_limited_batches(lengths, max_items=8, max_tokens=60)) == [[0, 4, 2], [1], [3]]
    assert list(token_limited_batches(lengths, max_items=2, max_tokens=1000)) == [[0, 4], [2, 1], [3]]
    # an item longer than the budget still goes, alone
    assert list(token_limited_batches([100, 5], max_items=8, max_tokens=50)) == [[1], [0]]


def test_a_token_budget_bounds_each_forward_pass_without_changing_outputs(tiny_augmenter):
    widths = []
    runner = tiny_augmenter.runner
    original = runner.__call__

    class Spy:
        def __getattr__(self, name):
            return getattr(runner, name)

        def __call__(self, input_ids, *args, **kwargs):
            widths.append(input_ids.shape[0] * input_ids.shape[1])
            return original(input_ids, *args, **kwargs)

    free = outputs_by_item(tiny_augmenter.augment(TEXTS, LABELS, [3, 3, 3], seed=3))
    tiny_augmenter.runner = Spy()
    try:
        tight = tiny_augmenter.augment(
            TEXTS, LABELS, [3, 3, 3], seed=3, options=DiffusionOptions(max_batch_tokens=40)
        )
    finally:
        tiny_augmenter.runner = runner
    from training.generator import PREFIX_LENGTH

    encoded = tiny_augmenter.codec.encode(TEXTS, tiny_augmenter.max_content)
    longest = max(len(e) for e in encoded) + PREFIX_LENGTH + 1
    # the default decoding is guided: each prompt runs twice in a pass (its label, the null label)
    assert widths and max(widths) <= max(40, DiffusionOptions().decode.rows_per_prompt * longest)
    assert outputs_by_item(tight) == free


def test_a_text_with_nothing_to_rewrite_is_reported_not_padded(tiny_augmenter):
    result = tiny_augmenter.augment(["zyxw qqqq", TEXTS[0]], ["joy", "joy"], [2, 2], seed=0)
    assert [(s.source_index, s.produced) for s in result.shortfalls] == [(0, 0)]
    assert Counter(a.source_index for a in result.augmentations) == {1: 2}


def test_an_impossible_count_is_a_shortfall_never_copies(tiny_augmenter):
    # One rewritable token and a vocabulary of ~100 words cannot give 500 distinct texts.
    result = tiny_augmenter.augment(
        ["great"], ["joy"], [500], seed=0, options=DiffusionOptions(max_attempts=2)
    )
    (shortfall,) = result.shortfalls
    assert shortfall.requested == 500 and shortfall.produced == len(result.augmentations) < 500
    texts = [tiny_augmenter.codec.normalise(a.text) for a in result.augmentations]
    assert len(set(texts)) == len(texts) and "great" not in texts


def test_unknown_labels_are_rejected_with_the_known_ones(tiny_augmenter):
    with pytest.raises(ValueError, match=r"unknown label\(s\) \['love'\].*\['anger', 'joy', 'sad'\]"):
        tiny_augmenter.augment(TEXTS[:1], ["love"], [1], seed=0)


def test_guidance_and_greedy_settings_run_through(tiny_augmenter):
    options = DiffusionOptions(decode=DecodeConfig(rounds=2, guidance_scale=2.0, top_k=5))
    result = tiny_augmenter.augment(TEXTS, LABELS, [2, 2, 2], seed=0, options=options)
    assert len(result.augmentations) == 6 and result.stats["forward_passes"] > 0


def test_progress_is_reported_up_to_completion(tiny_augmenter):
    seen = []
    tiny_augmenter.augment(TEXTS, LABELS, [2, 2, 2], seed=0, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (6, 6)


def test_each_counts_and_balance_counts():
    assert each_counts(3, 4) == [4, 4, 4]
    labels = ["a"] * 5 + ["b"] * 2 + ["c"] * 1
    counts = balance_counts(labels, seed=0)
    totals = Counter()
    for label, n in zip(labels, counts, strict=True):
        totals[label] += n
    assert +totals == {"b": 3, "c": 4}  # every class reaches 5
    assert sorted(counts[5:7]) == [1, 2] and counts[7] == 4


def test_balanced_policy_really_balances(tiny_augmenter):
    texts = TEXTS + [
        "The show was fantastic again!",
        "The trip was lovely today!",
        "The food was awful again!",
    ]
    labels = ["joy", "anger", "sad", "joy", "joy", "anger"]
    result = augment_balanced(tiny_augmenter, texts, labels, seed=0)
    final = Counter(labels) + Counter(a.label for a in result.augmentations)
    assert final == {"joy": 3, "anger": 3, "sad": 3}
    assert not result.shortfalls


def test_masks_cover_whole_words(tiny_augmenter):
    result = tiny_augmenter.augment(["the shows was lovely again!"] * 3, ["joy"] * 3, [4] * 3, seed=0)
    for a in result.augmentations:
        masked = set(a.provenance["masked_positions"])
        assert (1 in masked) == (2 in masked)  # 'show' + '##s'


def test_label_probability_filter_tops_up_and_flags_what_it_could_not_replace(tiny_augmenter):
    plain = tiny_augmenter.augment(TEXTS, LABELS, [3, 3, 3], seed=5)
    probs = [a.provenance["label_prob"] for a in plain.augmentations]
    # A threshold between the observed probabilities: some outputs pass, some must be replaced.
    threshold = sorted(probs)[len(probs) // 2]
    filtered = tiny_augmenter.augment(
        TEXTS, LABELS, [3, 3, 3], seed=5, options=DiffusionOptions(min_label_prob=threshold, max_attempts=3)
    )
    assert not filtered.shortfalls  # n outputs still come back
    assert Counter(a.source_index for a in filtered.augmentations) == {0: 3, 1: 3, 2: 3}
    for a in filtered.augmentations:
        below = a.provenance["label_prob"] < threshold
        assert below == a.provenance.get("below_min_label_prob", False)
    passing_before = sum(p >= threshold for p in probs)
    passing_after = sum(a.provenance["label_prob"] >= threshold for a in filtered.augmentations)
    assert passing_after >= passing_before  # the top-up found at least as many on-label outputs
    # Impossible threshold: every output is flagged, none is dropped.
    strict = tiny_augmenter.augment(
        TEXTS, LABELS, [2, 2, 2], seed=5, options=DiffusionOptions(min_label_prob=0.999)
    )
    assert len(strict.augmentations) == 6
    assert all(a.provenance["below_min_label_prob"] for a in strict.augmentations)
    with pytest.raises(ValueError):
        DiffusionOptions(min_label_prob=1.0)


@pytest.mark.parametrize("whole_words", [True, False])
def test_rewritten_words_are_made_of_whole_word_pieces(tiny_augmenter, monkeypatch, whole_words):
    import training.augmenters.diffusion as diffusion

    written = []
    real = diffusion.iterative_decode

    def recording(*args, **kwargs):
        new = real(*args, **kwargs)
        written.extend(new[kwargs["masked"]].tolist())
        return new

    monkeypatch.setattr(diffusion, "iterative_decode", recording)
    # unguided: the tiny model's random guidance direction happens to steer clear of tails
    options = DiffusionOptions(whole_words=whole_words, decode=DecodeConfig(guidance_scale=1.0))
    tiny_augmenter.augment(TEXTS * 4, LABELS * 4, [4] * 12, seed=0, options=options)
    tails = tiny_augmenter.codec.continuation_mask(len(tiny_augmenter.banned))
    glued = sum(bool(tails[t]) for t in written)
    assert written and (glued == 0) == whole_words  # the untrained tiny model writes tails when let


def test_word_slots_keep_one_position_per_masked_word_by_hand():
    import torch

    from training.augmenters.diffusion import word_slots

    # units: 'the' 'show ##s' 'was' 'love ##ly'; 'shows' and 'lovely' masked
    mask = torch.tensor([False, True, True, False, True, True])
    units = torch.tensor([0, 1, 1, 2, 3, 3])
    assert word_slots(mask, units).tolist() == [0, 1, 3, 4]
    # kept words keep every piece
    assert word_slots(torch.zeros(6, dtype=torch.bool), units).tolist() == list(range(6))


def test_a_rewritten_word_is_one_word_whatever_its_pieces(tiny_augmenter):
    # 'shows' is 'show ##s': with whole words its rewrite is one whole word, never 'show' + a tail
    result = tiny_augmenter.augment(["the shows was lovely again!"], ["joy"], [6], seed=0)
    codec = tiny_augmenter.codec
    for a in result.augmentations:
        if 1 in a.provenance["masked_positions"]:
            pieces = codec.tokenizer.tokenize(a.text.lower())
            assert not any(p.startswith("##") for p in pieces[1:3]), a.text
