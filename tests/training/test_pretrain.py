"""Streaming masked-LM pretraining: the pure pieces by hand, then a tiny run that stops and resumes."""

from __future__ import annotations

import gzip
import json

import pytest
import torch

from tests.conftest import english_corpus
from training.pretrain import (
    PretrainConfig,
    PretrainRun,
    draw_masks,
    heldout_windows,
    layer_of,
    lr_factor,
    masked_accuracy,
    masked_batch,
    pack_windows,
    parse_source,
    run_pretraining,
    split_sentences,
)


def test_split_sentences_at_sentence_ends_only():
    assert split_sentences("Great film. I loved it! Did you? yes 3.5 stars") == [
        "Great film.",
        "I loved it!",
        "Did you?",
        "yes 3.5 stars",
    ]
    assert split_sentences('He said "wow." Then left.') == ['He said "wow."', "Then left."]


def test_pack_windows_fills_greedily_and_cuts_long_sentences():
    # windows of at most 5: [1,2] + [3,4] fit; [5,6,7] does not fit after them; 8..14 is cut 5 + 2
    sentences = [[1, 2], [3, 4], [5, 6, 7], list(range(8, 15))]
    assert pack_windows(sentences, 5) == [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11, 12], [13, 14]]
    assert pack_windows([], 5) == []


def test_lr_factor_warms_up_then_decays_with_the_budget():
    assert lr_factor(0.0, 0, 4) == pytest.approx(1 / 5)
    assert lr_factor(0.0, 3, 4) == pytest.approx(4 / 5)
    assert lr_factor(0.25, 10, 4) == pytest.approx(0.75)
    assert lr_factor(1.2, 10, 4) == 0.0


def test_budget_fraction_takes_the_tighter_budget():
    config = PretrainConfig(steps=100, minutes=1.0)
    assert config.budget_fraction(50, 30.0) == pytest.approx(0.5)
    assert config.budget_fraction(10, 45.0) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        PretrainConfig()


def test_draw_masks_classic_rate_and_never_empty():
    generator = torch.Generator().manual_seed(0)
    classic = PretrainConfig(steps=1, classic_share=1.0, classic_rate=0.15)
    masks = draw_masks([1000] * 4 + [1] * 50, classic, generator)
    for mask in masks[:4]:
        assert 0.11 < mask.float().mean() < 0.19
    assert all(bool(m.any()) for m in masks)
    high = PretrainConfig(steps=1, classic_share=0.0, min_rate=0.9, max_rate=1.0)
    assert draw_masks([1000], high, generator)[0].float().mean() > 0.85


def test_masked_batch_layout(english_tokenizer):
    tok = english_tokenizer
    ids, attention, positions, targets = masked_batch(
        [[10, 11, 12], [13]], [torch.tensor([False, True, False]), torch.tensor([True])], tok
    )
    assert ids.tolist() == [
        [tok.cls_token_id, 10, tok.mask_token_id, 12, tok.sep_token_id],
        [tok.cls_token_id, tok.mask_token_id, tok.sep_token_id, tok.pad_token_id, tok.pad_token_id],
    ]
    assert attention.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    assert positions.tolist() == [[0, 2], [1, 1]]
    assert targets.tolist() == [11, 13]


def test_layer_of_orders_parameters_by_depth():
    assert layer_of("bert.embeddings.word_embeddings.weight", 6) == 0
    assert layer_of("bert.encoder.layer.0.attention.self.query.weight", 6) == 1
    assert layer_of("bert.encoder.layer.5.output.dense.weight", 6) == 6
    assert layer_of("cls.predictions.transform.dense.weight", 6) == 7


def test_parse_source_weight():
    source = parse_source("corpus/reviews.txt.gz:0.5")
    assert str(source.path) == "corpus/reviews.txt.gz" and source.weight == 0.5
    assert parse_source("data/train.csv").weight == 1.0


def _corpus(tmp_path):
    texts = [
        f"{t} {u}" for (t, _), (u, _) in zip(english_corpus(40), english_corpus(40, seed=3), strict=True)
    ]
    path = tmp_path / "corpus.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(texts) + "\n")
    held = tmp_path / "held.txt"
    held.write_text("\n".join(texts[:20]) + "\n")
    return path, held


