"""MLM word substitution (CBERT / nlpaug's ContextualWordEmbsAug style), label-agnostic.

Per try: mask max(1, int(p * m)) of the m maskable word pieces of the text (p = 0.15 by default;
a piece is maskable when the codec allows it and it holds a letter or digit: punctuation is not a
word and is never replaced, nor written in place of a word), let a plain masked LM predict all masked positions at once, and sample each replacement
from its top-k (10) candidates, never a banned id (specials, unused rows, label tokens of a
generator) and never the token it replaces. A candidate must also agree with the original on being
a word start or a continuation piece, so a replacement neither glues itself onto the previous word
nor splits one ('great' -> '##ly' would write 'wasly'). New ids go back into the original string
with `TextCodec.splice`, so untouched text keeps its casing and spacing.

Batched like the diffusion augmenter: all tries of all inputs of an attempt go through the model
in one forward pass (chunked by `batch_size`); later attempts draw more tries only for the inputs
still short of n. Every try draws its positions and sampling uniforms from its own generator seeded
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
from training.text import EncodedText, TextCodec


@dataclass
class _Try:
    item: int
    index: int
    positions: list[int]  # masked content positions, ascending
    uniforms: torch.Tensor  # (len(positions),) one sampling uniform per masked position


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
        maskable = [
            [j for j, ok in enumerate(e.maskable) if ok and bool(self.wordish[e.ids[j]])] for e in encoded
        ]
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

    def _draw(self, seed: int, item: int, index: int, *, maskable: list[int]) -> _Try:
        gen = local_generator(seed, self.name, item, index)
        k = max(1, int(self.p * len(maskable)))
        order = torch.randperm(len(maskable), generator=gen)[:k]
        positions = sorted(maskable[int(j)] for j in order)
        return _Try(
            item=item, index=index, positions=positions, uniforms=torch.rand(len(positions), generator=gen)
        )

    @torch.inference_mode()
    def _predict(self, tries: Sequence[_Try], encoded: Sequence[EncodedText]) -> tuple[list[list[int]], int]:
        """One forward pass over every try (in length-sorted chunks): new content ids per try."""
        out: list[list[int]] = [[] for _ in tries]
        lengths = [len(encoded[t.item]) for t in tries]
        chunks = 0
        for batch in bucketed_batches(lengths, self.batch_size, rng=None):
            rows = []
            for j in batch:
                ids = list(encoded[tries[j].item].ids)
                for pos in tries[j].positions:
                    ids[pos] = self.codec.mask_id
                rows.append([self.codec.cls_id, *ids, self.codec.sep_id])
            input_ids, attention = pad_batch(rows, self.codec.pad_id)
            where = torch.tensor(
                [[row, 1 + pos] for row, j in enumerate(batch) for pos in tries[j].positions]
            )
            logits = self.runner(
                input_ids.to(self.device), attention.to(self.device), where.to(self.device)
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
                for pos in tries[j].positions:
                    ids[pos] = int(tokens[cursor])
                    cursor += 1
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
        changed = [pos for pos in t.positions if ids[pos] != encoded.ids[pos]]
        if not changed:
            collector.offer(t.item, t.index, None, facts={})
            return
        text = self.codec.splice(encoded, ids)
        pieces = self.codec.pieces
        n = len(encoded)
        facts = {
            "p": self.p,
            "top_k": self.top_k,
            "masked_positions": t.positions,
            "mask_ratio": round(len(t.positions) / n, 4),
            "changed_ratio": round(len(changed) / n, 4),
            "replaced": [
                {"position": pos, "old": pieces[encoded.ids[pos]], "new": pieces[ids[pos]]} for pos in changed
            ],
        }
        collector.offer(t.item, t.index, text, facts=facts)


def _has_alnum(piece: str) -> bool:
    return any(c.isalnum() for c in piece)
