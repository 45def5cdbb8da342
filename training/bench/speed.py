"""Speed benchmark: the sampler against the forward-pass limit, a naive decoder and nlpaug, in one run.

Everything is measured side by side in one process (nlpaug in a subprocess, since it may need its own
interpreter) so the ratios are fair on a shared, noisy machine. Inputs are real texts cut to exactly
`seq_len` prompt tokens.

- limit: the bare batched generator forward (logits at every position) at `seq_len` tokens;
- sampler: augmented samples/s of DiffusionAugmenter (importance, masks, K-round decoding unguided, splicing;
  n = 4 samples per input, so a batch of B chains holds B / 4 inputs) and its ratio to the limit:
  samples/s * passes per sample / limit sequences/s at the same batch size;
- naive: one sequence at a time, one token revealed per forward pass (DiffusionBERT-style);
- nlpaug: ContextualWordEmbsAug (substitute) on the same model folder.
"""

from __future__ import annotations

import copy
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from training.augmenters.diffusion import DiffusionAugmenter, DiffusionOptions
from training.common import autocast, local_generator
from training.defaults import DEFAULT_STEPS
from training.generator import PREFIX_LENGTH, prompt_ids
from training.sampler import DecodeConfig, candidate_distribution, sample_candidates


@dataclass(frozen=True)
class SpeedConfig:
    seq_len: int = 64
    batch_sizes: tuple[int, ...] = (1, 8, 32, 128)
    rounds: tuple[int, ...] = (1, 4, 8)
    min_seconds: float = 3.0  # run each measurement at least this long (and at least 2 times)
    naive_samples: int = 3
    nlpaug_python: str | None = None  # interpreter with nlpaug installed; None = this one
    nlpaug_samples: int = 64
    nlpaug_model: str | None = None  # model folder for nlpaug (the generator's base MLM)
    steps: tuple[int, int] = DEFAULT_STEPS


