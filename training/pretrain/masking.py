"""The masked-LM objective's inputs and scores: per-window mask rates, `[CLS] w [SEP]` batches with
the masked positions and their targets, and held-out masked accuracy and pseudo-perplexity."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from training.pretrain.config import PretrainConfig


def draw_masks(
    lengths: Sequence[int], config: PretrainConfig, generator: torch.Generator
) -> list[torch.Tensor]:
    """One boolean mask per window (content positions only), at least one True each."""
    masks = []
    for n in lengths:
        if float(torch.rand((), generator=generator)) < config.classic_share:
            rate = config.classic_rate
        else:
            u = float(torch.rand((), generator=generator))
            rate = config.min_rate + (config.max_rate - config.min_rate) * u
        mask = torch.rand(n, generator=generator) < rate
        if not mask.any():
            mask[int(torch.randint(0, n, (1,), generator=generator))] = True
        masks.append(mask)
    return masks


def masked_batch(
    windows: Sequence[Sequence[int]], masks: Sequence[torch.Tensor], tokenizer
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """[CLS] w [SEP] rows, masked -> (input_ids, attention_mask, positions (P, 2), targets (P,)).

    Built with whole-batch tensor operations, not a loop over rows: with a token cache this was most
    of the pretraining feed's time per step."""
    lengths = torch.tensor([len(w) for w in windows])  # (B,)
    batch, width = len(windows), int(lengths.max()) + 2
    columns = torch.arange(width)[None, :]  # (1, W)
    content = (columns >= 1) & (columns <= lengths[:, None])  # (B, W), filled in row-major order
    ids = torch.full((batch, width), tokenizer.pad_token_id, dtype=torch.long)
    ids[content] = torch.tensor([token for window in windows for token in window], dtype=torch.long)
    ids[:, 0] = tokenizer.cls_token_id
    ids[torch.arange(batch), lengths + 1] = tokenizer.sep_token_id
    attention = (columns < lengths[:, None] + 2).long()
    full = torch.zeros((batch, width), dtype=torch.bool)
    full[content] = torch.cat(list(masks))
    positions = full.nonzero()
    targets = ids[positions[:, 0], positions[:, 1]]
    return ids.masked_fill(full, tokenizer.mask_token_id), attention, positions, targets


@torch.inference_mode()
def masked_accuracy(
    model,
    tokenizer,
    windows: Sequence[Sequence[int]],
    *,
    rate: float,
    seed: int,
    batch_size: int = 64,
    precision: str = "auto",
) -> dict:
    """Top-1/top-5 accuracy and loss at the masked tokens, under masks drawn from `seed` (so every
    model is scored on the very same masks)."""
    from training.generator import MaskedLMRunner

    model.eval()
    device = next(model.parameters()).device
    runner = MaskedLMRunner(model, precision)
    generator = torch.Generator().manual_seed(seed)
    masks = []
    for window in windows:
        mask = torch.rand(len(window), generator=generator) < rate
        if not mask.any():
            mask[int(torch.randint(0, len(window), (1,), generator=generator))] = True
        masks.append(mask)
    top1 = top5 = count = 0
    loss_sum = 0.0
    for start in range(0, len(windows), batch_size):
        ids, attention, positions, targets = masked_batch(
            windows[start : start + batch_size], masks[start : start + batch_size], tokenizer
        )
        logits = runner(ids.to(device), attention.to(device), positions.to(device)).float()
        targets = targets.to(device)
        loss_sum += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        best = logits.topk(5, dim=-1).indices
        top1 += int((best[:, 0] == targets).sum())
        top5 += int((best == targets[:, None]).any(-1).sum())
        count += len(targets)
    return {
        "rate": rate,
        "masked_tokens": count,
        "top1": top1 / max(1, count),
        "top5": top5 / max(1, count),
        "loss": loss_sum / max(1, count),
    }


@torch.inference_mode()
def pseudo_perplexity(
    model, tokenizer, windows: Sequence[Sequence[int]], *, precision: str = "auto"
) -> float:
    """exp of the mean -log p(token | all other tokens), each token masked alone (Salazar et al.
    2020, "Masked Language Model Scoring"). One forward per token: keep `windows` small."""
    from training.generator import MaskedLMRunner

    model.eval()
    device = next(model.parameters()).device
    runner = MaskedLMRunner(model, precision)
    nll, count = 0.0, 0
    for window in windows:
        n = len(window)
        masks = [torch.arange(n) == i for i in range(n)]
        ids, attention, positions, targets = masked_batch([window] * n, masks, tokenizer)
        logits = runner(ids.to(device), attention.to(device), positions.to(device)).float()
        nll += float(torch.nn.functional.cross_entropy(logits, targets.to(device), reduction="sum"))
        count += n
    return math.exp(nll / max(1, count))
