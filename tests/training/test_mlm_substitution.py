"""MLM word substitution on tiny masked LMs built from a config (English and Chinese vocabularies)."""

import re
from collections import Counter

import pytest
import torch

from tests.conftest import build_tiny_mlm
from training.augmenters.mlm_substitution import MLMSubstitutionAugmenter, word_positions

TEXTS = ["The movie was great today!", "Our team was rude again!", "My day was lonely tonight!"]
LABELS = ["joy", "anger", "sad"]


@pytest.fixture(scope="module")
def mlm(tiny_mlm):
    return MLMSubstitutionAugmenter.from_pretrained(tiny_mlm)


def by_item(result):
    out = {}
    for a in result.augmentations:
        out.setdefault(a.source_index, []).append(a.text)
    return out


def test_exactly_n_distinct_new_texts_with_provenance(mlm):
    result = mlm.augment(TEXTS, LABELS, [4, 4, 4], seed=1)
    assert not result.shortfalls
    for i, texts in by_item(result).items():
        keys = {mlm.codec.normalise(t) for t in texts}
        assert len(texts) == 4 and len(keys) == 4 and mlm.codec.normalise(TEXTS[i]) not in keys
    for a in result.augmentations:
        p = a.provenance
        encoded = mlm.codec.encode([TEXTS[a.source_index]], 100)[0]
        # these texts have one piece per word: 5 words of letters and a '!'
        words = [
            j for j, ok in enumerate(encoded.maskable) if ok and mlm.codec.pieces[encoded.ids[j]].isalpha()
        ]
        assert len(words) == 5
        assert p["method"] == "mlm_substitution" and p["seed"] == 1 and isinstance(p["try"], int)
        assert len(p["masked_positions"]) == max(1, int(0.15 * len(words)))
        assert set(p["masked_positions"]) <= set(words)
        assert p["mask_ratio"] == pytest.approx(len(p["masked_positions"]) / len(encoded), abs=1e-4)
        for r in p["replaced"]:
            assert r["old"] != r["new"] and not r["new"].startswith("##")
            assert any(c.isalnum() for c in r["new"])


def test_a_word_of_several_pieces_is_replaced_by_one_whole_word(mlm):
    # pieces: the show ##s was rude ##ly today ! -> words at 0, 1-2, 3, 4-5, 6; p = 1 masks all five
    augmenter = MLMSubstitutionAugmenter(mlm.model, mlm.codec, p=1.0)
    result = augmenter.augment(["the shows was rudely today!"], ["joy"], [4], seed=0)
    assert len(result.augmentations) == 4
    for a in result.augmentations:
        p = a.provenance
        assert p["masked_positions"] == [0, 1, 3, 4, 6] and p["mask_ratio"] == pytest.approx(7 / 8, abs=1e-4)
        assert [r["old"] for r in p["replaced"] if r["position"] in (1, 4)] == ["shows", "rudely"]
        assert all(not r["new"].startswith("##") for r in p["replaced"])
        assert len(a.text.removesuffix("!").split()) == 5, a.text  # five words in, five words out
        assert not {t for t in mlm.codec.tokenizer.tokenize(a.text) if t.startswith("##")}, a.text


def test_without_whole_words_each_piece_is_replaced_on_its_own(mlm):
    augmenter = MLMSubstitutionAugmenter(mlm.model, mlm.codec, p=1.0, whole_words=False)
    result = augmenter.augment(["the shows was rudely today!"], ["joy"], [4], seed=0)
    assert len(result.augmentations) == 4
    for a in result.augmentations:
        p = a.provenance
        assert p["masked_positions"] == [0, 1, 2, 3, 4, 5, 6]  # '##s' and '##ly' too
        for r in p["replaced"]:  # a tail is replaced by a tail, a word start by a word start
            assert r["new"].startswith("##") == (r["position"] in (2, 5))


def test_word_positions_groups_the_pieces_of_each_word():
    assert word_positions(torch.tensor([0, 1, 1, 2, 3, 3, 3])) == [[0], [1, 2], [3], [4, 5, 6]]
    assert word_positions(torch.tensor([], dtype=torch.long)) == []