def _finish_gpu_work() -> None:
    """CUDA calls return before the GPU is done: wait for it, or a timing measures only the launch."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], min_seconds: float, min_runs: int = 2) -> tuple[float, object]:
    """Median seconds per call after one warm-up call, over at least `min_runs` calls and `min_seconds`."""
    out = fn()
    _finish_gpu_work()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - started < min_seconds:
        t0 = time.perf_counter()
        out = fn()
        _finish_gpu_work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def exact_length_texts(
    augmenter: DiffusionAugmenter, texts: Sequence[str], *, content_len: int, count: int
) -> list[str]:
    """`count` texts of at least `content_len` content tokens, made by joining consecutive real texts."""
    out: list[str] = []
    current: list[str] = []
    for text in texts:
        current.append(text)
        joined = " ".join(current)
        if len(augmenter.codec.encode([joined], content_len + 1)[0]) > content_len:
            out.append(joined)
            current = []
            if len(out) == count:
                return out
    if not out:
        raise ValueError(f"the texts are too short to make {content_len}-token inputs")
    return [out[i % len(out)] for i in range(count)]


def forward_limit(augmenter: DiffusionAugmenter, *, batch: int, seq_len: int, min_seconds: float) -> dict:
    """Throughput of the bare forward: logits at every position, and the encoder alone for reference."""
    model = augmenter.model
    generator = torch.Generator().manual_seed(batch)
    # Ordinary tokens: skip the low ids, where BERT vocabularies keep specials and unused rows.
    low = min(1000, augmenter.codec.vocab_size // 2)
    ids = torch.randint(low, augmenter.codec.vocab_size, (batch, seq_len), generator=generator)
    ids = ids.to(augmenter.device)
    attention = torch.ones_like(ids)

    # The same precision as the sampler's forwards (bf16 autocast on a GPU): a float32 limit would be
    # slower than what the sampler itself runs, and flatter the ratio.
    precision = augmenter.runner.precision

    def full():
        with torch.inference_mode(), autocast(ids.device, precision):
            return model(input_ids=ids, attention_mask=attention).logits

    def encoder():
        with torch.inference_mode(), autocast(ids.device, precision):
            return model.base_model(input_ids=ids, attention_mask=attention).last_hidden_state

    full_s, _ = timed(full, min_seconds)
    encoder_s, _ = timed(encoder, min_seconds)
    return {
        "batch": batch,
        "seconds_per_forward": full_s,
        "sequences_per_s": batch / full_s,
        "tokens_per_s": batch * seq_len / full_s,
        "encoder_sequences_per_s": batch / encoder_s,
    }


def sampler_speed(
    augmenter: DiffusionAugmenter,
    texts: Sequence[str],
    *,
    batch: int,
    rounds: int,
    config: SpeedConfig,
    limit: dict,
) -> dict:
    inputs = max(1, batch // 4)
    n = batch // inputs
    chosen = list(texts[:inputs])
    labels = [augmenter.labels[i % len(augmenter.labels)] for i in range(inputs)]
    options = DiffusionOptions(
        steps=config.steps,
        # Unguided: a guided pass holds each prompt twice, which the limit (one row per sequence) does not
        # model; guidance's own cost is measured by `bench decoding` (about 1.8x, docs/FLUENCY.md).
        decode=DecodeConfig(rounds=rounds, guidance_scale=1.0),
        max_attempts=1,
        batch_size=batch,
        max_batch_tokens=batch * config.seq_len,  # the batch asked for, whatever its tokens
        score=False,
    )
    seconds, result = timed(
        lambda: augmenter.augment(chosen, labels, [n] * inputs, seed=0, options=options), config.min_seconds
    )
    stats = result.stats  # type: ignore[attr-defined]
    samples = stats["chains_decoded"]
    passes_per_sample = stats["forward_passes"] / max(1, -(-samples // batch))
    per_s = samples / seconds
    return {
        "batch": batch,
        "rounds": rounds,
        "samples_per_s": per_s,
        "passes_per_sample": passes_per_sample,
        "ratio_to_limit": per_s * passes_per_sample / limit["sequences_per_s"],
        # the stricter bound: the encoder alone, no vocabulary projection at all (the sampler projects
        # only the still-masked positions, so it can beat the full forward but not this)
        "ratio_to_encoder": per_s * passes_per_sample / limit["encoder_sequences_per_s"],
        "share": {
            k: stats[f"{k}_seconds"] / stats["seconds"] for k in ("importance", "draw", "decode", "accept")
        },
    }


def naive_decode(
    augmenter: DiffusionAugmenter, text: str, label: str, *, seed: int, steps: tuple[int, int]
) -> int:
    """One sequence, one masked token revealed per full forward pass (the most confident one).

    Returns the number of forward passes; the mask comes from the same schedule as the sampler's.
    """
    e = augmenter.codec.encode([text], augmenter.max_content)[0]
    w = augmenter.importance_source.importance([e])[0]
    curve = augmenter.unit_keep_curve(w, e)
    chain = augmenter._draw_chain(seed, 0, 0, encoded=e, curve=curve, options=DiffusionOptions(steps=steps))
    ids = torch.tensor([prompt_ids(e.ids, augmenter.label_ids[label], augmenter.codec)])
    masked = torch.zeros_like(ids, dtype=torch.bool)
    masked[0, PREFIX_LENGTH : PREFIX_LENGTH + len(e)] = chain.mask
    ids = ids.masked_fill(masked, augmenter.codec.mask_id).to(augmenter.device)
    gen = local_generator(seed, "naive")
    passes = 0
    with torch.inference_mode():
        while bool(masked.any()):
            logits = augmenter.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]  # (L, V)
            positions = masked[0].nonzero().flatten()
            banned = augmenter.banned.nonzero().flatten().to(logits.device)
            cand, probs = candidate_distribution(
                logits[positions], banned, temperature=1.0, top_k=0, top_p=1.0
            )
            uniform = torch.rand(len(positions), generator=gen).to(logits.device)
            tokens, conf = sample_candidates(cand, probs, uniform)
            best = int(conf.argmax())
            ids[0, positions[best]] = tokens[best]
            masked[0, positions[best]] = False
            passes += 1
    return passes


NLPAUG_SCRIPT = r"""
import json, sys, time
import nlpaug.augmenter.word as naw
model, texts = sys.argv[1], json.loads(sys.stdin.read())
aug = naw.ContextualWordEmbsAug(model_path=model, model_type="bert", action="substitute", device="cpu", batch_size=32)
aug.augment(texts[:4])
t0 = time.perf_counter()
out = aug.augment(texts)
print(json.dumps({"samples": len(out), "seconds": time.perf_counter() - t0}))
"""


def nlpaug_speed(texts: Sequence[str], config: SpeedConfig) -> dict:
    """nlpaug's ContextualWordEmbsAug in a subprocess; the reason when it cannot run."""
    python = config.nlpaug_python or sys.executable
    if not config.nlpaug_model:
        return {"available": False, "reason": "no model folder for nlpaug (give --nlpaug-model)"}
    try:
        proc = subprocess.run(
            [python, "-c", NLPAUG_SCRIPT, config.nlpaug_model],
            input=json.dumps(list(texts[: config.nlpaug_samples])),
            capture_output=True,
            text=True,
            timeout=1800,
            env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"available": False, "reason": f"{python}: {err}"}
    if proc.returncode != 0:
        last = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return {"available": False, "reason": f"{python} could not run nlpaug: {last[0]}"}
    body = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"available": True, "python": python, **body, "samples_per_s": body["samples"] / body["seconds"]}


