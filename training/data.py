"""Reading labelled text files and making the benchmark splits.

Files are `text,label` CSV (or TSV) and JSONL. Every problem is reported as a `DataError` naming the
file, the line and what to do, because a user's first contact with the tool is usually a bad file.
Splits take an explicit seed and use their own `random.Random`; no global state is touched.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Very long CSV fields (whole documents) exceed the csv module's default 128 KiB limit.
csv.field_size_limit(16 * 1024 * 1024)


class DataError(ValueError):
    """A problem with an input file, located as precisely as we can."""

    def __init__(self, path: str | Path, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class LabelledData:
    """Parallel lists of texts and their string labels."""

    texts: tuple[str, ...]
    labels: tuple[str, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def label_names(self) -> list[str]:
        """Sorted distinct labels: a stable order for label ids across runs and splits."""
        return sorted(set(self.labels))

    def counts(self) -> dict[str, int]:
        counter = Counter(self.labels)
        return {name: counter[name] for name in self.label_names}

    def subset(self, indices: Sequence[int]) -> LabelledData:
        return LabelledData(
            tuple(self.texts[i] for i in indices), tuple(self.labels[i] for i in indices), self.source
        )

    @staticmethod
    def from_pairs(pairs: Sequence[tuple[str, str]], source: str = "<memory>") -> LabelledData:
        return LabelledData(tuple(t for t, _ in pairs), tuple(lbl for _, lbl in pairs), source)


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        bad = raw[err.start : err.start + 1].hex()
        raise DataError(
            path, line, f"not valid UTF-8 (byte 0x{bad} at offset {err.start}); re-save the file as UTF-8"
        ) from None


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return suffix[1:]
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".txt":
        return "txt"
    raise DataError(path, None, f"unknown file type '{suffix}'; use .csv, .tsv or .jsonl")


def _csv_rows(path: Path, text: str, *, delimiter: str, columns: Sequence[str]):
    """Yield (line_number, {column: value}) for each record, checking the header first."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(path, None, "the file is empty") from None
    header = [h.strip() for h in header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            path, 1, f"missing column(s) {missing}; the header has {header} (expected e.g. 'text,label')"
        )
    index = {c: header.index(c) for c in columns}
    line = reader.line_num
    for record in reader:
        start, line = line + 1, reader.line_num
        if not record or all(not field.strip() for field in record):
            continue  # blank lines between records are harmless
        if len(record) < len(header):
            raise DataError(path, start, f"expected {len(header)} fields, found {len(record)}")
        yield start, {c: record[i] for c, i in index.items()}


def _jsonl_rows(path: Path, text: str, columns: Sequence[str]):
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(path, number, f"invalid JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(path, number, 'each line must be a JSON object like {"text": ..., "label": ...}')
        missing = [c for c in columns if c not in obj]
        if missing:
            raise DataError(path, number, f"missing key(s) {missing}; found {sorted(obj)}")
        row = {}
        for c in columns:
            value = obj[c]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise DataError(path, number, f"'{c}' must be a string, got {type(value).__name__}")
            row[c] = str(value)
        yield number, row


def _rows(path: Path, columns: Sequence[str]):
    fmt = _format(path)
    if fmt == "txt":
        raise DataError(path, None, "a .txt file has no labels; use .csv or .jsonl with text and label")
    text = _decode(path)
    if fmt == "jsonl":
        return _jsonl_rows(path, text, columns)
    return _csv_rows(path, text, delimiter="\t" if fmt == "tsv" else ",", columns=columns)


def read_labelled(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    min_classes: int = 2,
) -> LabelledData:
    """Read a labelled CSV/TSV/JSONL file; raise `DataError` on anything a classifier cannot use."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "no such file")
    texts: list[str] = []
    labels: list[str] = []
    for line, row in _rows(path, (text_column, label_column)):
        text, label = row[text_column].strip(), row[label_column].strip()
        if not text:
            raise DataError(path, line, f"empty text in column '{text_column}'")
        if not label:
            raise DataError(path, line, f"empty label in column '{label_column}'")
        texts.append(text)
        labels.append(label)
    if not texts:
        raise DataError(path, None, "no rows after the header")
    data = LabelledData(tuple(texts), tuple(labels), str(path))
    names = data.label_names
    if len(names) < min_classes:
        raise DataError(
            path,
            None,
            f"only {len(names)} class ({names[0]!r}) found; a classifier needs at least {min_classes}",
        )
    return data


def read_texts(path: str | Path, text_column: str = "text") -> list[str]:
    """Unlabelled texts: one per line of a .txt file, or the text column of a CSV/TSV/JSONL file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "no such file")
    if _format(path) == "txt":
        texts = [line.strip() for line in _decode(path).splitlines()]
        texts = [t for t in texts if t]
    else:
        texts = [row[text_column].strip() for _, row in _rows(path, (text_column,))]
        texts = [t for t in texts if t]
    if not texts:
        raise DataError(path, None, "no non-empty texts found")
    return texts