def test_same_seed_same_outputs_other_seed_other_outputs(mlm):
    def run(seed):
        return [a.text for a in mlm.augment(TEXTS, LABELS, [3, 3, 3], seed=seed).augmentations]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_outputs_do_not_depend_on_batching_or_on_other_inputs(tiny_mlm, mlm):
    together = by_item(mlm.augment(TEXTS, LABELS, [3, 3, 3], seed=3))
    alone = by_item(mlm.augment(TEXTS[:1], LABELS[:1], [3], seed=3))
    one_by_one = MLMSubstitutionAugmenter(mlm.model, mlm.codec, batch_size=1)
    assert together[0] == alone[0]
    assert together == by_item(one_by_one.augment(TEXTS, LABELS, [3, 3, 3], seed=3))


def test_all_tries_of_an_attempt_share_one_forward_pass(mlm, monkeypatch):
    calls = []
    runner = mlm.runner

    def spy(input_ids, attention, positions):
        calls.append(input_ids.shape[0])
        return runner(input_ids, attention, positions)

    monkeypatch.setattr(mlm, "runner", spy)
    result = mlm.augment(TEXTS, LABELS, [2, 2, 2], seed=0)
    assert calls[0] == 6  # every try of every input in the first pass
    assert result.stats["forward_passes"] == len(calls)


def test_shortfalls_are_reported_not_padded(mlm):
    result = mlm.augment(["!!! ...", "great"], ["joy", "joy"], [2, 300], seed=0)
    assert [(s.source_index, s.produced) for s in result.shortfalls][0] == (0, 0)
    (_, big) = result.shortfalls
    assert big.requested == 300 and big.produced == len(result.augmentations) < 300
    texts = [mlm.codec.normalise(a.text) for a in result.augmentations]
    assert len(set(texts)) == len(texts) and "great" not in texts


def test_a_checkpoint_generator_can_be_reused_and_its_label_rows_are_never_written(tiny_mlm, mlm):
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(str(tiny_mlm), local_files_only=True)
    base = model.get_input_embeddings().num_embeddings
    model.resize_token_embeddings(base + 4, mean_resizing=False)
    with torch.no_grad():  # make the label rows the model's favourite prediction
        model.get_output_embeddings().bias[base:] = 100.0
    augmenter = MLMSubstitutionAugmenter(model, mlm.codec, p=1.0)
    result = augmenter.augment(TEXTS, LABELS, [2, 2, 2], seed=0)
    assert len(result.augmentations) == 6
    for a in result.augmentations:
        assert all(r["new"] and "[" not in r["new"] for r in a.provenance["replaced"])


def test_a_base_without_an_mlm_head_is_refused(tiny_encoder_without_head):
    with pytest.raises(ValueError, match="no masked-LM head"):
        MLMSubstitutionAugmenter.from_pretrained(tiny_encoder_without_head)


def test_chinese_characters_are_replaced_in_place(tmp_path, chinese_tokenizer):
    augmenter = MLMSubstitutionAugmenter.from_pretrained(
        build_tiny_mlm(tmp_path / "zh", chinese_tokenizer, hidden=16), p=0.3
    )
    texts = ["这部电影很好，真的。", "服务员太差！"]
    result = augmenter.augment(texts, ["positive", "negative"], [3, 3], seed=0)
    assert not result.shortfalls and Counter(a.source_index for a in result.augmentations) == {0: 3, 1: 3}
    for a in result.augmentations:
        source = texts[a.source_index]
        assert not re.search(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]", a.text)
        masked = set(a.provenance["masked_positions"])
        assert all(source[i] not in "，。！" for i in masked)  # marks are never replaced
        # One token per character: unmasked characters stay, verbatim and in order.
        pattern = "".join("(.+?)" if i in masked else re.escape(c) for i, c in enumerate(source))
        assert re.fullmatch(pattern, a.text), (source, a.text, sorted(masked))
