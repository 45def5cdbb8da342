"""MLM word substitution (CBERT / nlpaug's ContextualWordEmbsAug style), label-agnostic.

Per try: mask max(1, int(p * m)) of the m maskable words of the text (p = 0.15 by default; a word is
maskable when the codec allows all its pieces and its first piece holds a letter or digit:
punctuation is not a word and is never replaced, nor written in place of a word), let a plain masked
LM predict all masked words at once, and sample each replacement from its top-k (10) candidates,
never a banned id (specials, unused rows, label tokens of a generator) and never the word it
replaces. A masked word is one masked position however many pieces it has, and its replacement is
one whole-word piece (the rule of the diffusion augmenter, `DiffusionOptions.whole_words`): a
replaced word tail would glue a new word from fragments ("corona ##virus" -> "corona ##tion"), and a
continuation piece in a word's place would glue itself onto the word before. With whole_words=False
every word piece is a word of its own, as before 2026-12-05 (a tail is replaced by a tail): readers
prefer the whole-word rewrites, a classifier trained on them did worse (docs/FLUENCY.md). New ids go
back into the original string with `TextCodec.splice` (the masked word's other pieces as DROPPED),
so untouched text keeps its casing and spacing.

Batched like the diffusion augmenter: all tries of all inputs of an attempt go through the model
in one forward pass (chunked by `batch_size`); later attempts draw more tries only for the inputs
still short of n. Every try draws its words and sampling uniforms from its own generator seeded
by (seed, item, try), so outputs do not depend on batching or on the other inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from training.augmenters.base import AugmentResult, ProgressFn
from training.augmenters.distinct import DistinctCollector
from training.common import bucketed_batches, local_generator, pad_batch, pretrained_kwargs
from training.generator import MaskedLMRunner
from training.sampler import candidate_distribution, sample_candidates
from training.text import DROPPED, EncodedText, TextCodec


@dataclass
class _Try:
    item: int
    index: int
    words: list[list[int]]  # content positions of each masked word's pieces, ascending
    uniforms: torch.Tensor  # (len(words),) one sampling uniform per masked word

    @property
    def positions(self) -> list[int]:
        """The masked words' first pieces: the one position each is fed to the model as."""
        return [word[0] for word in self.words]

    @property
    def tails(self) -> list[int]:
        """The masked words' other pieces: left out of the model's input, DROPPED when the word changes."""
        return [j for word in self.words for j in word[1:]]


