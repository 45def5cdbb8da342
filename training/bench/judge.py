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

JUDGE_CONFIG = ClassifierConfig(epochs=8, patience=2, max_length=96)


def load_or_fit_judge(spec: str | Path, base: str, out: str | Path | None, device: str = "auto"):
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
        base, TextCodec(tokenizer), train, val, JUDGE_CONFIG, 0, resolve_device(device)
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
