"""Corpora tokenised once (`pretrain --token-cache DIR`): every document's windows stored as int32
ids, so that the training feed slices arrays instead of splitting, tokenising and packing text.

On a lent H200 the feed, not the GPU, set the pace of pretraining: about 200,000 tokens/s, of which
splitting, tokenising and packing took five sixths (docs/FLUENCY.md). The cache holds exactly the
windows `WindowStream` would pack from the file, document by document, so a run reads the same
batches with or without it. A cache is named after what it depends on (the file's path, size and
modification time, the text column, the window size and the tokenizer), so a changed input gets a
new one instead of stale windows.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from training.pretrain.data import Source, document_windows, iter_documents


@dataclass(frozen=True)
class WindowCache:
    ids: torch.Tensor  # (T,) int32: every window's ids, back to back
    window_starts: torch.Tensor  # (W + 1,) int64: window w is ids[window_starts[w]:window_starts[w + 1]]
    doc_starts: torch.Tensor  # (D + 1,) int64: document d's windows are doc_starts[d]:doc_starts[d + 1]

    @property
    def documents(self) -> int:
        return len(self.doc_starts) - 1

    def windows(self, first_doc: int, docs: int) -> list[list[int]]:
        """The windows of documents first_doc .. first_doc + docs - 1, in order."""
        first, last = int(self.doc_starts[first_doc]), int(self.doc_starts[first_doc + docs])
        starts = self.window_starts[first : last + 1].tolist()
        return [self.ids[a:b].tolist() for a, b in zip(starts, starts[1:], strict=False)]


def build_window_cache(source: Source, tokenizer, max_content: int, *, chunk_docs: int = 2048) -> WindowCache:
    """Every window of `source` in file order (documents tokenised `chunk_docs` at a time)."""
    pieces: list[torch.Tensor] = []
    window_lengths: list[int] = []
    windows_per_doc: list[int] = []
    chunk: list[str] = []

    def flush() -> None:
        for windows in document_windows(chunk, tokenizer, max_content):
            windows_per_doc.append(len(windows))
            window_lengths.extend(len(w) for w in windows)
            pieces.extend(torch.tensor(w, dtype=torch.int32) for w in windows)
        chunk.clear()

    for text in iter_documents(source):
        chunk.append(text)
        if len(chunk) == chunk_docs:
            flush()
    flush()
    ids = torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.int32)
    window_starts = torch.zeros(len(window_lengths) + 1, dtype=torch.long)
    window_starts[1:] = torch.tensor(window_lengths, dtype=torch.long).cumsum(0)
    doc_starts = torch.zeros(len(windows_per_doc) + 1, dtype=torch.long)
    doc_starts[1:] = torch.tensor(windows_per_doc, dtype=torch.long).cumsum(0)
    return WindowCache(ids, window_starts, doc_starts)


def cache_key(source: Source, tokenizer, max_content: int) -> str:
    """What a cache's windows depend on, as a short hash (part of its file name)."""
    stat = source.path.stat()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    vocabulary = (
        backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    )
    facts = [str(source.path.resolve()), stat.st_size, stat.st_mtime_ns, source.text_column, max_content]
    digest = hashlib.sha256(json.dumps(facts).encode() + vocabulary.encode())
    return digest.hexdigest()[:16]


def load_or_build(source: Source, tokenizer, max_content: int, *, folder: Path) -> WindowCache:
    """The cache of `source` from `folder`, built and saved there first if it is not."""
    path = folder / f"{source.path.name}.{cache_key(source, tokenizer, max_content)}.windows.pt"
    if path.exists():
        saved = torch.load(path)
        return WindowCache(saved["ids"], saved["window_starts"], saved["doc_starts"])
    started = time.perf_counter()
    print(f"pretrain: tokenising {source.path} once into {path.name} ...", flush=True)
    cache = build_window_cache(source, tokenizer, max_content)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(
        {"ids": cache.ids, "window_starts": cache.window_starts, "doc_starts": cache.doc_starts}, partial
    )
    partial.replace(path)  # a run killed while saving leaves no half cache behind
    print(
        f"pretrain: {cache.documents} documents, {len(cache.window_starts) - 1} windows, "
        f"{len(cache.ids):,} tokens in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return cache
