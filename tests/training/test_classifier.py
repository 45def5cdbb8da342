import math

import pytest
import torch

from tests.conftest import english_corpus
from training.classifier import (
    ClassifierConfig,
    ClassifierRunner,
    NoiseResistance,
    classification_loss,
    contrastive_separation_loss,
    load_classifier,
    train_classifier,
)
from training.data import LabelledData
from training.metrics import accuracy, classification_report, macro_f1
from training.text import TextCodec

CPU = torch.device("cpu")


def test_contrastive_loss_hand_computed():
    # Orthogonal different-label pairs: four ordered pairs of cos 0 -> log(4) / K.
    h = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    got = contrastive_separation_loss(h, torch.tensor([0, 1, 0]), temperature=1.0)
    assert got.item() == pytest.approx(math.log(4) / 3)
    # One pair at 45 degrees, tau 0.5: log(2 * exp(cos / tau)) / 2.
    h = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    got = contrastive_separation_loss(h, torch.tensor([0, 1]), temperature=0.5)
    assert got.item() == pytest.approx((math.log(2) + math.sqrt(0.5) / 0.5) / 2)


def test_contrastive_loss_ignores_same_label_pairs_and_single_label_batches():
    h = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    same_pair_moved = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    # Moving h_1 (label 0) onto h_2 (label 1) raises the loss; same-label similarity never counts.
    assert contrastive_separation_loss(same_pair_moved, labels, 0.1) > contrastive_separation_loss(
        h, labels, 0.1
    )
    assert contrastive_separation_loss(h, torch.tensor([2, 2, 2]), 0.1).item() == 0.0


def test_contrastive_gradient_pushes_different_labels_apart():
    h = torch.tensor([[1.0, 0.2], [0.8, 0.4]], requires_grad=True)
    labels = torch.tensor([0, 1])
    before = torch.nn.functional.cosine_similarity(h[0], h[1], dim=0).item()
    contrastive_separation_loss(h, labels, 0.1).backward()
    with torch.no_grad():
        moved = h - 0.05 * h.grad
    after = torch.nn.functional.cosine_similarity(moved[0], moved[1], dim=0).item()
    assert after < before


def test_classification_loss_averages_over_every_sample():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0], [0.0, math.log(3.0)]])
    got = classification_loss(logits, torch.tensor([0, 1, 0]))
    assert got.item() == pytest.approx((-math.log(0.75) - math.log(0.5) - math.log(0.25)) / 3)


