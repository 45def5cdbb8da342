"""Masked-LM pretraining of a whole encoder on large unlabelled corpora (`python -m training pretrain`).

This makes the *base* model that `fit` later turns into a label-conditioned generator: the better it
fills masks, the more fluent the augmented texts. Design choices, each for a measured reason:

- Texts are streamed (`.txt`, `.txt.gz`, `.csv`/`.jsonl` text columns), cut at sentence boundaries
  and packed into windows of at most `max_length` pieces, so a 17M-word corpus is never held in
  memory as text and no compute is spent on padding. With a token cache (`token_cache`) the windows
  are tokenised once and held as int32 ids (the 74k reviews: 22M ids, 88 MB), which feeds a GPU
  8.5x faster than tokenising every step.
- Masking is token-level `[MASK]` replacement at a rate drawn per window: a share of windows use the
  classic 15% (fill-mask quality), the rest a rate in [0.05, 1) (the high rates that diffusion
  decoding starts from). Cross-entropy over masked positions only.
- The vocabulary projection runs only at masked positions (`MaskedLMRunner`): at one CPU thread
  the full projection costs about 70% of a MiniLM-L6 forward.
- AdamW with warm-up then linear decay over the step budget or the wall-clock budget, optional
  layer-wise learning-rate decay, gradient accumulation, gradient clipping.
- A resumable state (weights, optimiser, schedule, stream positions, random states) is written
  atomically every `save_every_s` seconds; `--resume` continues from it.

Layout: `config` (settings, learning rates), `data` (corpora to windows), `token_cache` (windows
tokenised once), `masking` (the objective's batches and scores), `loop` (the run, its state and
resume).
"""

from training.pretrain.config import PretrainConfig, layer_of, lr_factor, param_groups
from training.pretrain.data import (
    Source,
    WindowStream,
    heldout_name,
    heldout_windows,
    iter_documents,
    pack_windows,
    parse_source,
    split_sentences,
)
from training.pretrain.loop import REPORT_FILE, STATE_FILE, PretrainRun, run_pretraining
from training.pretrain.masking import draw_masks, masked_accuracy, masked_batch, pseudo_perplexity

__all__ = [
    "REPORT_FILE",
    "STATE_FILE",
    "PretrainConfig",
    "PretrainRun",
    "Source",
    "WindowStream",
    "draw_masks",
    "heldout_name",
    "heldout_windows",
    "iter_documents",
    "layer_of",
    "lr_factor",
    "masked_accuracy",
    "masked_batch",
    "pack_windows",
    "param_groups",
    "parse_source",
    "pseudo_perplexity",
    "run_pretraining",
    "split_sentences",
]
