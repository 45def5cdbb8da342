"""Streaming corpora into training windows: sentence splitting, greedy window packing, the corpus
files (`Source`) and their documents, the weighted and shuffled `WindowStream` (resumable), and the
held-out windows packed the same way."""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from training.pretrain.config import PretrainConfig

if TYPE_CHECKING:
    from training.pretrain.token_cache import WindowCache

# A sentence ends at . ! ? (possibly followed by closing quotes/brackets) before whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")


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


def document_windows(texts: Sequence[str], tokenizer, max_content: int) -> list[list[list[int]]]:
    """Each document's windows: cut at sentence ends, tokenised in one call, packed per document."""
    sentences_per_doc = [split_sentences(t) for t in texts]
    flat = [s for doc in sentences_per_doc for s in doc]
    encoded = tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
    out, cursor = [], 0
    for sentences in sentences_per_doc:
        ids = encoded[cursor : cursor + len(sentences)]
        cursor += len(sentences)
        out.append([w for w in pack_windows(ids, max_content) if w])
    return out


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

    def __init__(
        self,
        sources: Sequence[Source],
        tokenizer,
        max_content: int,
        *,
        config: PretrainConfig,
        caches: Sequence[WindowCache | None] | None = None,
    ):
        self.sources = list(sources)
        self.caches = list(caches) if caches is not None else [None for _ in self.sources]
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
        """Tokenise the next `docs` documents of source k into its pending windows (or take them,
        tokenised already, from its cache: the same windows in the same order)."""
        if self.caches[k] is not None:
            self._refill_from_cache(k, docs)
            return
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
        for windows in document_windows(texts, self.tokenizer, self.max_content):
            self.pending[k].extend(windows)

    def _refill_from_cache(self, k: int, docs: int) -> None:
        """`_refill` over a tokenised cache; passes and positions move exactly as when reading the
        file, so a run gives the same batches with or without the cache."""
        cache, source = self.caches[k], self.sources[k]
        assert cache is not None
        if cache.documents == 0:
            raise ValueError(f"{source.path} has no non-empty texts")
        if source.position >= cache.documents:  # the last refill ended on the file's last document
            source.passes, source.position = source.passes + 1, 0
        take = min(docs, cache.documents - source.position)
        self.pending[k].extend(cache.windows(source.position, take))
        source.position += take
        if take < docs:  # reading the file would have met its end within this refill
            source.passes, source.position = source.passes + 1, 0

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


def heldout_name(path: str | Path) -> str:
    """A held-out file's short name: dataset folder and split for a table (india_covid_x/test.csv ->
    india_covid_x/test), else the file's stem."""
    p = Path(path)
    stem = p.name.split(".")[0]
    return f"{p.parent.name}/{stem}" if p.suffix in (".csv", ".tsv", ".jsonl") else stem


def heldout_windows(
    path: str | Path, tokenizer, *, max_length: int, limit: int, text_column: str = "text"
) -> list[list[int]]:
    """The first `limit` windows of a held-out file, packed exactly as training windows are."""
    source = Source(Path(path), text_column=text_column)
    windows: list[list[int]] = []
    for doc in iter_documents(source):
        windows.extend(document_windows([doc], tokenizer, max_length - 2)[0])
        if len(windows) >= limit:
            break
    return windows[:limit]
