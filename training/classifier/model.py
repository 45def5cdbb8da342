"""The classifier model and inference: loading a sequence classifier with a fresh head, the
`ClassifierRunner` (probabilities, attention-based token importance), evaluation, and the parts of a
BERT-family classifier that mixup, label confusion and oversampling read (`head_parts`,
`head_features`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from training.classifier.trace import LogitsFn, trace_logits
from training.common import autocast, bucketed_batches, pad_batch, pretrained_kwargs, seeded, uses_bf16
from training.data import LabelledData
from training.metrics import accuracy, macro_f1
from training.schedule import importance_from_attention
from training.text import EncodedText, TextCodec


def load_classifier(
    name_or_path: str | Path, label_names: Sequence[str], device: torch.device, *, seed: int = 0
):
    """A sequence classifier on the base encoder, with a fresh head (drawn from `seed`) for `label_names`."""
    from transformers import AutoModelForSequenceClassification

    with seeded(seed):
        model = AutoModelForSequenceClassification.from_pretrained(
            str(name_or_path),
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={name: i for i, name in enumerate(label_names)},
            dtype=torch.float32,
            **pretrained_kwargs(name_or_path),
        )
    return model.to(device)


@contextlib.contextmanager
def _eager_attention(model):
    """Attention probabilities are only returned by the eager implementation; switch for the call."""
    previous = model.config._attn_implementation
    if previous != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        if previous != "eager":
            model.set_attn_implementation(previous)


class ClassifierRunner:
    """Inference around a trained sequence classifier: probabilities and token importance."""

    def __init__(
        self,
        model,
        codec: TextCodec,
        max_length: int = 128,
        *,
        batch_size: int = 64,
        precision: str = "auto",
        temperature: float = 1.0,
    ):
        self.model = model.eval()
        self.codec = codec
        self.max_length = max_length
        self.batch_size = batch_size
        self.precision = precision
        # divides the logits of `predict_proba` (training/classifier/calibration.py); 1: as trained
        self.temperature = temperature
        self.label_names: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]
        # Set by trace(): the float32 CPU forward of predict_proba (a TorchScript trace: call it under
        # torch.inference_mode, as predict_proba does).
        self.traced: LogitsFn | None = None

    def trace(self) -> bool:
        """Serve `predict_proba`'s float32 CPU forwards from a TorchScript trace of the model
        (training/classifier/trace.py); False, and the eager forward kept, where it does not trace.
        For a runner whose weights no longer change: the trace is of the model in eval mode."""
        self.traced = trace_logits(
            self.model, cls_id=self.codec.cls_id, sep_id=self.codec.sep_id, pad_id=self.codec.pad_id
        )
        return self.traced is not None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def inputs(self, encoded: Sequence[EncodedText]) -> list[list[int]]:
        # Content beyond the classifier's window is cut; the generator window is never larger.
        room = self.max_length - 2
        return [[self.codec.cls_id, *e.ids[:room], self.codec.sep_id] for e in encoded]

    @torch.inference_mode()
    def predict_proba(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> torch.Tensor:
        """(N, C) class probabilities, in the order of `texts`; `progress(k)` after each batch of k."""
        encoded = self.codec.encode(texts, self.max_length - 2)
        return self.predict_proba_encoded(encoded, progress)

    @torch.inference_mode()
    def predict_proba_encoded(
        self, encoded: Sequence[EncodedText], progress: Callable[[int], None] | None = None
    ) -> torch.Tensor:
        sequences = self.inputs(encoded)
        out = torch.empty((len(sequences), len(self.label_names)))
        device = self.device
        traced = self.traced if device.type == "cpu" else None  # a model moved off the CPU since: eager
        for batch in bucketed_batches([len(s) for s in sequences], self.batch_size, rng=None):
            ids, attention = pad_batch([sequences[i] for i in batch], self.codec.pad_id)
            if traced is not None and not uses_bf16(device, self.precision, ids.numel()):
                logits = traced(ids, attention)
            else:
                with autocast(device, self.precision, tokens=ids.numel()):
                    logits = self.model(input_ids=ids.to(device), attention_mask=attention.to(device)).logits
            out[batch] = torch.softmax(logits.float() / self.temperature, dim=-1).cpu()
            if progress is not None:
                progress(len(batch))
        return out

    @torch.inference_mode()
    def importance(self, encoded: Sequence[EncodedText]) -> list[torch.Tensor]:
        """Per text, (n,) weights in [0, 1] over its content tokens (ALGORITHM 1).

        Last layer, mean over heads, the [CLS] query's row, maskable content tokens only, divided by
        the row's maximum over those tokens.
        """
        sequences = self.inputs(encoded)
        weights: list[torch.Tensor] = [torch.empty(0)] * len(sequences)
        with _eager_attention(self.model):
            for batch in bucketed_batches([len(s) for s in sequences], self.batch_size, rng=None):
                ids, attention = pad_batch([sequences[i] for i in batch], self.codec.pad_id)
                with autocast(self.device, self.precision, tokens=ids.numel()):
                    out = self.model(
                        input_ids=ids.to(self.device),
                        attention_mask=attention.to(self.device),
                        output_attentions=True,
                    )
                cls_row = out.attentions[-1].float().mean(dim=1)[:, 0, :].cpu()  # (b, L)
                content = torch.zeros_like(cls_row, dtype=torch.bool)
                for row, i in enumerate(batch):
                    n = len(sequences[i]) - 2
                    content[row, 1 : 1 + n] = torch.tensor(encoded[i].maskable[:n], dtype=torch.bool)
                scaled = importance_from_attention(cls_row, content)  # (b, L)
                for row, i in enumerate(batch):
                    n = len(sequences[i]) - 2
                    w = torch.zeros(len(encoded[i]))
                    w[:n] = scaled[row, 1 : 1 + n]
                    weights[i] = w
        return weights


def gold_and_probabilities(runner: ClassifierRunner, data: LabelledData) -> tuple[list[int], torch.Tensor]:
    """The gold label indices of `data` in the runner's label order, and the runner's probabilities
    for its texts (n, labels)."""
    index = {name: i for i, name in enumerate(runner.label_names)}
    return [index[label] for label in data.labels], runner.predict_proba(data.texts)


def predict_labels(runner: ClassifierRunner, data: LabelledData) -> tuple[list[int], list[int]]:
    """(gold, predicted) label indices of `data`, in the runner's label order."""
    gold, probs = gold_and_probabilities(runner, data)
    return gold, probs.argmax(-1).tolist()


def evaluate_classifier(runner: ClassifierRunner, data: LabelledData) -> dict[str, float]:
    gold, predicted = predict_labels(runner, data)
    return {
        "accuracy": accuracy(gold, predicted),
        "macro_f1": macro_f1(gold, predicted, len(runner.label_names)),
    }


def head_parts(model):
    """(encoder, dropout, linear head) of a BERT-family sequence classifier, whose head reads the
    pooled [CLS] output; other architectures are refused with a clear error."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear):
        raise ValueError(
            f"{type(model).__name__} has no linear head on a pooled output; mixup, label confusion and "
            "embedding-space oversampling need a BERT-family classifier"
        )
    return model.base_model, getattr(model, "dropout", torch.nn.Identity()), head


def head_features(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features the linear head reads (B, H), last hidden states (B, L, H))."""
    encoder, dropout, _ = head_parts(model)
    out = encoder(input_ids=input_ids, attention_mask=attention_mask)
    pooled = (
        out.pooler_output if getattr(out, "pooler_output", None) is not None else out.last_hidden_state[:, 0]
    )
    return dropout(pooled), out.last_hidden_state
