"""fit end to end on tiny models: proxy -> generator -> pseudo samples -> classifier, and the switches."""

from collections import Counter
from pathlib import Path

import pytest
import torch

from tests.conftest import english_corpus, png_size
from training.augmenters.diffusion import DiffusionAugmenter
from training.checkpoint import CheckpointError, load_checkpoint
from training.classifier import PLAIN, ClassifierConfig, ClassifierRunner, NoiseResistance
from training.data import LabelledData
from training.generator import GeneratorConfig
from training.pipeline import (
    ClassifierCandidate,
    PseudoPlan,
    classifier_candidates,
    first_epoch_shared,
    fit,
    pick_on_validation,
    pseudo_source,
    train_choosing_classifier,
)
from training.text import TextCodec

FAST = {
    "proxy_config": ClassifierConfig(epochs=1, lr=1e-3, batch_size=16, max_length=48),
    "generator_config": GeneratorConfig(epochs=1, lr=1e-3, batch_size=16, max_length=48),
    "seed": 0,
    "device": "cpu",
    "progress": False,
}
CLASSIFIER = ClassifierConfig(epochs=2, lr=1e-3, batch_size=8, max_length=48, patience=5)


@pytest.fixture(scope="module")
def data():
    return LabelledData.from_pairs(english_corpus(per_label=10))


def _fit(tmp_path, tiny_mlm, data, *, name, **kwargs):
    return fit(data, tiny_mlm, tmp_path / name, **FAST, **kwargs)


def checkpoint_source(ckpt, codec, proxy, *, data, plan):
    """The pseudo-sample source of a saved checkpoint's generator (max length 48, seed 0)."""
    return pseudo_source(
        ckpt.generator,
        codec,
        label_ids=ckpt.label_ids,
        null_id=ckpt.null_label_id,
        schedule=ckpt.settings.schedule,
        max_length=48,
        proxy=proxy,
        train=data,
        plan=plan,
        seed=0,
    )


def test_full_fit_writes_every_component_and_trains_on_pseudo_samples(tmp_path, tiny_mlm, data):
    report = _fit(tmp_path, tiny_mlm, data, name="full", classifier_config=CLASSIFIER, plan=PseudoPlan(n=2))
    ckpt = load_checkpoint(report["checkpoint"])
    assert ckpt.settings.components == ["generator", "proxy", "classifier"]
    history = report["classifier"]["history"]
    # the classifier was trained with Lc and with cross-entropy alone on the pseudo samples, and on the
    # originals alone; the checkpoint keeps the one with the best validation macro-F1 and says which
    choice = report["classifier"]["classifier_choice"]
    candidates = choice["candidates"]
    assert [(c["contrastive_weight"], c["pseudo_samples"]) for c in candidates] == [
        (1.0, True),
        (0.0, True),
        (0.0, False),
    ]
    scores = [c["val_macro_f1"] for c in candidates]
    kept = candidates[choice["kept"]]
    assert choice["kept"] == scores.index(max(scores))
    assert report["classifier"]["best_val_macro_f1"] == max(scores)
    assert all((r["train_contrastive"] > 0) == (kept["contrastive_weight"] > 0) for r in history)
    assert ckpt.settings.classifier["noise_resistance"]["weight"] == kept["contrastive_weight"]
    assert ckpt.settings.classifier["trained_on_pseudo_samples"] == kept["pseudo_samples"]
    pseudo = [2 * report["train"]] * 2 if kept["pseudo_samples"] else [0, 0]  # G/E: n per original
    assert [r.get("pseudo_samples", 0) for r in history] == pseudo
    assert set(report["seconds"]) >= {"proxy", "generator", "classifier", "total"}
    # the probabilities are calibrated on validation, and everything that loads the checkpoint divides
    # its logits by the temperature (never below 1)
    temperature = ckpt.settings.classifier["calibration"]["temperature"]
    assert temperature >= 1.0 and ckpt.temperature("classifier") == temperature
    assert ckpt.settings.proxy["calibration"]["temperature"] >= 1.0
    from training import Classifier

    runner = Classifier.from_pretrained(report["checkpoint"], device="cpu").runner
    assert runner.temperature == temperature
    assert DiffusionAugmenter.from_checkpoint(ckpt).scorer.temperature == temperature
    texts = data.texts[:4]
    runner.temperature = 1.0
    raw = runner.predict_proba(texts)
    runner.temperature = 2.0  # each probability to its square root, renormalised
    assert torch.allclose(
        runner.predict_proba(texts), raw.sqrt() / raw.sqrt().sum(-1, keepdim=True), atol=1e-5
    )
    # for people: a model card and the training curves as a PNG picture
    folder = Path(report["checkpoint"])
    card = (folder / "README.md").read_text()
    assert (
        "Labels: " in card
        and "| classifier | 2 |" in card
        and "![training curves](training-curves.png)" in card
    )
    assert png_size(folder / "training-curves.png")[0] > 3 * 300  # three panels side by side


