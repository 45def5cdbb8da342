"""A held-out judge: a classifier fitted on labelled data that the judged run never trains on.

Used to say whether augmented texts keep their intended label. The judge of a run must not have
seen the run's originals (it would recognise them through the words the rewrite kept), so it is
fitted on a disjoint part of the dataset's train split and saved, to judge every method and base
with the very same model.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.classifier import ClassifierConfig
from training.common import resolve_device
from training.data import LabelledData

JUDGE_CONFIG = ClassifierConfig(epochs=8, patience=2, max_length=96)


def load_or_fit_judge(spec: str | Path, *, base: str, out: str | Path | None, device: str = "auto"):
    """(model, tokenizer) of a judge: `spec` is a saved classifier folder, or a labelled CSV to fit
    one on from `base` (saved to `out`, and loaded from there when it already exists)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    spec = Path(spec)
    folder = spec if spec.is_dir() else (Path(out) if out else None)
    if folder is not None and (folder / "config.json").exists():
        model = AutoModelForSequenceClassification.from_pretrained(str(folder), local_files_only=True)
        return model.to(resolve_device(device)).eval(), AutoTokenizer.from_pretrained(
            str(folder), local_files_only=True
        )
    if spec.is_dir():
        raise FileNotFoundError(f"{spec} has no classifier (config.json)")
    from training.data import read_labelled, train_val_split
    from training.pipeline import load_tokenizer, train_proxy
    from training.text import TextCodec

    data = read_labelled(spec)
    train, val = train_val_split(data, 0.1, 0)
    tokenizer = load_tokenizer(base)
    runner, report = train_proxy(
        base,
        TextCodec(tokenizer),
        train=train,
        val=val,
        config=JUDGE_CONFIG,
        seed=0,
        device=resolve_device(device),
    )
    if folder is not None:
        runner.model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        meta = {
            "fitted_on": str(spec),
            "texts": len(train),
            "base": str(base),
            "val_macro_f1": report.get("best_val_macro_f1"),
        }
        (folder / "judge.json").write_text(json.dumps(meta, indent=2) + "\n")
    return runner.model.eval(), tokenizer


def held_out_rows(full: LabelledData, used: LabelledData, *, limit: int, seed: int) -> LabelledData | None:
    """Rows of `full` that are not in `used` (as text-label pairs, counted with repeats), a stratified
    random sample of at most `limit`; None when fewer than two rows of every used label are left
    (a `full` setting leaves nothing: then there is no held-out judge)."""
    import random
    from collections import Counter

    taken = Counter(zip(used.texts, used.labels, strict=True))
    rest: dict[str, list[int]] = {}
    for i, pair in enumerate(zip(full.texts, full.labels, strict=True)):
        if taken[pair]:
            taken[pair] -= 1
        else:
            rest.setdefault(pair[1], []).append(i)
    labels = sorted(set(used.labels))
    if any(len(rest.get(label, [])) < 2 for label in labels):
        return None
    rng = random.Random(seed)
    total = sum(len(rest[label]) for label in labels)
    chosen: list[int] = []
    for label in labels:
        share = max(2, round(limit * len(rest[label]) / total)) if total > limit else len(rest[label])
        chosen += rng.sample(rest[label], min(share, len(rest[label])))
    return full.subset(sorted(chosen))
