"""Masked-LM pretraining of a whole encoder on large unlabelled corpora (`python -m training pretrain`).

This makes the *base* model that `fit` later turns into a label-conditioned generator: the better it
fills masks, the more fluent the augmented texts. Design choices, each for a measured reason:

- Texts are streamed (`.txt`, `.txt.gz`, `.csv`/`.jsonl` text columns), cut at sentence boundaries
  and packed into windows of at most `max_length` pieces, so a 17M-word corpus is never held in
  memory and no compute is spent on padding.
- Masking is token-level `[MASK]` replacement at a rate drawn per window: a share of windows use the
  classic 15% (fill-mask quality), the rest a rate in [0.05, 1) (the high rates that diffusion
  decoding starts from). Cross-entropy over masked positions only.
- The vocabulary projection runs only at masked positions (`MaskedLMRunner`): at one CPU thread
  the full projection costs about 70% of a MiniLM-L6 forward.
- AdamW with warm-up then linear decay over the step budget or the wall-clock budget, optional
  layer-wise learning-rate decay, gradient accumulation, gradient clipping.
- A resumable state (weights, optimiser, schedule, stream positions, random states) is written
  atomically every `save_every_s` seconds; `--resume` continues from it.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from training.common import pretrained_kwargs, resolve_device, resolve_precision

log = logging.getLogger(__name__)

STATE_FILE = "pretrain-state.pt"
REPORT_FILE = "pretrain.json"

# A sentence ends at . ! ? (possibly followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")


@dataclass(frozen=True)
class PretrainConfig:
    lr: float = 3e-4  # peak learning rate of the top layer and the head
    layer_decay: float = 1.0  # layer-wise decay: layer i of L gets lr * decay**(L - i); 1 = none
    head_lr: float | None = None  # the MLM head's own rate (None = lr); a head created here wants 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    batch_size: int = 64  # windows per optimiser step, split into `accumulate` micro-batches
    accumulate: int = 1
    max_length: int = 64  # pieces per window, [CLS] and [SEP] included
    classic_share: float = 0.5  # share of windows masked at exactly `classic_rate`
    classic_rate: float = 0.15
    min_rate: float = 0.05  # the other windows draw their rate from U(min_rate, max_rate)
    max_rate: float = 1.0
    steps: int | None = None  # optimiser steps; None = until `minutes` is spent
    minutes: float | None = None  # wall-clock budget of training (evaluation excluded)
    eval_every: int = 200  # steps between held-out evaluations
    eval_windows: int = 256
    save_every_s: float = 300.0
    shuffle_buffer: int = 4096  # windows held and shuffled while streaming
    precision: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps is None and self.minutes is None:
            raise ValueError("give a step budget (steps) or a time budget (minutes)")
        if self.batch_size % self.accumulate:
            raise ValueError("batch_size must be a multiple of accumulate")
        if not 0.0 < self.layer_decay <= 1.0:
            raise ValueError("layer_decay must be in (0, 1]")
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8")
        if not 0.0 < self.min_rate <= self.max_rate <= 1.0:
            raise ValueError("need 0 < min_rate <= max_rate <= 1")

    def budget_fraction(self, step: int, seconds: float) -> float:
        """How much of the budget is spent (drives the learning-rate decay and the stop)."""
        parts = []
        if self.steps is not None:
            parts.append(step / self.steps)
        if self.minutes is not None:
            parts.append(seconds / (60.0 * self.minutes))
        return max(parts)


# ---------------------------------------------------------------------------------------------
# Pure pieces: sentence splitting, window packing, masking, learning-rate factor.


def split_sentences(text: str) -> list[str]:
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        sentences.append(text[start : end.end()].strip())
        start = end.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def pack_windows(sentences: Sequence[Sequence[int]], max_content: int) -> list[list[int]]:
    """Greedily pack consecutive sentences' ids into windows of at most `max_content` ids.

    A sentence longer than a window is cut into window-sized pieces. Windows never cross documents
    (the caller packs one document at a time).
    """
    windows: list[list[int]] = []
    current: list[int] = []
    for ids in sentences:
        ids = list(ids)
        while len(ids) > max_content:
            if current:
                windows.append(current)
                current = []
            windows.append(ids[:max_content])
            ids = ids[max_content:]
        if not ids:
            continue
        if len(current) + len(ids) > max_content:
            windows.append(current)
            current = []
        current.extend(ids)
    if current:
        windows.append(current)
    return windows


def lr_factor(fraction: float, step: int, warmup_steps: int) -> float:
    """Linear warm-up over `warmup_steps`, then linear decay to 0 as the budget `fraction` reaches 1."""
    if step < warmup_steps:
        return (step + 1) / (warmup_steps + 1)
    return max(0.0, 1.0 - fraction)


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


# ---------------------------------------------------------------------------------------------
# Streaming corpora.


@dataclass
class Source:
    path: Path
    weight: float = 1.0
    text_column: str = "text"
    position: int = 0  # documents consumed so far (for resume)
    passes: int = 0


def parse_source(spec: str, text_column: str = "text") -> Source:
    """`path` or `path:weight` (weight: relative share of windows drawn from this file)."""
    path, _, weight = spec.rpartition(":") if re.search(r":[0-9.]+$", spec) else (spec, "", "")
    return Source(Path(path), float(weight) if weight else 1.0, text_column)


def iter_documents(source: Source) -> Iterator[str]:
    """Every non-empty text of a file, in file order."""
    name = source.path.name.lower()
    if name.endswith(".txt") or name.endswith(".txt.gz"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(source.path, "rt", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    yield line
    else:
        from training.data import read_texts

        yield from read_texts(source.path, source.text_column)


class WindowStream:
    """Windows drawn from several sources by weight, through a shuffle buffer.

    Each source is read in order and restarted when exhausted; `state()` records how many documents
    of each were consumed, so a resumed run skips them instead of training on them twice.
    """

    def __init__(self, sources: Sequence[Source], tokenizer, max_content: int, config: PretrainConfig):
        self.sources = list(sources)
        self.tokenizer = tokenizer
        self.max_content = max_content
        self.rng = random.Random(config.seed)
        self.buffer_size = config.shuffle_buffer
        self.buffer: list[list[int]] = []
        self.pending: list[list[list[int]]] = [[] for _ in self.sources]
        self.iterators: list[Iterator[str] | None] = [None for _ in self.sources]

    def _documents(self, k: int) -> Iterator[str]:
        source = self.sources[k]
        it = self.iterators[k]
        if it is None:
            it = iter_documents(source)
            for _ in range(source.position):
                next(it, None)
            self.iterators[k] = it
        return it

    def _refill(self, k: int, docs: int = 64) -> None:
        """Tokenise the next `docs` documents of source k into its pending windows."""
        texts: list[str] = []
        while len(texts) < docs:
            doc = next(self._documents(k), None)
            if doc is None:
                source = self.sources[k]
                if source.position == 0:
                    raise ValueError(f"{source.path} has no non-empty texts")
                source.passes += 1
                source.position = 0
                self.iterators[k] = None
                if not texts:
                    continue
                break
            self.sources[k].position += 1
            texts.append(doc)
        sentences_per_doc = [split_sentences(t) for t in texts]
        flat = [s for doc in sentences_per_doc for s in doc]
        encoded = self.tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
        cursor = 0
        for sentences in sentences_per_doc:
            ids = encoded[cursor : cursor + len(sentences)]
            cursor += len(sentences)
            self.pending[k].extend(w for w in pack_windows(ids, self.max_content) if w)

    def _draw_window(self) -> list[int]:
        weights = [s.weight for s in self.sources]
        k = self.rng.choices(range(len(self.sources)), weights=weights)[0]
        if not self.pending[k]:
            self._refill(k)
        return self.pending[k].pop(0)

    def next_batch(self, size: int) -> list[list[int]]:
        while len(self.buffer) < self.buffer_size:
            self.buffer.append(self._draw_window())
        batch = []
        for _ in range(size):
            i = self.rng.randrange(len(self.buffer))
            batch.append(self.buffer[i])
            self.buffer[i] = self._draw_window()
        return batch

    def state(self) -> dict:
        return {
            "sources": [
                {"path": str(s.path), "position": s.position, "passes": s.passes} for s in self.sources
            ],
            "rng": self.rng.getstate(),
            "buffer": self.buffer,
            "pending": self.pending,
        }

    def restore(self, state: dict) -> None:
        for source, saved in zip(self.sources, state["sources"], strict=True):
            if Path(saved["path"]) != source.path:
                raise ValueError(f"--resume needs the same --texts in the same order ({saved['path']})")
            source.position, source.passes = saved["position"], saved["passes"]
        self.rng.setstate(_tuplify(state["rng"]))
        self.buffer = state["buffer"]
        self.pending = state["pending"]
        self.iterators = [None for _ in self.sources]


def _tuplify(value):
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# Model pieces.


def masked_batch(
    windows: Sequence[Sequence[int]], masks: Sequence[torch.Tensor], tokenizer
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """[CLS] w [SEP] rows, masked -> (input_ids, attention_mask, positions (P, 2), targets (P,))."""
    width = max(len(w) for w in windows) + 2
    ids = torch.full((len(windows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros((len(windows), width), dtype=torch.long)
    full = torch.zeros((len(windows), width), dtype=torch.bool)
    for row, (window, mask) in enumerate(zip(windows, masks, strict=True)):
        n = len(window)
        ids[row, 0] = tokenizer.cls_token_id
        ids[row, 1 : n + 1] = torch.as_tensor(window, dtype=torch.long)
        ids[row, n + 1] = tokenizer.sep_token_id
        attention[row, : n + 2] = 1
        full[row, 1 : n + 1] = mask
    positions = full.nonzero()
    targets = ids[positions[:, 0], positions[:, 1]]
    return ids.masked_fill(full, tokenizer.mask_token_id), attention, positions, targets


def layer_of(name: str, n_layers: int) -> int:
    """Depth of a parameter for layer-wise decay: 0 embeddings, 1..L encoder layers, L+1 the rest."""
    if "embeddings" in name:
        return 0
    found = re.search(r"\.layer\.(\d+)\.", name)
    return int(found.group(1)) + 1 if found else n_layers + 1


def param_groups(model, config: PretrainConfig) -> list[dict]:
    n_layers = int(getattr(model.config, "num_hidden_layers", 0))
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    seen: set[int] = set()
    for name, param in model.named_parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        depth = layer_of(name, n_layers)
        rate = config.lr * config.layer_decay ** (n_layers + 1 - depth)
        if depth == n_layers + 1 and "embeddings" not in name and config.head_lr is not None:
            rate = config.head_lr
        decay = 0.0 if param.dim() < 2 or "LayerNorm" in name or "layer_norm" in name else config.weight_decay
        groups.setdefault((rate, decay), []).append(param)
    return [{"params": p, "lr": r, "weight_decay": d, "base_lr": r} for (r, d), p in groups.items()]


@torch.inference_mode()
def masked_accuracy(
    model,
    tokenizer,
    windows: Sequence[Sequence[int]],
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
def pseudo_perplexity(model, tokenizer, windows: Sequence[Sequence[int]], precision: str = "auto") -> float:
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


def heldout_name(path: str | Path) -> str:
    """A held-out file's short name: dataset folder and split for a table (india_covid_x/test.csv ->
    india_covid_x/test), else the file's stem."""
    p = Path(path)
    stem = p.name.split(".")[0]
    return f"{p.parent.name}/{stem}" if p.suffix in (".csv", ".tsv", ".jsonl") else stem