# ---------------------------------------------------------------------------------------------
# Splits. Each is stratified by label and deterministic for a given seed.


def _by_class(data: LabelledData) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {name: [] for name in data.label_names}
    for i, label in enumerate(data.labels):
        groups[label].append(i)
    return groups


def train_val_split(data: LabelledData, val_fraction: float, seed: int) -> tuple[LabelledData, LabelledData]:
    """Carve a stratified validation split from training data (at least one per class of >= 2 items)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError("val_fraction must be in (0, 1)")
    rng = random.Random(seed)
    train_idx: list[int] = []
    val_idx: list[int] = []
    for indices in _by_class(data).values():
        indices = indices[:]
        rng.shuffle(indices)
        n_val = 0 if len(indices) < 2 else min(len(indices) - 1, max(1, round(val_fraction * len(indices))))
        val_idx.extend(indices[:n_val])
        train_idx.extend(indices[n_val:])
    return data.subset(sorted(train_idx)), data.subset(sorted(val_idx))


def kshot(data: LabelledData, k: int, seed: int) -> LabelledData:
    """k examples of every class (all of a class that has fewer than k)."""
    if k < 1:
        raise ValueError("k must be >= 1")
    rng = random.Random(seed)
    chosen: list[int] = []
    for indices in _by_class(data).values():
        chosen.extend(rng.sample(indices, min(k, len(indices))))
    return data.subset(sorted(chosen))


def fraction(data: LabelledData, share: float, seed: int) -> LabelledData:
    """A stratified share of the data (at least one example per class)."""
    if not 0.0 < share <= 1.0:
        raise ValueError("the fraction must be in (0, 1]")
    rng = random.Random(seed)
    chosen: list[int] = []
    for indices in _by_class(data).values():
        chosen.extend(rng.sample(indices, max(1, round(share * len(indices)))))
    return data.subset(sorted(chosen))


def imbalanced(data: LabelledData, ratio: float, seed: int) -> LabelledData:
    """Subsample so class sizes decay geometrically from the largest class to `largest / ratio`.

    Classes keep their frequency order (the most frequent stays the head); class of rank r out of C
    keeps `n_max * ratio ** (-r / (C - 1))` examples, capped by what it has.
    """
    if ratio < 1.0:
        raise ValueError("the imbalance ratio must be >= 1")
    rng = random.Random(seed)
    groups = _by_class(data)
    order = sorted(groups, key=lambda name: (-len(groups[name]), name))
    n_max = len(groups[order[0]])
    chosen: list[int] = []
    for rank, name in enumerate(order):
        exponent = rank / (len(order) - 1) if len(order) > 1 else 0.0
        target = max(1, math.floor(n_max * ratio ** (-exponent)))
        chosen.extend(rng.sample(groups[name], min(target, len(groups[name]))))
    return data.subset(sorted(chosen))


def apply_setting(data: LabelledData, setting: str, seed: int) -> LabelledData:
    """Parse a benchmark setting (`full`, `fraction:0.2`, `kshot:5`, `imbalance:10`) and apply it.

    Steps joined by `+` apply left to right: `fraction:0.1+imbalance:20` first keeps a tenth of
    the data, then makes that tenth imbalanced (a small imbalanced set from a large dataset).
    """
    if "+" in setting:
        for part in setting.split("+"):
            if part.strip() in ("", "full"):
                raise ValueError(f"bad setting {setting!r}: each step after '+' must subsample")
            data = apply_setting(data, part.strip(), seed)
        return data
    name, _, arg = setting.partition(":")
    try:
        if name == "full" and not arg:
            return data
        if name == "fraction":
            return fraction(data, float(arg), seed)
        if name == "kshot":
            return kshot(data, int(arg), seed)
        if name == "imbalance":
            return imbalanced(data, float(arg), seed)
    except ValueError as err:
        raise ValueError(f"bad setting {setting!r}: {err}") from None
    raise ValueError(
        f"unknown setting {setting!r}; use full, fraction:<share>, kshot:<k> or imbalance:<ratio>, "
        "or steps joined by '+'"
    )
