"""A trained classifier's forward traced with TorchScript, for serving on the CPU.

Why: the eager Hugging Face forward spends about 2 ms of Python per call (module dispatch, mask
building, output objects) and holds the GIL while it does, so in the API it also competes with the
event loop. The traced graph runs the same kernels from C++ with the GIL released. The sample
checkpoint's MiniLM-L6 classifier on 2 CPU cores, side by side in one process, texts/s traced over
eager: int8 one text 2.2x, batches of 16 1.3x, of 64 1.0-1.2x; float32 1.5x, 1.1x, 1.0-1.3x. The
outputs were identical (largest difference 0.0). /classify's gain is in docs/SPEED.md.

A trace records one path through the Python code. BERT's forward in transformers 5 branches in
Python only on things that are fixed for an encoder (causal or not, whether the mask needs padding),
and the mask path traced from a padded example is also right for unpadded inputs. Other
architectures may differ, so `trace_logits` checks the traced forward against the eager one on other
batch sizes and lengths and gives up (None) when they differ or tracing fails: a model that does not
trace cleanly keeps its eager forward.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)

LogitsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Token lengths of the traced example's texts, and of each probe batch's texts, which the trace must
# reproduce: other batch sizes and lengths than the example's, with and without padding, a single
# text, and the shortest input ([CLS] [SEP]).
_EXAMPLE_LENGTHS = (7, 4)
_PROBE_LENGTHS = ((3,), (2,), (9, 5, 2), (12, 12, 12, 12), (30, 6, 17, 3, 11))


class _Logits(torch.nn.Module):
    """(input_ids, attention_mask) -> logits: the positional signature a trace needs."""

    def __init__(self, model: Any):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def probe_batch(lengths: tuple[int, ...], *, vocab_size: int, cls_id: int, sep_id: int, pad_id: int):
    """Right-padded ([CLS] content [SEP]) ids and their attention mask; content ids are arbitrary
    in-vocabulary tokens, distinct per position so that attention has something to tell apart."""
    longest = max(lengths)
    ids = torch.full((len(lengths), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(lengths), longest), dtype=torch.long)
    for row, length in enumerate(lengths):
        content = [(1000 + 37 * row + 11 * i) % vocab_size for i in range(length - 2)]
        ids[row, :length] = torch.tensor([cls_id, *content, sep_id])
        mask[row, :length] = 1
    return ids, mask


@torch.inference_mode()
def trace_logits(model: Any, *, cls_id: int, sep_id: int, pad_id: int, atol: float = 1e-4) -> LogitsFn | None:
    """The model's (ids, mask) -> logits forward traced for the CPU in float32, or None when it
    cannot be traced or the trace disagrees with the eager forward on the probes."""
    if next(model.parameters()).device.type != "cpu":
        return None
    model = model.eval()
    vocab_size = int(model.config.vocab_size)

    def batch(lengths: tuple[int, ...]):
        return probe_batch(lengths, vocab_size=vocab_size, cls_id=cls_id, sep_id=sep_id, pad_id=pad_id)

    wrapper = _Logits(model).eval()
    try:
        with warnings.catch_warnings():
            # The tracer warns about every Python branch it records; the probes below are the check.
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(wrapper, batch(_EXAMPLE_LENGTHS), check_trace=False, strict=False)
        for lengths in _PROBE_LENGTHS:
            ids, mask = batch(lengths)
            expected, got = wrapper(ids, mask), traced(ids, mask)
            if got.shape != expected.shape or not torch.allclose(got, expected, atol=atol, rtol=atol):
                log.warning(
                    "the traced classifier differs from the eager one on a batch of lengths %s; "
                    "serving the eager forward",
                    lengths,
                )
                return None
    except Exception as err:  # any architecture the tracer cannot follow keeps the eager forward
        log.warning("the classifier could not be traced (%s); serving the eager forward", err)
        return None
    return traced
