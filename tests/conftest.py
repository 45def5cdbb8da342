"""Fixtures: tiny BERT models built from a config (no download), small labelled corpora, a tiny
checkpoint trained through the real pipeline. Session-scoped where building them costs seconds."""

from __future__ import annotations

import csv
import itertools
import os
import random
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from training.common import quiet_transformers  # noqa: E402

quiet_transformers()

SHARED = Path(__file__).resolve().parents[2] / "shared"
CHINESE_VOCAB = SHARED / "models" / "tokenizers" / "bert-base-chinese" / "vocab.txt"

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]

_SUBJECTS = [
    "the movie",
    "this film",
    "the food",
    "my day",
    "the service",
    "the trip",
    "our team",
    "the show",
]
_LABEL_WORDS = {
    "joy": ["great", "wonderful", "amazing", "lovely", "fantastic", "happy"],
    "anger": ["awful", "outrageous", "infuriating", "terrible", "annoying", "rude"],
    "sad": ["gloomy", "heartbreaking", "lonely", "sad", "depressing", "tearful"],
}
_ENDINGS = ["today", "again", "as usual", "for sure", "honestly", "tonight"]


def english_corpus(per_label: int = 24, seed: int = 0) -> list[tuple[str, str]]:
    """Template sentences whose label is carried by one sentiment word: what the schedule should find."""
    rng = random.Random(seed)
    rows = []
    for label, words in _LABEL_WORDS.items():
        combos = list(itertools.product(_SUBJECTS, words, _ENDINGS))
        rng.shuffle(combos)
        for subject, word, ending in combos[:per_label]:
            text = f"{subject.capitalize()} was {word} {ending}!"
            rows.append((text, label))
    rng.shuffle(rows)
    return rows


def chinese_corpus() -> list[tuple[str, str]]:
    subjects = ["这部电影", "这家酒店", "今天的天气", "这本书", "服务员", "这次旅行"]
    words = {"positive": ["很好", "不错", "精彩", "满意"], "negative": ["太差", "糟糕", "失望", "难受"]}
    endings = ["。", "！", "，真的。"]
    rows = [
        (f"{s}{w}{e}", label)
        for label, ws in words.items()
        for s, w, e in itertools.product(subjects, ws, endings)
    ]
    random.Random(1).shuffle(rows)
    return rows


def english_vocab() -> list[str]:
    words = set()
    for text, _ in english_corpus(per_label=10_000):
        words.update(text.lower().replace("!", " ! ").split())
    extra = ["!", ",", ".", "##s", "##ly", "a", "and", "it", "is", "not"]
    return SPECIALS + sorted(words | set(extra))


def write_csv(path: Path, rows) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def build_tiny_mlm(folder: Path, tokenizer, with_head: bool = True, hidden: int = 32) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=160,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(config) if with_head else BertModel(config, add_pooling_layer=False)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def bert_tokenizer(vocab: list[str], lowercase: bool = True):
    from transformers import BertTokenizer

    return BertTokenizer(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=lowercase)


@pytest.fixture(scope="session")
def english_tokenizer():
    return bert_tokenizer(english_vocab())


@pytest.fixture(scope="session")
def chinese_tokenizer():
    vocab = CHINESE_VOCAB.read_text(encoding="utf-8").splitlines()
    return bert_tokenizer(vocab, lowercase=False)


@pytest.fixture(scope="session")
def tiny_mlm(tmp_path_factory, english_tokenizer) -> Path:
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-mlm"), english_tokenizer)


@pytest.fixture(scope="session")
def tiny_encoder_without_head(tmp_path_factory, english_tokenizer) -> Path:
    return build_tiny_mlm(tmp_path_factory.mktemp("tiny-encoder"), english_tokenizer, with_head=False)


@pytest.fixture(scope="session")
def english_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "train.csv", english_corpus())


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_mlm, english_csv) -> Path:
    """A checkpoint trained by the real `fit` pipeline on the tiny model (a few seconds)."""
    from training.classifier import ClassifierConfig
    from training.data import read_labelled
    from training.generator import GeneratorConfig
    from training.pipeline import PseudoPlan, fit

    out = tmp_path_factory.mktemp("ckpt") / "checkpoint"
    fit(
        read_labelled(english_csv),
        tiny_mlm,
        out,
        proxy_config=ClassifierConfig(epochs=2, lr=1e-3, batch_size=16, max_length=64),
        generator_config=GeneratorConfig(epochs=2, lr=1e-3, batch_size=16, max_length=64),
        classifier_config=ClassifierConfig(epochs=2, lr=1e-3, batch_size=8, max_length=64),
        plan=PseudoPlan(n=2),
        seed=0,
        device="cpu",
        progress=False,
    )
    return out


@pytest.fixture(scope="session")
def tiny_augmenter(tiny_checkpoint):
    from training.augmenters.diffusion import DiffusionAugmenter
    from training.checkpoint import load_checkpoint

    return DiffusionAugmenter.from_checkpoint(load_checkpoint(tiny_checkpoint, "cpu"))


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG file, read from its header; fails on anything that is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