def heldout_windows(
    path: str | Path, tokenizer, max_length: int, limit: int, text_column: str = "text"
) -> list[list[int]]:
    """The first `limit` windows of a held-out file, packed exactly as training windows are."""
    source = Source(Path(path), text_column=text_column)
    windows: list[list[int]] = []
    for doc in iter_documents(source):
        sentences = split_sentences(doc)
        ids = tokenizer(sentences, add_special_tokens=False)["input_ids"] if sentences else []
        windows.extend(w for w in pack_windows(ids, max_length - 2) if w)
        if len(windows) >= limit:
            break
    return windows[:limit]


# ---------------------------------------------------------------------------------------------
# The loop.


@dataclass
class PretrainRun:
    base: str
    sources: list[Source]
    out: Path
    config: PretrainConfig
    heldout: dict[str, list[list[int]]] = field(default_factory=dict)
    device: str = "auto"
    resume: bool = False
    progress: bool = True


def _save_state(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _evaluate(model, tokenizer, heldout: dict[str, list[list[int]]], config: PretrainConfig) -> dict:
    scores = {}
    for name, windows in heldout.items():
        result = masked_accuracy(model, tokenizer, windows, 0.15, seed=1234, precision=config.precision)
        scores[name] = round(result["top1"], 4)
    model.train()
    return scores


@dataclass
class _Progress:
    """Where a pretraining run stands: what is saved in its resumable state besides the weights."""

    step: int = 0
    seconds: float = 0.0  # training time, loading and evaluation excluded
    tokens: int = 0
    history: list[dict] = field(default_factory=list)


def run_pretraining(run: PretrainRun) -> dict:
    """Train until the budget is spent; write the model folder (fp16 safetensors) and a report."""
    from transformers import AutoTokenizer

    from training.generator import MaskedLMRunner, load_base_mlm

    config = run.config
    dev = resolve_device(run.device)
    precision = resolve_precision(config.precision, dev)
    run.out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(run.base), **pretrained_kwargs(run.base))
    model, head_created = load_base_mlm(run.base, dev, config.seed)
    if head_created and config.head_lr is None:
        log.warning("%s has no MLM head: created one; consider --head-lr 1e-3", run.base)
    groups = param_groups(model, config)
    optimizer = torch.optim.AdamW(groups, betas=(0.9, 0.98), eps=1e-6)
    stream = WindowStream(run.sources, tokenizer, config.max_length - 2, config)
    generator = torch.Generator().manual_seed(config.seed)
    progress = _Progress()
    if run.resume and (run.out / STATE_FILE).exists():
        progress = _resume(
            run.out / STATE_FILE,
            model=model,
            optimizer=optimizer,
            groups=groups,
            stream=stream,
            generator=generator,
            device=dev,
        )
    runner = MaskedLMRunner(model, precision)
    if not progress.history:
        progress.history.append(
            {"step": 0, "tokens": 0, "heldout_top1_15": _evaluate(model, tokenizer, run.heldout, config)}
        )
        print(
            f"pretrain: step 0 held-out top-1 at 15%: {progress.history[-1]['heldout_top1_15']}", flush=True
        )
    _train_until_budget(
        run,
        model=model,
        runner=runner,
        optimizer=optimizer,
        stream=stream,
        generator=generator,
        tokenizer=tokenizer,
        progress=progress,
        device=dev,
    )
    final = _evaluate(model, tokenizer, run.heldout, config)
    if not progress.history or progress.history[-1]["step"] != progress.step:
        progress.history.append(_checkpoint_score(progress, final))
    model.eval()
    model.half().save_pretrained(run.out, safe_serialization=True)
    model.float()
    tokenizer.save_pretrained(run.out)
    report = _report(run, head_created, progress, dev, precision)
    (run.out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


def _train_until_budget(
    run: PretrainRun, *, model, runner, optimizer, stream, generator, tokenizer, progress: _Progress, device
) -> None:
    """Optimiser steps until the step or time budget is spent, with the learning-rate schedule, progress
    lines every 30 s, held-out scores every `eval_every` steps and the resumable state saved every
    `save_every_s` seconds; `progress` is updated in place."""
    config = run.config
    model.train()
    last_save = last_print = time.monotonic()
    window_loss, window_tokens = 0.0, 0
    while config.budget_fraction(progress.step, progress.seconds) < 1.0:
        started = time.perf_counter()
        factor = lr_factor(
            config.budget_fraction(progress.step, progress.seconds), progress.step, config.warmup_steps
        )
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        windows = stream.next_batch(config.batch_size)
        masks = draw_masks([len(w) for w in windows], config, generator)
        loss_sum, n_masked = _train_step(
            windows,
            masks,
            model=model,
            runner=runner,
            optimizer=optimizer,
            tokenizer=tokenizer,
            config=config,
            device=device,
        )
        progress.step += 1
        progress.tokens += sum(len(w) + 2 for w in windows)
        progress.seconds += time.perf_counter() - started
        window_loss, window_tokens = window_loss + loss_sum, window_tokens + n_masked
        if run.progress and time.monotonic() - last_print >= 30:
            _print_progress(progress, config, window_loss / max(1, window_tokens), factor)
            window_loss, window_tokens = 0.0, 0
            last_print = time.monotonic()
        if config.eval_every and progress.step % config.eval_every == 0:
            progress.history.append(
                _checkpoint_score(progress, _evaluate(model, tokenizer, run.heldout, config))
            )
            print(
                f"pretrain: step {progress.step} held-out top-1 at 15%: {progress.history[-1]['heldout_top1_15']}",
                flush=True,
            )
        if time.monotonic() - last_save >= config.save_every_s:
            _save_state(run.out / STATE_FILE, _state(model, optimizer, stream, generator, progress, config))
            last_save = time.monotonic()


def _train_step(
    windows, masks, *, model, runner, optimizer, tokenizer, config: PretrainConfig, device
) -> tuple[float, int]:
    """One optimiser step over `windows` in micro-batches (gradients accumulated, each micro-batch
    weighted by its share of the masked tokens); (summed loss over masked tokens, masked tokens)."""
    from training.generator import masked_diffusion_loss

    optimizer.zero_grad(set_to_none=True)
    micro = config.batch_size // config.accumulate
    n_masked = sum(int(m.sum()) for m in masks)
    loss_sum = 0.0
    for start in range(0, config.batch_size, micro):
        ids, attention, positions, targets = masked_batch(
            windows[start : start + micro], masks[start : start + micro], tokenizer
        )
        logits = runner(ids.to(device), attention.to(device), positions.to(device))
        loss = masked_diffusion_loss(logits, targets.to(device)) * (len(targets) / n_masked)
        loss.backward()
        loss_sum += loss.item() * n_masked
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss_sum, n_masked


def _resume(state_path: Path, *, model, optimizer, groups, stream, generator, device) -> _Progress:
    state = torch.load(state_path, map_location=device, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    # The saved groups carry the old run's peak rates; this run's config decides them (a resumed
    # run may lower the rate, say). Groups come out of `param_groups` in the same order.
    for group, fresh in zip(optimizer.param_groups, groups, strict=True):
        group["base_lr"] = fresh["base_lr"]
    stream.restore(state["stream"])
    generator.set_state(state["generator"])
    progress = _Progress(state["step"], state["seconds"], state["tokens"], state["history"])
    print(
        f"pretrain: resumed at step {progress.step} ({progress.seconds / 60:.1f} min, {progress.tokens:,} tokens)",
        flush=True,
    )
    return progress


def _state(model, optimizer, stream, generator, progress: _Progress, config: PretrainConfig) -> dict:
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "stream": stream.state(),
        "generator": generator.get_state(),
        "step": progress.step,
        "seconds": progress.seconds,
        "tokens": progress.tokens,
        "history": progress.history,
        "config": asdict(config),
    }


def _checkpoint_score(progress: _Progress, scores: dict) -> dict:
    return {
        "step": progress.step,
        "tokens": progress.tokens,
        "minutes": round(progress.seconds / 60, 2),
        "heldout_top1_15": scores,
    }


def _print_progress(progress: _Progress, config: PretrainConfig, loss: float, factor: float) -> None:
    fraction = config.budget_fraction(progress.step, progress.seconds)
    rate = progress.tokens / max(progress.seconds, 1e-9)
    eta = progress.seconds / max(fraction, 1e-9) * (1 - fraction)
    print(
        f"pretrain: step {progress.step} | {fraction:.0%} of budget | loss {loss:.3f}"
        f" | {rate:,.0f} tokens/s | lr x{factor:.2f} | ~{eta / 60:.0f} min left",
        flush=True,
    )


def _report(run: PretrainRun, head_created: bool, progress: _Progress, dev, precision: str) -> dict:
    return {
        "base_model": str(run.base),
        "head_created": head_created,
        "sources": [
            {"path": str(s.path), "weight": s.weight, "documents_read": s.position, "passes": s.passes}
            for s in run.sources
        ],
        "steps": progress.step,
        "tokens": progress.tokens,
        "training_minutes": round(progress.seconds / 60, 2),
        "tokens_per_second": round(progress.tokens / max(progress.seconds, 1e-9)),
        "device": str(dev),
        "precision": precision,
        "threads": torch.get_num_threads(),
        "config": asdict(run.config),
        "history": progress.history,
    }