def test_ablation_switches_change_what_is_trained(tmp_path, tiny_mlm, data):
    no_da = _fit(
        tmp_path,
        tiny_mlm,
        data,
        name="no-da",
        classifier_config=CLASSIFIER,
        plan=PseudoPlan(enabled=False),
        choose_classifier=False,
    )
    assert "classifier_choice" not in no_da["classifier"]
    assert all("pseudo_samples" not in r for r in no_da["classifier"]["history"])
    assert all(r["train_contrastive"] > 0 for r in no_da["classifier"]["history"])

    no_nrt = _fit(
        tmp_path,
        tiny_mlm,
        data,
        name="no-nrt",
        classifier_config=CLASSIFIER,
        plan=PseudoPlan(n=1),
        noise=NoiseResistance(weight=0.0),
    )
    assert all(r["train_contrastive"] == 0 for r in no_nrt["classifier"]["history"])
    # one classifier (no choice without Lc), on pseudo samples made afresh each epoch
    assert [r["pseudo_samples"] for r in no_nrt["classifier"]["history"]] == [no_nrt["train"]] * 2

    no_lap = _fit(tmp_path, tiny_mlm, data, name="no-lap", classifier_config=None, label_prompt=False)
    ckpt = load_checkpoint(no_lap["checkpoint"])
    assert ckpt.settings.generator["label_prompt"] is False
    augmenter = DiffusionAugmenter.from_checkpoint(ckpt)
    assert set(augmenter.label_ids.values()) == {ckpt.null_label_id}  # sampled without a label too
    assert ckpt.settings.components == ["generator", "proxy"]


def test_balanced_policy_tops_up_minority_classes(tmp_path, tiny_mlm):
    rows = english_corpus(per_label=12)
    counts = Counter()
    skewed = []
    for text, label in rows:  # joy 12, anger 6, sad 3
        limit = {"joy": 12, "anger": 6, "sad": 3}[label]
        if counts[label] < limit:
            counts[label] += 1
            skewed.append((text, label))
    data = LabelledData.from_pairs(skewed)
    ckpt = load_checkpoint(
        _fit(tmp_path, tiny_mlm, data, name="gen-only", classifier_config=None)["checkpoint"]
    )
    codec = TextCodec(ckpt.tokenizer)
    proxy = ClassifierRunner(ckpt.proxy, codec, 48)
    source = checkpoint_source(ckpt, codec, proxy, data=data, plan=PseudoPlan(policy="bd"))
    groups = source(1, proxy)
    final = Counter(data.labels)
    for label, group in zip(data.labels, groups, strict=True):
        final[label] += len(group)
    assert final == {"joy": 12, "anger": 12, "sad": 12}


class SkewedImportance(ClassifierRunner):
    """A classifier whose importance weights put everything on the first token."""

    def importance(self, encoded):
        return [torch.nn.functional.one_hot(torch.tensor(0), len(e)).float() for e in encoded]