def run_speed_bench(
    augmenter: DiffusionAugmenter, source_texts: Sequence[str], config: SpeedConfig, *, log=print
) -> dict:
    content_len = config.seq_len - PREFIX_LENGTH - 1
    augmenter = replace_window(augmenter, content_len)
    pool = exact_length_texts(augmenter, source_texts, content_len=content_len, count=max(config.batch_sizes))
    torch_threads = torch.get_num_threads()
    log(
        f"inputs: {len(pool)} real texts cut to {config.seq_len} prompt tokens; torch threads {torch_threads}"
    )
    limits = {}
    for b in config.batch_sizes:
        limits[b] = forward_limit(augmenter, batch=b, seq_len=config.seq_len, min_seconds=config.min_seconds)
        log(
            f"limit  batch {b:>3}: {limits[b]['sequences_per_s']:8.1f} seq/s  {limits[b]['tokens_per_s']:9.0f} tok/s"
        )
    sampler = []
    for b in config.batch_sizes:
        for k in config.rounds:
            row = sampler_speed(augmenter, pool, batch=b, rounds=k, config=config, limit=limits[b])
            sampler.append(row)
            log(
                f"sampler batch {b:>3} K={k}: {row['samples_per_s']:7.2f} samples/s, "
                f"ratio to limit {row['ratio_to_limit']:.2f} (to the encoder alone {row['ratio_to_encoder']:.2f})"
            )
    naive_passes, naive_times = [], []
    for i in range(config.naive_samples):
        t0 = time.perf_counter()
        naive_passes.append(
            naive_decode(augmenter, pool[i % len(pool)], augmenter.labels[0], seed=i, steps=config.steps)
        )
        naive_times.append(time.perf_counter() - t0)
    naive = {
        "samples_per_s": len(naive_times) / sum(naive_times),
        "passes_per_sample": statistics.fmean(naive_passes),
    }
    log(f"naive: {naive['samples_per_s']:.3f} samples/s ({naive['passes_per_sample']:.0f} passes per sample)")
    nlp = nlpaug_speed(pool, config)
    log(
        f"nlpaug: {nlp.get('samples_per_s', 0):.2f} samples/s"
        if nlp["available"]
        else f"nlpaug: {nlp['reason']}"
    )
    return {
        "config": asdict(config),
        "torch_threads": torch_threads,
        "device": str(augmenter.device),
        "limit": list(limits.values()),
        "sampler": sampler,
        "naive": naive,
        "nlpaug": nlp,
    }


