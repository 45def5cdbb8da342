"""`python -m training bench decoding`: the fluency / label / change frontier of decoding settings.

One fitted checkpoint rewrites the same originals under each setting of a grid. Every output is
scored by three measures that the generator does not produce itself:

- fluency: the word trigram Kneser-Ney model of `training.fluency`, as the log perplexity ratio to
  the output's own original, and the share of outputs within `FLUENT_LOG_RATIO`;
- label kept: a held-out judge (a classifier fitted on data disjoint from the checkpoint's training
  data) gives the intended label; its accuracy on the originals is reported as the ceiling;
- change: the share of the original's words that the output no longer has in place (word-level
  edit alignment), and distinct-2 over the outputs.

Plus the generation speed of each setting (samples/s on this machine, same run).
"""

from __future__ import annotations

import difflib
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from training.augmenters.words import metric_tokens
from training.bench.diversity import distinct_n
from training.classifier import ClassifierRunner
from training.defaults import DECODING_KNOBS, DEFAULT_STEPS, NO_PRIOR_CORRECTION
from training.fluency import FLUENT_LOG_RATIO, NgramLM
from training.sampler import DecodeConfig
from training.text import STOP_WORDS


@dataclass(frozen=True)
class DecodingSetting:
    name: str
    steps: tuple[int, int] = DEFAULT_STEPS
    rounds: int = DecodeConfig.rounds
    temperature: float = DecodeConfig.temperature
    top_k: int = DecodeConfig.top_k
    top_p: float = DecodeConfig.top_p
    guidance_scale: float = DecodeConfig.guidance_scale
    guided_rounds: int = DecodeConfig.guided_rounds
    repetition_penalty: float = DecodeConfig.repetition_penalty
    prior_correction: float = DecodeConfig.prior_correction
    min_label_prob: float = 0.0  # keep outputs the checkpoint's classifier finds on-label (with top-up)
    whole_words: bool = True  # rewritten words from whole-word pieces only (DiffusionOptions.whole_words)
    ban_content_repeats: bool = True  # DecodeConfig.ban_content_repeats (0: decoding before 2026-12-08)


def parse_setting(spec: str) -> DecodingSetting:
    """`name:key=value,key=value` with keys steps (13-16), rounds, temperature, top_k, top_p, guidance_scale,
    guided_rounds, repetition_penalty, prior_correction, min_label_prob, whole_words and
    ban_content_repeats (1 or 0)."""
    name, _, body = spec.partition(":")
    fields: dict = {"name": name}
    for part in filter(None, body.split(",")):
        key, _, value = part.partition("=")
        key = {
            "guidance": "guidance_scale",
            "temp": "temperature",
            "rep": "repetition_penalty",
            "prior": "prior_correction",
        }.get(key, key)
        if key == "steps":
            low, _, high = value.partition("-")
            fields["steps"] = (int(low), int(high or low))
        elif key in DECODING_KNOBS:  # each knob read as its own kind (int or float)
            fields[key] = DECODING_KNOBS[key].kind(value)
        elif key in ("whole_words", "ban_content_repeats"):
            if value not in ("0", "1"):
                raise ValueError(f"{key} takes 1 or 0, not {value!r} in {spec!r}")
            fields[key] = value == "1"
        elif key == "min_label_prob":
            fields[key] = float(value)
        else:
            raise ValueError(f"unknown decoding key {key!r} in {spec!r}")
    return DecodingSetting(**fields)


def word_change_ratio(new: str, original: str) -> float:
    """Share of the original's words not kept in place by the new text (1 - matched / original words)."""
    a, b = metric_tokens(original), metric_tokens(new)
    if not a:
        return 0.0
    matched = sum(
        block.size for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
    )
    return 1.0 - matched / len(a)