def test_tiny_pretraining_learns_stops_and_resumes(tmp_path, tiny_mlm, english_tokenizer):
    corpus, held = _corpus(tmp_path)
    heldout = {"held": heldout_windows(held, english_tokenizer, max_length=32, limit=64)}
    config = PretrainConfig(
        steps=30,
        lr=3e-3,
        warmup_steps=3,
        batch_size=16,
        accumulate=2,
        max_length=32,
        eval_every=0,
        save_every_s=0.0,
        shuffle_buffer=64,
    )
    before = masked_accuracy(
        __import__("transformers").AutoModelForMaskedLM.from_pretrained(tiny_mlm),
        english_tokenizer,
        heldout["held"],
        rate=0.15,
        seed=1,
    )["top1"]
    out = tmp_path / "model"
    report = run_pretraining(
        PretrainRun(
            str(tiny_mlm), [parse_source(str(corpus))], out, config, heldout, device="cpu", progress=False
        )
    )
    assert report["steps"] == 30 and (out / "model.safetensors").exists()
    assert json.loads((out / "pretrain.json").read_text())["tokens"] == report["tokens"]
    assert report["history"][-1]["heldout_top1_15"]["held"] > before + 0.1  # it learned the templates
    # A longer budget resumes from the saved state instead of starting over.
    longer = PretrainConfig(**{**config.__dict__, "steps": 35})
    resumed = run_pretraining(
        PretrainRun(
            str(tiny_mlm),
            [parse_source(str(corpus))],
            out,
            longer,
            heldout,
            device="cpu",
            resume=True,
            progress=False,
        )
    )
    assert resumed["steps"] == 35 and resumed["tokens"] > report["tokens"]


def _documents_corpus(tmp_path, name, documents):
    texts = [
        f"{t} {u}"
        for (t, _), (u, _) in zip(english_corpus(documents), english_corpus(documents, seed=5), strict=True)
    ]
    path = tmp_path / name
    path.write_text("\n".join(texts) + "\n")
    return path


@pytest.mark.parametrize("documents", [100, 128])  # a pass that ends inside a refill of 64, and on one
def test_a_token_cache_feeds_the_same_batches_in_the_same_order(tmp_path, english_tokenizer, documents):
    from training.pretrain import WindowStream
    from training.pretrain.token_cache import load_or_build

    paths = [_documents_corpus(tmp_path, "a.txt", documents), _documents_corpus(tmp_path, "b.txt", 7)]
    config = PretrainConfig(steps=1, shuffle_buffer=16, seed=4)

    def stream(cached: bool):
        sources = [parse_source(f"{paths[0]}:0.8"), parse_source(f"{paths[1]}:0.2")]
        caches = [load_or_build(s, english_tokenizer, 30, folder=tmp_path / "cache") for s in sources]
        return WindowStream(sources, english_tokenizer, 30, config=config, caches=caches if cached else None)

    plain, cached = stream(False), stream(True)
    for _ in range(250):  # several passes over both files
        assert cached.next_batch(8) == plain.next_batch(8)
    assert [(s.position, s.passes) for s in cached.sources] == [(s.position, s.passes) for s in plain.sources]
    assert plain.sources[0].passes >= 2 and plain.sources[1].passes >= 2


def test_a_token_cache_is_reused_and_rebuilt_when_its_file_changes(tmp_path, english_tokenizer):
    from training.pretrain.token_cache import load_or_build

    path = _documents_corpus(tmp_path, "c.txt", 10)
    folder = tmp_path / "cache"
    first = load_or_build(parse_source(str(path)), english_tokenizer, 30, folder=folder)
    assert len(list(folder.glob("*.windows.pt"))) == 1
    again = load_or_build(parse_source(str(path)), english_tokenizer, 30, folder=folder)
    assert torch.equal(first.ids, again.ids) and len(list(folder.glob("*.windows.pt"))) == 1
    path.write_text("A different corpus now. It has two sentences.\n")
    changed = load_or_build(parse_source(str(path)), english_tokenizer, 30, folder=folder)
    assert changed.documents == 1 and len(list(folder.glob("*.windows.pt"))) == 2
    assert load_or_build(parse_source(str(path)), english_tokenizer, 12, folder=folder) is not None
    assert len(list(folder.glob("*.windows.pt"))) == 3  # another window size, another cache


def test_pretraining_from_a_token_cache_trains_the_same_weights(tmp_path, tiny_mlm, english_tokenizer):
    corpus, _ = _corpus(tmp_path)
    config = PretrainConfig(
        steps=6, batch_size=8, max_length=32, eval_every=0, save_every_s=1e9, shuffle_buffer=32
    )
    weights = []
    for name, cache in (("plain", None), ("cached", tmp_path / "cache")):
        run = PretrainRun(
            str(tiny_mlm),
            [parse_source(str(corpus))],
            tmp_path / name,
            config,
            device="cpu",
            progress=False,
            token_cache=cache,
        )
        report = run_pretraining(run)
        weights.append(((tmp_path / name / "model.safetensors").read_bytes(), report["tokens"]))
    assert weights[0] == weights[1]