def replace_window(augmenter: DiffusionAugmenter, content_len: int) -> DiffusionAugmenter:
    """The same augmenter (models shared) with inputs cut to `content_len` content tokens."""
    clone = copy.copy(augmenter)
    clone.max_content = content_len
    return clone


def untrained_augmenter(
    base: str,
    device: torch.device,
    *,
    precision: str = "auto",
    labels: Sequence[str] = ("negative", "positive"),
):
    """A DiffusionAugmenter straight from a base MLM (new label rows, untrained proxy head): the same
    computation as a trained one, for speed measurements only."""
    from training.classifier import ClassifierRunner, load_classifier
    from training.generator import (
        NULL_LABEL_TOKEN,
        ScheduleConfig,
        add_label_tokens,
        label_token,
        load_base_mlm,
    )
    from training.pipeline import load_tokenizer
    from training.text import TextCodec

    codec = TextCodec(load_tokenizer(base))
    generator, _ = load_base_mlm(base, device)
    ids = add_label_tokens(generator, load_tokenizer(base), list(labels))
    proxy = ClassifierRunner(load_classifier(base, list(labels), device).eval(), codec, precision=precision)
    label_ids = {lbl: ids[label_token(lbl)] for lbl in labels}
    return DiffusionAugmenter(
        generator.eval(),
        codec,
        label_ids,
        null_label_id=ids[NULL_LABEL_TOKEN],
        schedule=ScheduleConfig(),
        max_length=128,
        importance_source=proxy,
        precision=precision,
    )


def format_speed_table(result: dict) -> str:
    limits = {row["batch"]: row for row in result["limit"]}
    lines = [
        f"limit (bare generator forward, {result['config']['seq_len']} tokens, {result['torch_threads']} threads, {result['device']})",
        "",
        "| batch | sequences/s | tokens/s | encoder-only sequences/s |",
        "|---|---|---|---|",
    ]
    for b, row in limits.items():
        lines.append(
            f"| {b} | {row['sequences_per_s']:.1f} | {row['tokens_per_s']:.0f} | {row['encoder_sequences_per_s']:.1f} |"
        )
    lines += [
        "",
        "| sampler batch | K | samples/s | passes/sample | ratio to limit | ratio to encoder alone | time: importance / decode / other |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["sampler"]:
        share = row["share"]
        other = share["draw"] + share["accept"]
        lines.append(
            f"| {row['batch']} | {row['rounds']} | {row['samples_per_s']:.2f} | {row['passes_per_sample']:.1f} | "
            f"{row['ratio_to_limit']:.2f} | {row['ratio_to_encoder']:.2f} | {share['importance']:.0%} / {share['decode']:.0%} / {other:.0%} |"
        )
    naive = result["naive"]
    lines += [
        "",
        f"naive decoder (batch 1, one token per pass): {naive['samples_per_s']:.3f} samples/s, {naive['passes_per_sample']:.0f} passes per sample",
    ]
    nlp = result["nlpaug"]
    if nlp["available"]:
        best = max(r["samples_per_s"] for r in result["sampler"] if r["rounds"] == 4)
        lines.append(
            f"nlpaug ContextualWordEmbsAug: {nlp['samples_per_s']:.2f} samples/s; ours at K=4 (best batch): {best:.2f} samples/s = {best / nlp['samples_per_s']:.1f}x"
        )
    else:
        lines.append(f"nlpaug: not measured: {nlp['reason']}")
    return "\n".join(lines)
