"""Chinese end to end with a tiny character-level model (bert-base-chinese vocabulary)."""

import re

import pytest

from tests.conftest import build_tiny_mlm, chinese_corpus
from training.augmenters.diffusion import DiffusionAugmenter
from training.checkpoint import load_checkpoint
from training.classifier import ClassifierConfig
from training.data import LabelledData
from training.generator import GeneratorConfig
from training.pipeline import fit

CJK_GAP = re.compile(r"[\u4e00-\u9fff]\s+[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def chinese_augmenter(tmp_path_factory, chinese_tokenizer):
    base = build_tiny_mlm(tmp_path_factory.mktemp("zh-base"), chinese_tokenizer, hidden=16)
    out = tmp_path_factory.mktemp("zh") / "ckpt"
    fit(
        LabelledData.from_pairs(chinese_corpus()),
        base,
        out,
        proxy_config=ClassifierConfig(epochs=1, lr=1e-3, batch_size=16, max_length=48),
        generator_config=GeneratorConfig(epochs=1, lr=1e-3, batch_size=16, max_length=48),
        seed=0,
        device="cpu",
        progress=False,
    )
    return DiffusionAugmenter.from_checkpoint(load_checkpoint(out))


def test_chinese_texts_are_rewritten_character_by_character(chinese_augmenter):
    texts = ["这部电影很好，真的。", "服务员太差！"]
    result = chinese_augmenter.augment(texts, ["positive", "negative"], [3, 3], seed=0)
    assert not result.shortfalls and len(result.augmentations) == 6
    for a in result.augmentations:
        source = texts[a.source_index]
        assert a.text != source
        assert not CJK_GAP.search(a.text)  # never a space between two CJK characters
        # One token per character: unmasked characters stay, verbatim and in order; each run of
        # masked characters is replaced by something non-empty.
        masked = set(a.provenance["masked_positions"])
        pattern, i = "", 0
        while i < len(source):
            if i in masked:
                while i in masked:
                    i += 1
                pattern += "(.+?)"
            else:
                pattern += re.escape(source[i])
                i += 1
        assert re.fullmatch(pattern, a.text), (source, a.text, sorted(masked))