def test_metrics_hand_computed():
    gold, predicted = [0, 0, 1, 1, 2], [0, 1, 1, 1, 0]
    assert accuracy(gold, predicted) == pytest.approx(0.6)
    # F1: class 0: p 1/2 r 1/2 -> .5; class 1: p 2/3 r 1 -> .8; class 2: 0.
    assert macro_f1(gold, predicted, 3) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    report = classification_report(gold, predicted, ["a", "b", "c"])
    assert report["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def small_data():
    return LabelledData.from_pairs(english_corpus(per_label=6))


def _trained(tiny_mlm, english_tokenizer, data, *, epochs=3, lr=1e-3, batch_size=4, **kwargs):
    model = load_classifier(tiny_mlm, data.label_names, CPU)
    codec = TextCodec(english_tokenizer)
    config = ClassifierConfig(epochs=epochs, lr=lr, batch_size=batch_size, max_length=32, patience=50)
    report = train_classifier(
        model, codec, train=data, val=data, config=config, seed=0, progress=False, **kwargs
    )
    return model, codec, report


def test_pseudo_samples_are_regenerated_on_schedule_and_trained_on(tiny_mlm, english_tokenizer, small_data):
    calls = []

    def pseudo(epoch, runner):
        calls.append(epoch)
        assert isinstance(runner, ClassifierRunner)
        return [[f"{t} again"] for t in small_data.texts]

    _, _, report = _trained(
        tiny_mlm,
        english_tokenizer,
        small_data,
        epochs=5,
        pseudo=pseudo,
        regenerate_every=2,
        noise=NoiseResistance(),
    )
    assert calls == [1, 3, 5]
    history = report["history"]
    assert [r.get("pseudo_samples") for r in history] == [
        len(small_data),
        None,
        len(small_data),
        None,
        len(small_data),
    ]
    assert all(r["train_contrastive"] > 0 for r in history)


def test_plain_training_has_no_contrastive_term_and_learns(tiny_mlm, english_tokenizer, small_data):
    # A randomly initialised tiny transformer needs a high rate to leave its early plateau.
    model, codec, report = _trained(tiny_mlm, english_tokenizer, small_data, epochs=15, lr=5e-3, batch_size=6)
    assert all(r["train_contrastive"] == 0 for r in report["history"])
    assert report["history"][-1]["train_ce"] < 0.8 < math.log(3)
    assert report["best_val_macro_f1"] > 0.45  # 3 classes: chance is ~0.33


def test_the_best_validation_epoch_is_kept(tiny_mlm, english_tokenizer, small_data):
    model, codec, report = _trained(tiny_mlm, english_tokenizer, small_data, epochs=4)
    runner = ClassifierRunner(model, codec, 32)
    from training.classifier import evaluate_classifier

    assert evaluate_classifier(runner, small_data)["macro_f1"] == pytest.approx(report["best_val_macro_f1"])


def test_importance_weights_cover_content_tokens_only(tiny_checkpoint):
    from training.checkpoint import load_checkpoint

    ckpt = load_checkpoint(tiny_checkpoint, components=("classifier",))
    codec = TextCodec(ckpt.tokenizer)
    runner = ClassifierRunner(ckpt.classifier, codec, 64)
    attention = runner.model.config._attn_implementation
    encoded = codec.encode(["The movie was great today!", "the zyxw show"], 60)
    weights = runner.importance(encoded)
    assert runner.model.config._attn_implementation == attention  # eager only for the call
    assert [len(w) for w in weights] == [6, 3]
    assert weights[0].max().item() == pytest.approx(1.0) and (weights[0] >= 0).all()
    assert weights[1][1] == 0  # [UNK] is not rewritable, so it carries no weight


def test_patience_zero_trains_every_epoch_and_keeps_the_last_weights(tiny_mlm, english_tokenizer, small_data):
    model = load_classifier(tiny_mlm, small_data.label_names, CPU)
    codec = TextCodec(english_tokenizer)
    # lr 0 keeps validation macro-F1 flat: with patience 1 training would stop after epoch 2
    config = ClassifierConfig(epochs=4, lr=0.0, batch_size=4, max_length=32, patience=0)
    report = train_classifier(
        model, codec, train=small_data, val=small_data, config=config, seed=0, progress=False
    )
    assert len(report["history"]) == 4
    assert report["best_epoch"] == 4
    assert report["best_val_macro_f1"] == report["history"][-1]["val_macro_f1"]
    stopping = ClassifierConfig(epochs=4, lr=0.0, batch_size=4, max_length=32, patience=1)
    model = load_classifier(tiny_mlm, small_data.label_names, CPU)
    assert (
        len(
            train_classifier(
                model, codec, train=small_data, val=small_data, config=stopping, seed=0, progress=False
            )["history"]
        )
        == 2
    )


def test_best_weights_keeps_the_best_epoch_and_stops_after_patience():
    from training.classifier import BestWeights

    model = torch.nn.Linear(1, 1, bias=False)
    best = BestWeights(patience=2)
    stops = []
    for epoch, score in enumerate([0.5, 0.7, 0.6, 0.7], start=1):  # a tie is not better
        model.weight.data.fill_(float(epoch))  # the weights "of" each epoch
        stops.append(best.update(epoch, score, model))
    assert stops == [False, False, False, True]  # epochs 3 and 4 did not beat epoch 2
    assert (best.best_epoch, best.best_score, best.stale) == (2, 0.7, 2)
    best.restore(model)
    assert model.weight.item() == 2.0


def test_best_weights_with_patience_zero_never_stops_and_keeps_the_last_weights():
    from training.classifier import BestWeights

    model = torch.nn.Linear(1, 1, bias=False)
    best = BestWeights(patience=0)
    for epoch, score in enumerate([0.9, 0.1, 0.1, 0.1], start=1):
        model.weight.data.fill_(float(epoch))
        assert best.update(epoch, score, model) is False
    best.restore(model)  # nothing was copied: the last weights stay
    assert model.weight.item() == 4.0 and best.best_epoch == 1


def test_probe_batch_is_right_padded_cls_content_sep():
    from training.classifier.trace import probe_batch

    ids, mask = probe_batch((4, 2), vocab_size=2000, cls_id=101, sep_id=102, pad_id=0)
    # content ids: (1000 + 37 * row + 11 * i) % vocab_size; row 1 has no content
    assert ids.tolist() == [[101, 1000, 1011, 102], [101, 102, 0, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


@pytest.mark.parametrize("quantize", [False, True])
def test_traced_runner_gives_the_eager_probabilities_at_any_batch_and_length(tiny_checkpoint, quantize):
    from training.checkpoint import load_checkpoint
    from training.classifier import quantize_int8

    ckpt = load_checkpoint(tiny_checkpoint, components=("classifier",))
    model = quantize_int8(ckpt.classifier) if quantize else ckpt.classifier
    codec = TextCodec(ckpt.tokenizer)
    # The same batches for both (int8 quantises activations per batch, so other batches give other
    # numbers); the trace was made on an example of another shape.
    eager = ClassifierRunner(model, codec, 64, precision="fp32", batch_size=4)
    traced = ClassifierRunner(model, codec, 64, precision="fp32", batch_size=4)
    assert traced.trace() and traced.traced is not None
    texts = [
        "ok",
        "The movie was great today!",
        "a much longer text about the weather, the film and the long queue outside the cinema",
        "sad",
        "I loved it",
        "what a terrible, boring and far too long evening it was",
    ]
    for chunk in (texts[:1], texts[1:2], texts, texts[2:5]):
        expected = eager.predict_proba(chunk)
        got = traced.predict_proba(chunk)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


class _ShapeDependent(torch.nn.Module):
    """A 'classifier' whose Python branches on the batch size, which a trace cannot follow."""

    def __init__(self):
        super().__init__()
        self.config = type("Config", (), {"vocab_size": 2000})()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, input_ids, attention_mask):
        features = attention_mask.float().sum(dim=1, keepdim=True) * self.scale
        if input_ids.shape[0] == 2:  # the traced example's batch size: recorded as always true
            features = features * 2
        return type("Output", (), {"logits": features})()


def test_a_trace_that_disagrees_with_the_eager_forward_is_refused(caplog):
    from training.classifier.trace import trace_logits

    assert trace_logits(_ShapeDependent(), cls_id=1, sep_id=2, pad_id=0) is None
    assert "differs from the eager one on a batch of lengths (3,)" in caplog.text


def test_tracing_is_cpu_only():
    from training.classifier.trace import trace_logits

    model = _ShapeDependent().to("meta")
    assert trace_logits(model, cls_id=1, sep_id=2, pad_id=0) is None


def test_a_calibrated_copy_scales_the_same_models_probabilities_by_the_fitted_temperature(tiny_checkpoint):
    import copy

    from training.checkpoint import load_checkpoint
    from training.classifier.calibration import calibrate_on, calibrated_copy

    ckpt = load_checkpoint(tiny_checkpoint, components=("classifier",))
    model = copy.deepcopy(ckpt.classifier)
    # an overconfident classifier: its head's weights times 40, so validation asks for T > 1
    with torch.no_grad():
        for p in model.classifier.parameters():
            p.mul_(40.0)
    codec = TextCodec(ckpt.tokenizer)
    runner = ClassifierRunner(model, codec, 64, precision="fp32")
    names = runner.label_names
    texts = ["The movie was great today!", "the zyxw show", "what a sad day", "I am so angry", "fine"]
    val = LabelledData(tuple(texts), tuple(names[i % len(names)] for i in range(len(texts))))
    calibrated = calibrated_copy(runner, val)
    temperature = calibrate_on(runner, val)["temperature"]
    assert calibrated.model is runner.model and runner.temperature == 1.0
    assert calibrated.temperature == temperature > 1.0
    raw = runner.predict_proba(texts)
    expected = torch.softmax(raw.log() / temperature, dim=-1)
    assert torch.allclose(calibrated.predict_proba(texts), expected, atol=1e-4)
    assert torch.equal(calibrated.predict_proba(texts).argmax(-1), raw.argmax(-1))