def test_reflective_generation_masks_with_the_classifier_after_epoch_one(tmp_path, tiny_mlm, data):
    ckpt = load_checkpoint(_fit(tmp_path, tiny_mlm, data, name="refl", classifier_config=None)["checkpoint"])
    codec = TextCodec(ckpt.tokenizer)
    proxy = ClassifierRunner(ckpt.proxy, codec, 48)
    classifier = SkewedImportance(ckpt.proxy, codec, 48)
    plan = PseudoPlan(n=2)

    def source(reflective):
        return checkpoint_source(ckpt, codec, proxy, data=data, plan=PseudoPlan(n=2, reflective=reflective))

    def direct(judge, epoch):
        augmenter = DiffusionAugmenter(
            ckpt.generator,
            codec,
            ckpt.label_ids,
            null_label_id=ckpt.null_label_id,
            schedule=ckpt.settings.schedule,
            max_length=48,
            importance_source=judge,
        )
        result = augmenter.augment(
            data.texts, data.labels, [2] * len(data), seed=1_000 * epoch, options=plan.options
        )
        groups = [[] for _ in data.texts]
        for a in result.augmentations:
            groups[a.source_index].append(a.text)
        return groups

    assert direct(classifier, 2) != direct(proxy, 2)  # the skew changes the masks
    assert source(True)(1, classifier) == direct(proxy, 1)  # epoch 1: the classifier is untrained
    assert source(True)(2, classifier) == direct(classifier, 2)
    assert source(False)(2, classifier) == direct(proxy, 2)


def test_fit_is_deterministic_for_a_seed_whatever_ran_before(tmp_path, tiny_mlm, data):
    first = load_checkpoint(
        _fit(tmp_path, tiny_mlm, data, name="a", classifier_config=CLASSIFIER, plan=PseudoPlan(n=1))[
            "checkpoint"
        ]
    )
    torch.rand(1000)  # disturb the global RNG: fresh heads must not draw from it
    second = load_checkpoint(
        _fit(tmp_path, tiny_mlm, data, name="b", classifier_config=CLASSIFIER, plan=PseudoPlan(n=1))[
            "checkpoint"
        ]
    )
    for name in ("generator", "proxy", "classifier"):
        a, b = getattr(first, name).state_dict(), getattr(second, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_the_label_probability_filter_drops_off_label_samples(tmp_path, tiny_mlm, data):
    ckpt = load_checkpoint(
        _fit(tmp_path, tiny_mlm, data, name="filter", classifier_config=None)["checkpoint"]
    )
    codec = TextCodec(ckpt.tokenizer)
    proxy = ClassifierRunner(ckpt.proxy, codec, 48)

    def kept(threshold):
        plan = PseudoPlan(n=3, min_label_prob=threshold)
        source = checkpoint_source(ckpt, codec, proxy, data=data, plan=plan)
        return source(1, proxy)

    everything, filtered = kept(0.0), kept(0.34)
    assert sum(map(len, filtered)) < sum(map(len, everything))
    probs = proxy.predict_proba([t for group in filtered for t in group])
    labels = [lbl for lbl, group in zip(data.labels, filtered, strict=True) for _ in group]
    index = {name: i for i, name in enumerate(proxy.label_names)}
    assert all(float(p[index[y]]) >= 0.34 - 1e-4 for p, y in zip(probs, labels, strict=True))


def test_fits_pseudo_sample_filter_reads_the_calibrated_scale_of_label_prob(
    tmp_path, tiny_mlm, data, monkeypatch
):
    """`fit` drops the pseudo samples its proxy gives their label under `min_label_prob` on the scale
    the API's label_prob uses: the proxy that scores them divides its logits by the temperature the
    checkpoint records for it (> 1 here), so at the same bar it keeps fewer than the raw proxy would."""
    import training.pipeline as pipeline

    handed = {}
    real = pipeline.diffusion_pseudo_source

    def spy(*args, **kwargs):  # the real pseudo-sample source; only notes which proxy it was given
        handed["proxy"] = kwargs["proxy"]
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "diffusion_pseudo_source", spy)
    plan = PseudoPlan(n=3, regenerate_every=0, min_label_prob=0.34)
    classifier = ClassifierConfig(epochs=1, lr=1e-3, batch_size=8, max_length=48)
    report = _fit(
        tmp_path,
        tiny_mlm,
        data,
        name="filtered",
        classifier_config=classifier,
        choose_classifier=False,
        plan=plan,
    )
    temperature = load_checkpoint(report["checkpoint"]).temperature("proxy")
    assert temperature > 1.0
    proxy = handed["proxy"]
    assert proxy.temperature == temperature
    # what that changes: the same texts' probabilities, as the filter reads them and raw
    texts = data.texts[:12]
    calibrated = proxy.predict_proba(texts)
    proxy.temperature = 1.0
    raw = proxy.predict_proba(texts)
    assert bool((calibrated.max(dim=-1).values < raw.max(dim=-1).values).all())  # flatter: 0.5 is stricter


