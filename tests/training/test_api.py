"""The Python API: augment and classify with a checkpoint, typed results."""

from __future__ import annotations

import pytest


def test_augment_and_classify_through_the_python_api(tiny_checkpoint):
    from training import Augmenter, Classifier
    from training.api import AugmentedText, Prediction

    aug = Augmenter.from_pretrained(tiny_checkpoint, device="cpu")
    assert sorted(aug.labels) == ["anger", "joy", "sad"]
    result = aug.augment(
        ["The movie was great today!", "Our team was rude again!"], ["joy", "anger"], n=3, seed=1
    )
    assert len(result.outputs) == 6 and not result.shortfalls
    for out in result.outputs:
        assert isinstance(out, AugmentedText) and out.label in ("joy", "anger")
        assert 0.0 <= out.label_prob <= 1.0 and out.predicted_label in aug.labels
        assert out.provenance["method"] == "diffusioncls" and "label_prob" not in out.provenance
    again = aug.augment(
        ["The movie was great today!", "Our team was rude again!"], ["joy", "anger"], n=3, seed=1
    )
    assert [o.text for o in again.outputs] == [o.text for o in result.outputs]
    eda = aug.augment(["The movie was great today!"], ["joy"], n=2, method="aeda")
    assert len(eda.outputs) == 2 and eda.outputs[0].provenance["method"] == "aeda"
    assert eda.outputs[0].label_prob is not None
    with pytest.raises(ValueError):
        aug.augment(["a"], ["joy", "sad"])
    # min_label_prob left out is the checkpoint's (the filter fit used), 0 turns it off
    from dataclasses import replace

    settings = aug.checkpoint.settings
    settings.sampler = replace(settings.sampler, min_label_prob=0.9)  # over anything the tiny model gives
    texts, labels = ["The movie was great today!"], ["joy"]
    assert all(o.provenance.get("below_min_label_prob") for o in aug.augment(texts, labels, n=2).outputs)
    unfiltered = aug.augment(texts, labels, n=2, min_label_prob=0)
    assert not any(o.provenance.get("below_min_label_prob") for o in unfiltered.outputs)

    clf = Classifier.from_pretrained(tiny_checkpoint, device="cpu")
    predictions = clf.predict(["The movie was great today!"])
    assert isinstance(predictions[0], Prediction) and predictions[0].label in clf.labels
    assert sum(predictions[0].probabilities.values()) == pytest.approx(1.0, abs=1e-4)
