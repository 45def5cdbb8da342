"""Sequence classifiers: the proxy of the noise schedule and the task classifier.

An HF `AutoModelForSequenceClassification` on the base encoder, so each saves and loads with
`save_pretrained`. Inputs are built from the codec's content ids (`[CLS] x [SEP]`), the same ids the
generator sees, so importance weights line up with generator positions one to one.

Layout: `model` (loading, inference, the head's parts), `objective` (the losses and the training
options), `loop` (fine-tuning and early stopping), `quantize` (int8 for CPU inference).
"""

from training.classifier.loop import BestWeights, ClassifierConfig, PseudoSource, train_classifier
from training.classifier.model import (
    ClassifierRunner,
    evaluate_classifier,
    head_features,
    head_parts,
    load_classifier,
    predict_labels,
)
from training.classifier.objective import (
    PLAIN,
    LabelConfusion,
    NoiseResistance,
    TrainingOptions,
    classification_loss,
    contrastive_separation_loss,
    inverse_frequency_weights,
    label_confusion_loss,
    mixup_loss,
)
from training.classifier.quantize import quantize_int8

__all__ = [
    "PLAIN",
    "BestWeights",
    "ClassifierConfig",
    "ClassifierRunner",
    "LabelConfusion",
    "NoiseResistance",
    "PseudoSource",
    "TrainingOptions",
    "classification_loss",
    "contrastive_separation_loss",
    "evaluate_classifier",
    "head_features",
    "head_parts",
    "inverse_frequency_weights",
    "label_confusion_loss",
    "load_classifier",
    "mixup_loss",
    "predict_labels",
    "quantize_int8",
    "train_classifier",
]
