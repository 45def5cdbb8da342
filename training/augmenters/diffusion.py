"""Conditional sample generation with the diffusion generator (ALGORITHM.md section 5).

For each input: importance weights from the classifier (or the proxy), a corruption step t drawn
from a step range, a nested label-aware mask, K-round decoding conditioned on the label, and a check
that the output is new. Every chain draws its randomness from its own generator seeded by
(seed, item, chain), so an output depends on the call's seed and its own position only, never on the
batch it was decoded in (exactly in fp32; in bf16 the batch's padded shape changes the rounding, which
can flip a draw). Exactly n distinct outputs per input, none equal to the input; a shortfall
is reported, never padded. Which outputs an input keeps (and the label filter's top-up) is in
`training.augmenters.diffusion_filter`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from training.augmenters.base import Augmentation, AugmentResult, ProgressFn, check_request
from training.augmenters.diffusion_filter import (
    ItemState,
    filter_fresh,
    item_states,
    score_augmentations,
    settle,
)
from training.augmenters.diffusion_options import DiffusionOptions
from training.classifier import ClassifierRunner
from training.common import local_generator, pad_batch, token_limited_batches
from training.generator import LABEL_POSITION, PREFIX_LENGTH, MaskedLMRunner, ScheduleConfig, prompt_ids
from training.sampler import iterative_decode
from training.schedule import ensure_min_masked, keep_curve, unit_max
from training.text import DROPPED, EncodedText, TextCodec

# score_augmentations lives in diffusion_filter; the API, the CLI and the worker import it from here.
__all__ = ["ConfiguredDiffusion", "DiffusionAugmenter", "DiffusionOptions", "score_augmentations"]


@dataclass
class _Chain:
    item: int
    chain: int
    step: int
    mask: torch.Tensor  # (n,) bool over content tokens
    uniforms: torch.Tensor  # (K, n)


class DiffusionAugmenter:
    """Generates label-conditioned rewrites of texts with a trained diffusion generator.

    Holds the loaded models; per-call settings come in `DiffusionOptions` (`configured(options)`
    gives an object with the plain `Augmenter` interface).
    """

    name = "diffusioncls"

    def __init__(
        self,
        generator,
        codec: TextCodec,
        label_ids: dict[str, int],
        *,
        null_label_id: int,
        schedule: ScheduleConfig,
        max_length: int,
        importance_source: ClassifierRunner,
        scorer: ClassifierRunner | None = None,
        precision: str = "auto",
        prior_shift: torch.Tensor | None = None,
    ):
        self.model = generator.eval()
        self.runner = MaskedLMRunner(generator, precision)
        self.codec = codec
        self.label_ids = dict(label_ids)
        self.null_label_id = null_label_id
        self.schedule = schedule
        self.max_content = max_length - PREFIX_LENGTH - 1
        self.importance_source = importance_source
        self.scorer = scorer
        vocab_size = generator.get_input_embeddings().num_embeddings
        self.banned = codec.banned_mask(vocab_size)
        self.banned_whole_words = self.banned | codec.continuation_mask(vocab_size)
        self.content_words = codec.content_word_mask(vocab_size)
        # training.generator.prior_shift of this generator (None: fitted before it was measured)
        self.prior_shift = None if prior_shift is None else prior_shift.to(self.device)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def labels(self) -> list[str]:
        return list(self.label_ids)

    @classmethod
    def from_checkpoint(cls, checkpoint, precision: str = "auto") -> DiffusionAugmenter:
        """Importance and scores come from the task classifier when the checkpoint has one (the
        paper's reflective generation), else from the proxy."""
        codec = TextCodec(checkpoint.tokenizer)
        if checkpoint.generator is None or (checkpoint.classifier is None and checkpoint.proxy is None):
            raise ValueError("augmentation needs the generator and the proxy or classifier of the checkpoint")
        runner, _ = checkpoint.judge_runner(precision=precision)
        label_ids = checkpoint.label_ids
        if not checkpoint.settings.generator.get("label_prompt", True):
            # A generator trained without label prompts (an ablation) is sampled the same way.
            label_ids = {label: checkpoint.null_label_id for label in label_ids}
        return cls(
            checkpoint.generator,
            codec,
            label_ids,
            null_label_id=checkpoint.null_label_id,
            schedule=checkpoint.settings.schedule,
            max_length=checkpoint.settings.max_length,
            importance_source=runner,
            scorer=runner,
            precision=precision,
            prior_shift=checkpoint.prior_shift,
        )

    def configured(self, options: DiffusionOptions) -> ConfiguredDiffusion:
        return ConfiguredDiffusion(self, options)

    def check_labels(self, labels: Iterable[str]) -> None:
        unknown = sorted(set(labels) - set(self.label_ids))
        if unknown:
            raise ValueError(f"unknown label(s) {unknown}; this checkpoint knows {sorted(self.label_ids)}")

    # ------------------------------------------------------------------------------------------
    def augment(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        counts: Sequence[int],
        *,
        seed: int,
        progress: ProgressFn | None = None,
        exclude: Sequence[Iterable[str]] | None = None,
        options: DiffusionOptions = DiffusionOptions(),
    ) -> AugmentResult:
        """`counts[i]` new texts for `texts[i]` with label `labels[i]`.

        exclude: per input, texts that must not be produced (the outputs of an earlier call).
        """
        check_request(texts, labels, counts)
        self.check_labels(labels)
        self._check_steps(options.steps)
        if options.decode.prior_correction and self.prior_shift is None:
            raise ValueError(
                "prior_correction needs the generator's prior shift, which this checkpoint lacks (fitted "
                "before 2026-12-07, or from a base without an MLM head): refit it, or leave prior_correction at 0"
            )
        started = time.perf_counter()
        timings = dict.fromkeys(("importance", "draw", "decode", "accept"), 0.0)
        clock = time.perf_counter()
        encoded, curves = self._encode_with_curves(texts)
        states, shortfalls = item_states(self.codec, encoded, counts, exclude=exclude)
        timings["importance"] += time.perf_counter() - clock
        requested = sum(counts)
        decoded_chains, forward_passes = 0, 0
        for attempt in range(options.max_attempts):
            clock = time.perf_counter()
            chains = self._draw_chains(attempt, states, encoded, curves=curves, seed=seed, options=options)
            if not chains:
                break
            timings["draw"] += time.perf_counter() - clock
            clock = time.perf_counter()
            new_ids, passes = self._decode(chains, encoded, labels, options=options)
            timings["decode"] += time.perf_counter() - clock
            clock = time.perf_counter()
            decoded_chains += len(chains)
            forward_passes += passes
            self._accept(chains, new_ids, states, encoded=encoded, labels=labels, seed=seed, options=options)
            timings["accept"] += time.perf_counter() - clock
            if progress is not None:
                progress(sum(min(len(s.accepted), s.needed) for s in states), requested)
        shortfalls += settle(states)
        augmentations = [a for s in states for a in s.accepted]
        if options.score and self.scorer is not None and augmentations:
            score_augmentations(self.scorer, augmentations)
        stats = {
            "requested": requested,
            "produced": len(augmentations),
            "chains_decoded": decoded_chains,
            "forward_passes": forward_passes,
            "seconds": round(time.perf_counter() - started, 3),
            **{f"{name}_seconds": round(value, 4) for name, value in timings.items()},
        }
        return AugmentResult(augmentations, sorted(shortfalls, key=lambda s: s.source_index), stats)

    def _check_steps(self, steps: tuple[int, int]) -> None:
        """Refuse a corruption step range outside the generator's schedule."""
        low, high = steps
        if not 1 <= low <= high <= self.schedule.total_steps:
            raise ValueError(f"step range {steps} must lie within 1..{self.schedule.total_steps}")

    def _encode_with_curves(self, texts: Sequence[str]) -> tuple[list[EncodedText], list[torch.Tensor]]:
        """The inputs encoded, and each one's keep curve from the importance weights of its words."""
        encoded = self.codec.encode(texts, self.max_content)
        weights = self.importance_source.importance(encoded)
        return encoded, [self.unit_keep_curve(w, e) for w, e in zip(weights, encoded, strict=True)]

    def _draw_chains(
        self,
        attempt: int,
        states: Sequence[ItemState],
        encoded: Sequence[EncodedText],
        *,
        curves: Sequence[torch.Tensor],
        seed: int,
        options: DiffusionOptions,
    ) -> list[_Chain]:
        """This attempt's chains, input by input: as many as each input still misses."""
        chains = []
        for i, state in enumerate(states):
            missing = state.needed - len(state.accepted)
            # Later attempts draw twice what is missing: those inputs already produced repeats.
            for _ in range(max(0, missing if attempt == 0 else 2 * missing)):
                chains.append(
                    self._draw_chain(
                        seed, i, state.next_chain, encoded=encoded[i], curve=curves[i], options=options
                    )
                )
                state.next_chain += 1
        return chains

    def _accept(
        self,
        chains: Sequence[_Chain],
        new_ids: Sequence[list[int]],
        states: Sequence[ItemState],
        *,
        encoded: Sequence[EncodedText],
        labels: Sequence[str],
        seed: int,
        options: DiffusionOptions,
    ) -> None:
        """Keep the decoded chains that are new for their input, then pass them through the label filter."""
        for chain, ids in zip(chains, new_ids, strict=True):
            state = states[chain.item]
            state.chains_tried += 1
            self._consider(
                chain,
                ids,
                encoded[chain.item],
                label=labels[chain.item],
                state=state,
                seed=seed,
                options=options,
            )
        filter_fresh(states, self.scorer, options.min_label_prob)

    # ------------------------------------------------------------------------------------------
    def unit_keep_curve(self, weights: torch.Tensor, encoded: EncodedText) -> torch.Tensor:
        """One keep curve per mask unit (word): (T+1, U), from the unit's most important piece."""
        unit_weights = unit_max(weights[None], encoded.unit_index()[None], encoded.n_units)[0]
        return keep_curve(unit_weights, self.schedule.total_steps, self.schedule.lam)

    @staticmethod
    def _draw_chain(
        seed: int,
        item: int,
        chain: int,
        *,
        encoded: EncodedText,
        curve: torch.Tensor,
        options: DiffusionOptions,
    ) -> _Chain:
        """All randomness of one chain, from its own generator: step, mask uniforms, sampling uniforms.

        Masks are drawn per unit (word) and cover all of its rewritable pieces."""
        gen = local_generator(seed, item, chain)
        low, high = options.steps
        step = int(torch.randint(low, high + 1, (1,), generator=gen))
        units = encoded.unit_index()  # (n,)
        count = encoded.n_units
        uniform = torch.rand((1, count), generator=gen)  # one draw per unit
        sampling = torch.rand((options.decode.rounds, len(encoded)), generator=gen)
        maskable = torch.tensor(encoded.maskable, dtype=torch.bool)
        unit_maskable = unit_max(maskable[None].float(), units[None], count).bool()  # (1, U)
        keep = curve[step].unsqueeze(0)  # (1, U)
        unit_mask = ensure_min_masked(
            (uniform >= keep) & unit_maskable, uniform, keep, maskable=unit_maskable
        )[0]
        return _Chain(item=item, chain=chain, step=step, mask=unit_mask[units] & maskable, uniforms=sampling)

    def _decode(
        self,
        chains: Sequence[_Chain],
        encoded: Sequence[EncodedText],
        labels: Sequence[str],
        *,
        options: DiffusionOptions,
    ) -> tuple[list[list[int]], int]:
        """Decode all chains in length-sorted batches; returns new content ids per chain (DROPPED where
        a piece of a rewritten word is gone) and passes run."""
        out: list[list[int]] = [[] for _ in chains]
        passes = 0
        # The content positions each chain decodes: with whole_words, one per masked word.
        slots = [
            word_slots(c.mask, encoded[c.item].unit_index()) if options.whole_words else None for c in chains
        ]
        lengths = [len(encoded[c.item]) if s is None else len(s) for c, s in zip(chains, slots, strict=True)]
        rounds = options.decode.rounds
        prompt_lengths = [n + PREFIX_LENGTH + 1 for n in lengths]
        banned = (self.banned_whole_words if options.whole_words else self.banned).to(self.device)
        # A guided forward pass holds every prompt twice (with its label and with the null label), so the
        # token budget, which bounds a pass's memory, counts it twice.
        rows_per_prompt = options.decode.rows_per_prompt
        budget_lengths = [rows_per_prompt * n for n in prompt_lengths]
        for batch in token_limited_batches(budget_lengths, options.batch_size, options.max_batch_tokens):
            prompts = [
                prompt_ids(
                    _content(encoded[chains[j].item].ids, slots[j]),
                    self.label_ids[labels[chains[j].item]],
                    self.codec,
                )
                for j in batch
            ]
            input_ids, attention = pad_batch(prompts, self.codec.pad_id)
            masked = torch.zeros_like(input_ids, dtype=torch.bool)
            uniforms = torch.zeros((len(batch), rounds, input_ids.shape[1]))
            for row, j in enumerate(batch):
                n, chain, kept = lengths[j], chains[j], slots[j]
                masked[row, PREFIX_LENGTH : PREFIX_LENGTH + n] = (
                    chain.mask if kept is None else chain.mask[kept]
                )
                uniforms[row, :, PREFIX_LENGTH : PREFIX_LENGTH + n] = (
                    chain.uniforms if kept is None else chain.uniforms[:, kept]
                )
            with torch.inference_mode():
                new = iterative_decode(
                    self.runner,
                    input_ids.to(self.device),
                    attention.to(self.device),
                    masked=masked.to(self.device),
                    uniforms=uniforms.to(self.device),
                    banned=banned,
                    config=options.decode,
                    mask_id=self.codec.mask_id,
                    label_position=LABEL_POSITION,
                    null_label_id=self.null_label_id,
                    prior_shift=self.prior_shift,
                    content=self.content_words.to(self.device),
                ).cpu()
            passes += options.decode.forward_rows(min(rounds, int(masked.sum(-1).max())))
            for row, j in enumerate(batch):
                decoded = new[row, PREFIX_LENGTH : PREFIX_LENGTH + lengths[j]]
                if slots[j] is None:
                    out[j] = decoded.tolist()
                else:
                    full = torch.full((len(encoded[chains[j].item]),), DROPPED, dtype=torch.long)
                    full[slots[j]] = decoded
                    out[j] = full.tolist()
        return out, passes

    def _consider(
        self,
        chain: _Chain,
        ids: list[int],
        encoded: EncodedText,
        *,
        label: str,
        state: ItemState,
        seed: int,
        options: DiffusionOptions,
    ) -> None:
        """Keep a decoded chain (in `state.fresh`) if it is new for its input, with its provenance."""
        if list(encoded.ids) == ids:
            return
        text = self.codec.splice(encoded, ids)
        key = self.codec.normalise(text)
        if key in state.seen:
            return
        state.seen.add(key)
        n = len(encoded)
        masked = chain.mask.nonzero().flatten().tolist()
        changed = sum(int(a != b) for a, b in zip(encoded.ids, ids, strict=True))
        provenance = {
            "method": self.name,
            "seed": seed,
            "chain": chain.chain,
            "step": chain.step,
            "rounds": options.decode.rounds,
            "mask_ratio": round(len(masked) / n, 4),
            "masked_positions": masked,
            "changed_ratio": round(changed / n, 4),
        }
        state.fresh.append(
            Augmentation(source_index=chain.item, text=text, label=label, provenance=provenance)
        )


def _content(ids: Sequence[int], slots: torch.Tensor | None) -> Sequence[int]:
    """The content ids a chain decodes: all of them, or those at its word slots."""
    return ids if slots is None else [ids[k] for k in slots.tolist()]


def word_slots(mask: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """The content positions decoded when each masked word is rewritten as one word: every position
    but the second and later pieces of a masked word (masks cover whole words). mask, units (n,) ->
    (m,) positions, ascending."""
    later_piece = torch.zeros_like(mask)
    later_piece[1:] = units[1:] == units[:-1]
    return (~(mask & later_piece)).nonzero().flatten()


@dataclass(frozen=True)
class ConfiguredDiffusion:
    """A DiffusionAugmenter with fixed options, behind the plain `Augmenter` interface."""

    augmenter: DiffusionAugmenter
    options: DiffusionOptions
    name: str = "diffusioncls"

    def augment(self, texts, labels, counts, *, seed, progress=None, exclude=None) -> AugmentResult:
        return self.augmenter.augment(
            texts, labels, counts, seed=seed, progress=progress, exclude=exclude, options=self.options
        )