def test_fit_refuses_a_taken_checkpoint_folder_before_it_trains(tmp_path, data):
    """A folder that already holds something stops `fit` before any stage runs (the base named here
    does not exist, so reaching the first stage would fail differently); --overwrite lets it go on."""
    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(CheckpointError, match="already exists"):
        fit(data, tmp_path / "no-such-base", taken, **FAST)
    with pytest.raises(OSError):  # with overwrite it gets as far as loading the base
        fit(data, tmp_path / "no-such-base", taken, overwrite=True, **FAST)


def test_pick_on_validation_takes_the_best_score_and_the_first_on_a_tie():
    assert pick_on_validation([0.5, 0.6]) == 1
    assert pick_on_validation([0.7, 0.6]) == 0
    assert pick_on_validation([0.6, 0.6]) == 0  # a tie keeps the paper's loss, listed first
    assert pick_on_validation([0.2, 0.9, 0.9]) == 1
    assert pick_on_validation([0.4]) == 0


def test_first_epoch_samples_are_made_once_for_every_classifier_and_later_ones_afresh():
    calls = []

    def source(epoch, classifier):
        calls.append((epoch, classifier))
        return [[f"e{epoch}-{classifier}"]]

    shared = first_epoch_shared(source)
    assert shared(1, "a") == [["e1-a"]] and shared(1, "b") == [["e1-a"]]  # the proxy masks epoch 1
    assert shared(2, "a") == [["e2-a"]] and shared(2, "b") == [["e2-b"]]
    assert calls == [(1, "a"), (2, "a"), (2, "b")]


def test_fit_chooses_between_lc_cross_entropy_and_the_originals_alone_only_when_asked():
    lc = NoiseResistance()
    assert classifier_candidates(lc, choose=True, augmenting=True) == [
        ClassifierCandidate(lc),
        ClassifierCandidate(PLAIN),
        ClassifierCandidate(PLAIN, pseudo_samples=False),
    ]
    # without pseudo samples the third would be the second again
    assert classifier_candidates(lc, choose=True, augmenting=False) == [
        ClassifierCandidate(lc),
        ClassifierCandidate(PLAIN),
    ]
    assert classifier_candidates(lc, choose=False, augmenting=True) == [ClassifierCandidate(lc)]
    assert classifier_candidates(PLAIN, choose=True, augmenting=True) == [ClassifierCandidate(PLAIN)]
    assert ClassifierCandidate(PLAIN, pseudo_samples=False).name == "originals only, cross-entropy alone"


def test_the_candidate_on_the_originals_alone_gets_no_pseudo_samples_and_can_be_kept():
    made = []

    def source(epoch, classifier):
        made.append(epoch)
        return [["a pseudo sample"]]

    seen = []

    def train_one(candidate, pseudo):
        samples = pseudo(1, None) if pseudo is not None else []
        seen.append((candidate.noise.weight, samples))
        f1 = {(1.0, True): 0.5, (0.0, True): 0.6, (0.0, False): 0.7}[
            (candidate.noise.weight, candidate.pseudo_samples)
        ]
        return f"model {len(seen)}", {"best_val_macro_f1": f1}

    candidates = classifier_candidates(NoiseResistance(), choose=True, augmenting=True)
    model, report, kept = train_choosing_classifier(train_one, candidates, source)
    # the two candidates with pseudo samples share the first ones (made once); the third gets none
    assert seen == [(1.0, [["a pseudo sample"]]), (0.0, [["a pseudo sample"]]), (0.0, [])]
    assert made == [1]
    assert (model, kept) == ("model 3", candidates[2])
    choice = report["classifier_choice"]
    assert choice["kept"] == 2
    assert [c["val_macro_f1"] for c in choice["candidates"]] == [0.5, 0.6, 0.7]
    assert choice["candidates"][2] == {
        "name": "originals only, cross-entropy alone",
        "contrastive_weight": 0.0,
        "pseudo_samples": False,
        "val_macro_f1": 0.7,
    }