class MLMSubstitutionAugmenter:
    name = "mlm_substitution"

    def __init__(
        self,
        model,
        codec: TextCodec,
        *,
        p: float = 0.15,
        top_k: int = 10,
        temperature: float = 1.0,
        max_attempts: int = 4,
        batch_size: int = 64,
        max_length: int | None = None,
        whole_words: bool = True,
    ):
        """model: a masked LM (a checkpoint's generator works too: its label-token rows are banned).
        codec: a TextCodec on the model's base tokenizer."""
        if not 0.0 < p <= 1.0:
            raise ValueError(f"p must be in (0, 1], got {p}")
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if max_attempts < 1 or batch_size < 1:
            raise ValueError("max_attempts and batch_size must be >= 1")
        self.model = model.eval()
        self.runner = MaskedLMRunner(model)
        self.codec = codec
        self.p, self.top_k, self.temperature = p, top_k, temperature
        self.whole_words = whole_words
        self.max_attempts, self.batch_size = max_attempts, batch_size
        window = max_length or min(512, int(getattr(model.config, "max_position_embeddings", 512)))
        if window < 3:
            raise ValueError("max_length must leave room for [CLS], one token and [SEP]")
        self.max_content = window - 2
        vocab = model.get_input_embeddings().num_embeddings
        self.banned = codec.banned_mask(vocab)  # (V,)
        starts = torch.zeros(len(self.banned), dtype=torch.bool)
        starts[: codec.vocab_size] = torch.tensor([codec.is_word_start(i) for i in range(codec.vocab_size)])
        self.word_start = starts  # (V,)
        wordish = torch.zeros(len(self.banned), dtype=torch.bool)
        wordish[: codec.vocab_size] = torch.tensor([_has_alnum(piece) for piece in codec.pieces])
        self.wordish = wordish  # (V,) pieces with a letter or digit

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, device: str | torch.device = "cpu", **options):
        """Load a plain masked LM and its tokenizer from a folder or HF id (offline for folders)."""
        from transformers import AutoTokenizer

        from training.generator import load_base_mlm

        model, head_created = load_base_mlm(name_or_path, torch.device(device))
        if head_created:
            raise ValueError(
                f"{name_or_path} has no masked-LM head: MLM substitution needs a trained one "
                "(run `python -m training pretrain` on it first)"
            )
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), **pretrained_kwargs(name_or_path))
        return cls(model, TextCodec(tokenizer), **options)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def augment(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        counts: Sequence[int],
        *,
        seed: int,
        progress: ProgressFn | None = None,
        exclude: Sequence[Iterable[str]] | None = None,
    ) -> AugmentResult:
        collector = DistinctCollector(
            self.name,
            seed,
            texts,
            labels=labels,
            counts=counts,
            exclude=exclude,
            normalise=self.codec.normalise,
        )
        encoded = self.codec.encode(texts, self.max_content)
        maskable = [self._maskable_words(e) for e in encoded]
        for i in range(len(texts)):
            if counts[i] and not maskable[i]:
                collector.give_up(i, "the text has no tokens the masked LM can replace")
        next_try = [0] * len(texts)
        decoded, passes = 0, 0
        for attempt in range(self.max_attempts):
            tries = []
            for i in range(len(texts)):
                missing = collector.missing(i)
                # Later attempts draw twice what is missing: those inputs already produced repeats.
                for _ in range(missing if attempt == 0 else 2 * missing):
                    tries.append(self._draw(seed, i, next_try[i], maskable=maskable[i]))
                    next_try[i] += 1
            if not tries:
                break
            new_ids, chunks = self._predict(tries, encoded)
            decoded += len(tries)
            passes += chunks
            for t, ids in zip(tries, new_ids, strict=True):
                self._offer(collector, t, ids, encoded=encoded[t.item])
            collector.progress(progress)
        return collector.result(chains_decoded=decoded, forward_passes=passes)

    def _maskable_words(self, encoded: EncodedText) -> list[list[int]]:
        """The content positions of each word the augmenter may replace: every piece maskable, the
        first one holding a letter or digit (without whole_words, each piece is a word)."""
        units = encoded.unit_index() if self.whole_words else torch.arange(len(encoded))
        return [
            word
            for word in word_positions(units)
            if all(encoded.maskable[j] for j in word) and bool(self.wordish[encoded.ids[word[0]]])
        ]

    def _draw(self, seed: int, item: int, index: int, *, maskable: list[list[int]]) -> _Try:
        gen = local_generator(seed, self.name, item, index)
        k = max(1, int(self.p * len(maskable)))
        order = torch.randperm(len(maskable), generator=gen)[:k]
        words = sorted(maskable[int(j)] for j in order)
        return _Try(item=item, index=index, words=words, uniforms=torch.rand(len(words), generator=gen))

    @torch.inference_mode()
    def _predict(self, tries: Sequence[_Try], encoded: Sequence[EncodedText]) -> tuple[list[list[int]], int]:
        """One forward pass over every try (in length-sorted chunks): new content ids per try."""
        out: list[list[int]] = [[] for _ in tries]
        lengths = [len(encoded[t.item]) - len(t.tails) for t in tries]
        chunks = 0
        for batch in bucketed_batches(lengths, self.batch_size, rng=None):
            rows, where = [], []
            for row, j in enumerate(batch):
                t = tries[j]
                masked, tails = set(t.positions), set(t.tails)
                content = [self.codec.cls_id]  # a masked word's row position is its index here
                for k, i in enumerate(encoded[t.item].ids):
                    if k in masked:
                        where.append([row, len(content)])
                        content.append(self.codec.mask_id)
                    elif k not in tails:
                        content.append(i)
                rows.append([*content, self.codec.sep_id])
            input_ids, attention = pad_batch(rows, self.codec.pad_id)
            logits = self.runner(
                input_ids.to(self.device), attention.to(self.device), torch.tensor(where).to(self.device)
            ).float()  # (P, V)
            original = torch.tensor(
                [encoded[tries[j].item].ids[pos] for j in batch for pos in tries[j].positions]
            )
            uniforms = torch.cat([tries[j].uniforms for j in batch])  # (P,)
            tokens = self._sample(logits.cpu(), original, uniforms)
            chunks += 1
            cursor = 0
            for j in batch:
                ids = list(encoded[tries[j].item].ids)
                for word in tries[j].words:
                    new = int(tokens[cursor])
                    cursor += 1
                    if new != ids[word[0]]:  # the original comes back only where nothing else is allowed
                        ids[word[0]] = new
                        ids[word[0] + 1 : word[-1] + 1] = [DROPPED] * (len(word) - 1)
                out[j] = ids
        return out, chunks

    def _sample(self, logits: torch.Tensor, original: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
        """(P, V) logits, (P,) original ids, (P,) uniforms -> (P,) replacement ids (the original where
        no candidate is allowed)."""
        rows = torch.arange(len(original))
        width = logits.shape[-1]
        starts = self.word_start[:width]
        allowed = (~self.banned[:width] & self.wordish[:width]).unsqueeze(0) & (
            starts.unsqueeze(0) == starts[original].unsqueeze(1)
        )  # (P, V)
        allowed[rows, original] = False
        logits = logits.masked_fill(~allowed, float("-inf"))  # (P, V)
        stuck = ~allowed.any(-1)
        logits[rows[stuck], original[stuck]] = 0.0  # nothing allowed: keep the original token
        no_ban = torch.zeros(0, dtype=torch.long)  # already applied through `allowed`
        cand, probs = candidate_distribution(
            logits, no_ban, temperature=self.temperature, top_k=self.top_k, top_p=1.0
        )
        tokens, _ = sample_candidates(cand, probs, uniforms)
        return tokens

    def _offer(self, collector: DistinctCollector, t: _Try, ids: list[int], *, encoded: EncodedText) -> None:
        changed = [word for word in t.words if ids[word[0]] != encoded.ids[word[0]]]
        if not changed:
            collector.offer(t.item, t.index, None, facts={})
            return
        text = self.codec.splice(encoded, ids)
        n = len(encoded)
        facts = {
            "p": self.p,
            "top_k": self.top_k,
            "masked_positions": t.positions,
            "mask_ratio": round(sum(map(len, t.words)) / n, 4),
            "changed_ratio": round(sum(map(len, changed)) / n, 4),
            "replaced": [
                {
                    "position": word[0],
                    "old": encoded.text[encoded.offsets[word[0]][0] : encoded.offsets[word[-1]][1]],
                    "new": self.codec.pieces[ids[word[0]]],
                }
                for word in changed
            ],
        }
        collector.offer(t.item, t.index, text, facts=facts)


def _has_alnum(piece: str) -> bool:
    return any(c.isalnum() for c in piece)


def word_positions(units: torch.Tensor) -> list[list[int]]:
    """The content positions of each word, in order: runs of equal mask units. (n,) -> lists."""
    words: list[list[int]] = []
    for j, unit in enumerate(units.tolist()):
        if j and unit == units[j - 1]:
            words[-1].append(j)
        else:
            words.append([j])
    return words
