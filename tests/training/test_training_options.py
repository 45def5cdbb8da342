"""Training-time options from the seeds: label confusion, mixup, embedding-space oversampling."""

import math

import pytest
import torch

from tests.conftest import english_corpus
from training.classifier import (
    ClassifierConfig,
    LabelConfusion,
    TrainingOptions,
    label_confusion_loss,
    load_classifier,
    mixup_loss,
    train_classifier,
)
from training.data import LabelledData
from training.oversample import (
    borderline_smote,
    danger_members,
    oversample,
    random_oversample,
    rebalance_head,
    shortfalls,
    smote,
    vae_oversample,
)
from training.text import TextCodec


def test_label_confusion_loss_hand_computed():
    # c uniform over 2 labels, alpha = 1, gold = 0: simulated = softmax([1.5, 0.5]) = [e/(e+1), 1/(e+1)].
    logits = torch.tensor([[0.0, 0.0]])
    got = label_confusion_loss(logits, torch.tensor([0]), torch.tensor([[0.5, 0.5]]), alpha=1.0)
    s = torch.tensor([math.e / (math.e + 1), 1 / (math.e + 1)])
    expected = (s * (s.log() - math.log(0.5))).sum()
    assert got.item() == pytest.approx(expected.item())
    # When the prediction equals the simulated distribution the loss is zero.
    assert label_confusion_loss(
        s.log().unsqueeze(0), torch.tensor([0]), torch.tensor([[0.5, 0.5]]), alpha=1.0
    ).item() == pytest.approx(0, abs=1e-6)


def test_label_confusion_model_outputs_a_distribution():
    model = LabelConfusion(3, 8, seed=0)
    c = model(torch.randn(5, 8))
    assert c.shape == (5, 3) and torch.allclose(c.sum(-1), torch.ones(5)) and (c > 0).all()


def test_mixup_loss_hand_computed():
    head = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.eye(2))
    features = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    targets = torch.tensor([0, 1])
    got = mixup_loss(head, features, targets, weight=0.75, partner=torch.tensor([1, 0]))
    # Mixed rows: [1.5, 0.5] and [0.5, 1.5]; scored 0.75 against own label, 0.25 against the partner's.
    p = torch.log_softmax(torch.tensor([1.5, 0.5]), -1)
    expected = 0.75 * -p[0] + 0.25 * -p[1]
    assert got.item() == pytest.approx(expected.item())


def test_shortfalls_bring_every_class_to_the_largest():
    assert shortfalls(torch.tensor([0, 0, 0, 1, 2, 2]), 3) == [0, 2, 1]


def _two_classes():
    a = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    b = torch.randn(8, 2, generator=torch.Generator().manual_seed(0)) + torch.tensor([10.0, 10.0])
    return torch.cat([a, b]), torch.tensor([0, 0] + [1] * 8)


def test_random_oversampling_copies_members_of_the_short_class():
    x, y = _two_classes()
    new_x, new_y = random_oversample(x, y, torch.Generator().manual_seed(0))
    assert new_y.tolist() == [0] * 6
    assert all(any(torch.equal(row, m) for m in x[:2]) for row in new_x)


def test_smote_points_lie_between_same_class_neighbours():
    x, y = _two_classes()
    new_x, new_y = smote(x, y, torch.Generator().manual_seed(0))
    assert new_y.tolist() == [0] * 6
    assert torch.all(new_x[:, 1] == 0) and torch.all((new_x[:, 0] >= 0) & (new_x[:, 0] <= 2))
    assert len({round(v, 5) for v in new_x[:, 0].tolist()}) > 1  # not copies


def test_borderline_smote_starts_from_border_members_only():
    # Class 0: a safe cluster near 0 and one member (x=5) among class-1 points, with one class-0 neighbour.
    x = torch.tensor([[0.0], [0.1], [0.2], [4.8], [5.0], [5.3], [5.4], [5.6], [9.0], [9.1], [9.2], [9.3]])
    y = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    assert danger_members(x, y, c=0, m=4).tolist() == [3, 4]
    new_x, new_y = borderline_smote(x, y, torch.Generator().manual_seed(0), k=2, m=4)
    assert new_y.tolist() == [0, 0]
    # Started at 4.8 or 5.0, moved towards one of their 2 nearest class-0 neighbours.
    assert torch.all((new_x >= 0.1) & (new_x <= 5.0))


def test_vae_samples_resemble_their_class():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(20, 4, generator=gen) * 0.3
    b = torch.randn(60, 4, generator=gen) * 0.3 + 3.0
    x, y = torch.cat([a, b]), torch.tensor([0] * 20 + [1] * 60)
    new_x, new_y = vae_oversample(x, y, torch.Generator().manual_seed(1), epochs=200)
    assert new_y.tolist() == [0] * 40
    assert new_x.mean(0).norm() < (new_x.mean(0) - 3.0).norm()


def test_oversample_is_seeded_and_checks_the_method():
    x, y = _two_classes()
    assert torch.equal(oversample("smote", x, y, seed=3)[0], oversample("smote", x, y, seed=3)[0])
    with pytest.raises(ValueError, match="unknown oversampler"):
        oversample("adasyn", x, y, seed=0)


@pytest.fixture(scope="module")
def skewed():
    rows, counts = [], {"joy": 0, "anger": 0, "sad": 0}
    for text, label in english_corpus(per_label=12):
        if counts[label] < {"joy": 12, "anger": 6, "sad": 3}[label]:
            counts[label] += 1
            rows.append((text, label))
    return LabelledData.from_pairs(rows)


def test_training_options_run_and_rebalancing_balances_the_head(tiny_mlm, english_tokenizer, skewed):
    codec = TextCodec(english_tokenizer)
    config = ClassifierConfig(epochs=2, lr=1e-3, batch_size=4, max_length=32)
    for options in (TrainingOptions(label_confusion_alpha=4.0), TrainingOptions(mixup_alpha=0.4)):
        model = load_classifier(tiny_mlm, skewed.label_names, torch.device("cpu"))
        report = train_classifier(
            model, codec, train=skewed, val=skewed, config=config, seed=0, progress=False, options=options
        )
        assert all(math.isfinite(r["train_loss"]) for r in report["history"])
    before = model.classifier.weight.detach().clone()
    result = rebalance_head(model, codec, skewed, method="smote", seed=0, max_length=32, epochs=5)
    assert result["synthetic"] == 9 + 6 and result["counts_after"] == [12, 12, 12]
    assert not torch.equal(before, model.classifier.weight)