def added_repeats(new: str, original: str) -> int:
    """Copies of content words (three letters or more, not a function word) that `new` repeats beyond
    what `original` repeats: "the rain in the roof kept up on the roof" against an original with no
    repeated word adds 1. What DecodeConfig.ban_content_repeats prevents."""

    def repeats(text: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for word in metric_tokens(text):
            if len(word) >= 3 and word.isalpha() and word not in STOP_WORDS:
                counts[word] = counts.get(word, 0) + 1
        return {word: count - 1 for word, count in counts.items() if count > 1}

    before = repeats(original)
    return sum(max(0, extra - before.get(word, 0)) for word, extra in repeats(new).items())


def judge_accuracy(judge: ClassifierRunner, texts: Sequence[str], labels: Sequence[str]) -> list[bool]:
    probs = judge.predict_proba(list(texts))
    return [judge.label_names[int(row.argmax())] == y for row, y in zip(probs, labels, strict=True)]


def score_outputs(
    outputs: Sequence[str],
    originals: Sequence[str],
    labels: Sequence[str],
    *,
    lm: NgramLM,
    judge: ClassifierRunner | None,
) -> dict:
    ratios = [lm.log_ppl_ratio(o, src) for o, src in zip(outputs, originals, strict=True)]
    changes = [word_change_ratio(o, src) for o, src in zip(outputs, originals, strict=True)]
    row = {
        "outputs": len(outputs),
        "fluent_share": statistics.fmean(r <= FLUENT_LOG_RATIO for r in ratios) if ratios else 0.0,
        "log_ppl_ratio_median": statistics.median(ratios) if ratios else 0.0,
        "word_change": statistics.fmean(changes) if changes else 0.0,
        "distinct_2": distinct_n(list(outputs), 2),
        # share of outputs repeating a content word more often than their original
        "added_repeat_share": statistics.fmean(
            added_repeats(o, src) > 0 for o, src in zip(outputs, originals, strict=True)
        )
        if outputs
        else 0.0,
    }
    if judge is not None and outputs:
        row["label_kept"] = statistics.fmean(judge_accuracy(judge, outputs, labels))
    return row


def run_decoding_study(
    augmenter,
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    settings: Sequence[DecodingSetting],
    lm: NgramLM,
    judge: ClassifierRunner | None,
    n: int = 1,
    seed: int = 0,
    log=print,
) -> dict:
    """Rewrite `texts` n times under each setting; score as above. `augmenter` is a DiffusionAugmenter."""
    from training.augmenters.diffusion import DiffusionOptions

    counts = [n] * len(texts)
    rows, examples = [], {}
    ceiling = statistics.fmean(judge_accuracy(judge, texts, labels)) if judge is not None else None
    if ceiling is not None:
        log(f"judge accuracy on the originals (the ceiling of label kept): {ceiling:.3f}")
    for setting in settings:
        options = DiffusionOptions.from_settings(
            setting, min_label_prob=setting.min_label_prob, whole_words=setting.whole_words
        )
        options = replace(
            options, decode=replace(options.decode, ban_content_repeats=setting.ban_content_repeats)
        )
        started = time.perf_counter()
        result = augmenter.augment(texts, labels, counts, seed=seed, options=options)
        seconds = time.perf_counter() - started
        outs = [a.text for a in result.augmentations]
        srcs = [texts[a.source_index] for a in result.augmentations]
        labs = [a.label for a in result.augmentations]
        row = {"setting": setting.name, **setting.__dict__, "seconds": round(seconds, 2)}
        row["samples_per_s"] = len(outs) / max(seconds, 1e-9)
        row["shortfall"] = sum(s.requested - s.produced for s in result.shortfalls)
        row.update(score_outputs(outs, srcs, labs, lm=lm, judge=judge))
        rows.append(row)
        # every output, in the same order for every setting: the same rewrite under two settings
        # can be compared side by side (and rated blind, training.bench.rating)
        examples[setting.name] = [
            {"original": s, "output": o, "label": y} for s, o, y in zip(srcs, outs, labs, strict=True)
        ]
        log(
            f"{setting.name:<16} fluent {row['fluent_share']:.3f}  label kept {row.get('label_kept', float('nan')):.3f}"
            f"  words changed {row['word_change']:.3f}  median log-ppl ratio {row['log_ppl_ratio_median']:+.2f}"
            f"  {row['samples_per_s']:.1f} samples/s"
        )
    return {
        "judge_ceiling": ceiling,
        "texts": len(texts),
        "n": n,
        "seed": seed,
        "rows": rows,
        "examples": examples,
    }


def format_decoding_table(result: dict) -> str:
    head = (
        "| setting | steps | K | T | top-p | guidance | repeats | prior correction | filter | fluent | label kept "
        "| words changed | distinct-2 | repeating a word | samples/s |"
    )
    lines = [head, "|" + "---|" * 15]
    for r in result["rows"]:
        filters = []
        if not r.get("whole_words", False):
            filters.append("word pieces allowed")
        if not r.get("ban_content_repeats", False):
            filters.append("content words repeated")
        if r["min_label_prob"]:
            filters.append(f"p(y)≥{r['min_label_prob']:g}")
        kept = f"{100 * r['label_kept']:.1f}%" if "label_kept" in r else "–"
        repeating = f"{100 * r['added_repeat_share']:.1f}%" if "added_repeat_share" in r else "–"
        guidance = f"{r['guidance_scale']:g}"
        guided = DecodeConfig(guidance_scale=r["guidance_scale"]).guided
        if guided and r.get("guided_rounds"):
            guidance += f" (rounds 1-{r['guided_rounds']})"
        lines.append(
            f"| {r['setting']} | {r['steps'][0]}-{r['steps'][1]} | {r['rounds']} | {r['temperature']:g} | {r['top_p']:g} "
            f"| {guidance} | ÷{r.get('repetition_penalty', 1.0):g} | {r.get('prior_correction', NO_PRIOR_CORRECTION):g} | {', '.join(filters) or '–'} | {100 * r['fluent_share']:.1f}% | {kept} "
            f"| {100 * r['word_change']:.1f}% | {100 * r['distinct_2']:.1f} | {repeating} | {r['samples_per_s']:.1f} |"
        )
    if result.get("judge_ceiling") is not None:
        lines.append("")
        lines.append(
            f"Judge accuracy on the originals (ceiling of 'label kept'): {100 * result['judge_ceiling']:.1f}%."
        )
    return "\n".join(lines)
