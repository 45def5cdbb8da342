"""Small pieces shared by the training loops and the sampler: devices, seeds, optimisers, batching."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch


def quiet_transformers() -> None:
    """Keep transformers' load reports and per-file progress bars out of our CLI output."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("transformers").setLevel(logging.ERROR)


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pretrained_kwargs(name_or_path: str | Path) -> dict:
    """Load a local folder strictly offline; a hub id follows the HF_HUB_OFFLINE setting."""
    return (
        {"local_files_only": True} if Path(name_or_path).exists() or os.environ.get("HF_HUB_OFFLINE") else {}
    )


PRECISIONS = ("fp32", "bf16", "auto")


def native_bf16(device: torch.device) -> bool:
    """Whether matrix products in bfloat16 run natively (AMX / AVX512-BF16 on CPU, bf16 on CUDA)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_bf16_kind() is not None


@functools.cache
def cpu_bf16_kind() -> str | None:
    """Which CPU instructions compute bfloat16 products here: "amx_bf16", "avx512_bf16" or None (the
    kernels differ, so a benchmark records it beside its figures)."""
    # Read once: every forward under "auto" precision asks, and /proc/cpuinfo is long on big hosts.
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return None
    return next((kind for kind in ("amx_bf16", "avx512_bf16") if kind in flags), None)


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


# Below this many tokens in a forward pass (batch x padded length), "auto" stays in float32: autocast
# casts every weight matrix to bfloat16 on each call, which costs more than it saves on a tiny input
# (MiniLM-L6 on 2 CPU cores: one 11-token text 8.0 ms fp32 vs 11.3 ms bf16; crossover between 44
# and 88 tokens for short texts, 80 and 160 for long ones; 32 texts: 68 ms fp32 vs 50 ms bf16).
AUTO_BF16_MIN_TOKENS = 64


def uses_bf16(device: torch.device, precision: str, tokens: int | None = None) -> bool:
    """Whether `autocast` runs a forward of `tokens` tokens in bfloat16."""
    if precision == "auto" and tokens is not None and tokens < AUTO_BF16_MIN_TOKENS:
        return False
    return resolve_precision(precision, device) == "bf16"


def autocast(device: torch.device, precision: str, tokens: int | None = None):
    """Mixed precision for a forward pass: weights stay float32; matrix products run in bfloat16 when
    `precision` resolves to bf16 (about 3x faster forwards on CPUs with AMX). With `tokens` given,
    "auto" keeps float32 for inputs below AUTO_BF16_MIN_TOKENS. Losses are computed on float32
    copies of the logits by the callers."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(device, precision, tokens))


def derive_seed(*parts: int | str) -> int:
    """A 63-bit seed from a tuple of parts, stable across runs and platforms (unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def local_generator(*parts: int | str) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


@contextlib.contextmanager
def seeded(seed: int):
    """Run a block (model construction, whose fresh weights come from torch's global RNG) under a
    local seed, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def adamw(model: torch.nn.Module, *, lr: float, weight_decay: float, fast_lr: dict[str, float] | None = None):
    """AdamW without weight decay on biases and LayerNorms.

    fast_lr maps a parameter-name prefix to its own learning rate (a freshly created head learns
    faster than the pretrained encoder under it).
    """
    fast_lr = fast_lr or {}
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        rate = next((r for prefix, r in fast_lr.items() if name.startswith(prefix)), lr)
        decay = 0.0 if param.dim() < 2 or "LayerNorm" in name or "layer_norm" in name else weight_decay
        groups.setdefault((rate, decay), []).append(param)
    return torch.optim.AdamW(
        [{"params": p, "lr": r, "weight_decay": d} for (r, d), p in groups.items()],
        betas=(0.9, 0.98),
        eps=1e-6,
    )


def optimiser_step(model: torch.nn.Module, loss: torch.Tensor, optimizer, *, scheduler) -> None:
    """Backpropagate `loss`, clip the gradient norm to 1, step the optimiser and the schedule."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()


def linear_warmup_decay(optimizer, total_steps: int, warmup_steps: int):
    """Linear warm-up to the base rate, then linear decay to zero at `total_steps`."""
    total_steps = max(1, total_steps)
    warmup_steps = min(max(0, warmup_steps), total_steps - 1)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random | None, *, pool_batches: int = 50
) -> Iterator[list[int]]:
    """Index batches of similar length (less padding); shuffled when an rng is given.

    Indices are shuffled, cut into pools of `pool_batches` batches, sorted by length inside each
    pool, batched, and the batches shuffled. Without an rng: sorted by length, in order.
    """
    order = list(range(len(lengths)))
    if rng is None:
        order.sort(key=lambda i: lengths[i])
        for start in range(0, len(order), batch_size):
            yield order[start : start + batch_size]
        return
    rng.shuffle(order)
    pool = batch_size * pool_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[s : s + batch_size] for s in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    yield from batches


def token_limited_batches(lengths: Sequence[int], max_items: int, max_tokens: int) -> Iterator[list[int]]:
    """Index batches in order of length, each of at most `max_items` items and at most `max_tokens`
    padded tokens (items x the batch's longest length); an item longer than `max_tokens` goes alone.

    Bounding tokens, not items, bounds the memory of a forward pass: 64 texts of 128 tokens cost four
    times 64 texts of 32."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batch: list[int] = []
    for i in order:
        # sorted ascending, so item i is the longest of the batch it joins
        if batch and (len(batch) == max_items or (len(batch) + 1) * lengths[i] > max_tokens):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists -> (input_ids (B, L), attention_mask (B, L))."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        attention[row, : len(seq)] = 1
    return ids, attention


def library_versions() -> dict[str, str]:
    import tokenizers
    import transformers

    from training import __version__

    return {
        "diffusioncls": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def print_epoch(desc: str, record: dict) -> None:
    """One line per finished epoch of a training loop: its name, then every score of `record`."""
    from tqdm.auto import tqdm

    tqdm.write(
        f"{desc} epoch {record['epoch']}: "
        + ", ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
    )
