"""The pretraining run: `run_pretraining` loads the base model, trains until the step or time budget
is spent (held-out scores, progress lines), writes the model folder and the report, and saves and
resumes the run's state (weights, optimiser, stream positions, random states)."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from training.common import pretrained_kwargs, resolve_device, resolve_precision
from training.pretrain.config import PretrainConfig, lr_factor, param_groups
from training.pretrain.data import Source, WindowStream
from training.pretrain.masking import draw_masks, masked_accuracy, masked_batch
from training.pretrain.token_cache import load_or_build

log = logging.getLogger(__name__)

STATE_FILE = "pretrain-state.pt"
REPORT_FILE = "pretrain.json"


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
    token_cache: Path | None = None  # tokenise each source once into this folder and train from it


def _save_state(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _evaluate(model, tokenizer, heldout: dict[str, list[list[int]]], *, config: PretrainConfig) -> dict:
    scores = {}
    for name, windows in heldout.items():
        result = masked_accuracy(model, tokenizer, windows, rate=0.15, seed=1234, precision=config.precision)
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
    caches = None
    if run.token_cache is not None:
        caches = [
            load_or_build(s, tokenizer, config.max_length - 2, folder=run.token_cache) for s in run.sources
        ]
    stream = WindowStream(run.sources, tokenizer, config.max_length - 2, config=config, caches=caches)
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
    if not progress.history:  # a resumed run has its start scored already
        _score_start(run, progress, model=model, tokenizer=tokenizer)
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
    final = _evaluate(model, tokenizer, run.heldout, config=config)
    if not progress.history or progress.history[-1]["step"] != progress.step:
        progress.history.append(_checkpoint_score(progress, final))
    model.eval()
    model.half().save_pretrained(run.out, safe_serialization=True)
    model.float()
    tokenizer.save_pretrained(run.out)
    report = _report(run, head_created, progress, dev=dev, precision=precision)
    (run.out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


def _score_start(run: PretrainRun, progress: _Progress, *, model, tokenizer) -> None:
    """The held-out score before the first step, the start of the curve."""
    scores = _evaluate(model, tokenizer, run.heldout, config=run.config)
    progress.history.append({"step": 0, "tokens": 0, "heldout_top1_15": scores})
    print(f"pretrain: step 0 held-out top-1 at 15%: {scores}", flush=True)


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
        # Dropout draws from a stream seeded by the run's generator, whose state the resumable state
        # keeps: the same seed trains the same weights, in a fresh process or not.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
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
            _print_progress(progress, config, loss=window_loss / max(1, window_tokens), factor=factor)
            window_loss, window_tokens = 0.0, 0
            last_print = time.monotonic()
        if config.eval_every and progress.step % config.eval_every == 0:
            progress.history.append(
                _checkpoint_score(progress, _evaluate(model, tokenizer, run.heldout, config=config))
            )
            print(
                f"pretrain: step {progress.step} held-out top-1 at 15%: {progress.history[-1]['heldout_top1_15']}",
                flush=True,
            )
        if time.monotonic() - last_save >= config.save_every_s:
            _save_state(
                run.out / STATE_FILE,
                _state(model, optimizer, stream, generator=generator, progress=progress, config=config),
            )
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
    progress = _Progress(
        step=state["step"], seconds=state["seconds"], tokens=state["tokens"], history=state["history"]
    )
    print(
        f"pretrain: resumed at step {progress.step} ({progress.seconds / 60:.1f} min, {progress.tokens:,} tokens)",
        flush=True,
    )
    return progress


def _state(model, optimizer, stream, *, generator, progress: _Progress, config: PretrainConfig) -> dict:
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


def _print_progress(progress: _Progress, config: PretrainConfig, *, loss: float, factor: float) -> None:
    fraction = config.budget_fraction(progress.step, progress.seconds)
    rate = progress.tokens / max(progress.seconds, 1e-9)
    eta = progress.seconds / max(fraction, 1e-9) * (1 - fraction)
    print(
        f"pretrain: step {progress.step} | {fraction:.0%} of budget | loss {loss:.3f}"
        f" | {rate:,.0f} tokens/s | lr x{factor:.2f} | ~{eta / 60:.0f} min left",
        flush=True,
    )


def _report(run: PretrainRun, head_created: bool, progress: _Progress, *, dev, precision: str) -> dict:
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
