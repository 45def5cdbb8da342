"""K-round confidence-ordered decoding of masked positions (ALGORITHM.md section 5).

Pure functions with explicit arguments. All randomness comes in as tensors of uniforms drawn by the
caller from local generators, so a chain's outcome depends only on its own seed, not on which other
chains share its batch. Shapes: B = chains, L = sequence length, P = positions predicted this
round, V = vocabulary, C = candidate tokens per position, K = rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from training.defaults import (
    DECODING_KNOBS,
    DEFAULT_GUIDANCE_SCALE,
    DEFAULT_GUIDED_ROUNDS,
    DEFAULT_PRIOR_CORRECTION,
    DEFAULT_REPETITION_PENALTY,
    DEFAULT_ROUNDS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    DEFAULT_TOP_P,
    check_knob,
)

LogitsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""(input_ids (B, L), attention_mask (B, L), positions (P, 2)) -> logits (P, V) at those positions."""


@dataclass(frozen=True)
class DecodeConfig:
    # The defaults and limits of every knob are training/defaults.py's (DECODING_KNOBS).
    rounds: int = DEFAULT_ROUNDS
    temperature: float = DEFAULT_TEMPERATURE  # 0 = greedy
    top_k: int = DEFAULT_TOP_K  # 0 = no top-k cut
    top_p: float = DEFAULT_TOP_P  # 1 = no nucleus cut
    # 1 = conditional only; s != 1 adds a null-label pass (CFG)
    guidance_scale: float = DEFAULT_GUIDANCE_SCALE
    # r > 0 guides only the first r passes (the rest run with the label alone); 0 = every pass
    guided_rounds: int = DEFAULT_GUIDED_ROUNDS
    # r > 1 divides the probability of each token already in the text by r per copy, before the
    # temperature (so by r ** (1 / T) as sampled); 1 = off
    repetition_penalty: float = DEFAULT_REPETITION_PENALTY
    # c > 0 subtracts c x the generator's prior shift (training.generator.prior_shift) from every
    # position's logits, after guidance; 0 = off (and nothing happens without a prior shift)
    prior_correction: float = DEFAULT_PRIOR_CORRECTION
    # Never write a content word (TextCodec.content_word_mask) the text already holds, kept or
    # written, nor the same one twice in a round. Not a knob: always on outside the benchmarks,
    # where False measures decoding as it was before 2026-12-08.
    ban_content_repeats: bool = True

    def __post_init__(self) -> None:
        # The limits every entry point shares (training/defaults.py); the numbers stay as given.
        for name in DECODING_KNOBS:
            check_knob(name, getattr(self, name))

    @property
    def guided(self) -> bool:
        """Classifier-free guidance is on: every pass also runs each prompt with the null label."""
        return self.guidance_scale != 1.0

    @property
    def rows_per_prompt(self) -> int:
        """Rows a prompt takes in a forward pass, at most: 2 when guided (its label, the null label), else 1."""
        return 2 if self.guided else 1

    def guides_pass(self, index: int) -> bool:
        """Pass `index` (0-based; the extra passes after the K rounds included) runs with guidance."""
        return self.guided and (self.guided_rounds == 0 or index < self.guided_rounds)

    def forward_rows(self, passes: int) -> int:
        """Rows one prompt takes over its first `passes` passes, null-label rows included."""
        return passes + sum(self.guides_pass(r) for r in range(passes))


# Top-p looks for the nucleus among this many best candidates first, then among the next width's for
# the rows it did not cover, and sorts a whole row only past the last. A top-k of 1,024 costs a small
# part of a full sort of a 30k vocabulary (on 2 CPU cores the sorts were a third of a decoding call
# with the first window alone: rows that are still nearly flat are common in the first rounds).
NUCLEUS_WINDOWS = (64, 1024)
# Decoding passes allowed after the K rounds for positions a same-round twin left masked (see
# drop_same_round_twins); the last of them commits whatever is left.
EXTRA_PASSES = 4


def candidate_distribution(
    logits: torch.Tensor, banned: torch.Tensor, *, temperature: float, top_k: int, top_p: float
) -> tuple[torch.Tensor | None, torch.Tensor]:
    """Allowed candidates and their sampling weights after banning, temperature, top-k and top-p.

    logits (P, V) (consumed: changed in place), banned (K,) ids that must never be chosen ->
    (candidate ids (P, C), or None when every id is a candidate (C = V), weights (P, C) >= 0). The
    weights are probabilities up to one factor per row. Candidates come in descending order when a
    cut is applied; greedy (temperature 0) keeps one. The full (P, V) matrix is touched as few times
    as possible: it is the largest tensor of a sampling round.
    """
    logits = logits.float()
    logits.index_fill_(-1, banned, -math.inf)  # writes only the banned columns
    if temperature == 0:
        best = logits.argmax(dim=-1, keepdim=True)  # (P, 1)
        return best, torch.ones_like(best, dtype=logits.dtype)
    if top_k > 0:
        values, ids = logits.topk(min(top_k, logits.shape[-1]), dim=-1)  # (P, C), sorted
        weights = torch.softmax(values / temperature, dim=-1)
        return ids, (_nucleus(weights, top_p) if top_p < 1.0 else weights)
    if temperature != 1.0:
        logits.div_(temperature)
    if top_p < 1.0:
        return _nucleus_of_row(logits, top_p)
    logits.sub_(logits.amax(dim=-1, keepdim=True)).exp_()  # unnormalised probabilities, in place
    return None, logits


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero every candidate after the smallest sorted prefix whose mass reaches top_p."""
    before = probs.cumsum(-1) - probs  # mass of strictly better candidates
    return probs.masked_fill(before >= top_p, 0.0)  # the best candidate always survives


def _nucleus_of_row(logits: torch.Tensor, top_p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-p without top-k, exactly: the nucleus is looked for among the best NUCLEUS_WINDOWS[0]
    candidates, then the next window's for the rows it did not cover; past the last, a full sort."""
    log_total = log_sum_exp_rows(logits)  # (P, 1)
    return _nucleus_in_windows(logits, log_total, top_p, widths=NUCLEUS_WINDOWS)


# exp(-80) is about 2e-35: clamped there, each id contributes at most 2e-35 of the row's top mass,
# under 1e-30 for a whole vocabulary (float32 keeps 7 digits).
_NEGLIGIBLE_LOG = -80.0


def log_sum_exp_rows(logits: torch.Tensor) -> torch.Tensor:
    """(P, V) logits, each row with a finite maximum -> (P, 1) log of the row's total exp mass, as
    torch.logsumexp but with every logit more than 80 below its row's maximum clamped there.

    Why: banned ids hold -inf, and the CPU exp runs 2-4x slower on rows with thousands of them (the
    word-piece ban of whole-word decoding) than on rows without; clamped, those ids add nothing
    float32 can see (docs/FLUENCY.md, 2026-12-05)."""
    top = logits.amax(dim=-1, keepdim=True)  # (P, 1)
    return (logits - top).clamp_min_(_NEGLIGIBLE_LOG).exp_().sum(dim=-1, keepdim=True).log_() + top


def _nucleus_in_windows(
    logits: torch.Tensor, log_total: torch.Tensor, top_p: float, *, widths: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, V) logits -> (P, C) candidate ids, best first, and their nucleus-cut probabilities."""
    vocab = logits.shape[-1]
    width = min(widths[0], vocab) if widths else vocab
    if width == vocab:
        values, ids = logits.sort(dim=-1, descending=True)
    else:
        values, ids = logits.topk(width, dim=-1)
    probs = (values - log_total).exp()  # true probabilities of the window
    if width < vocab:
        wide = probs.sum(-1) < top_p  # rows whose nucleus reaches past this window
        if bool(wide.any()):
            wide_ids, wide_probs = _nucleus_in_windows(
                logits[wide], log_total[wide], top_p, widths=widths[1:]
            )
            keep = int((wide_probs > 0).sum(-1).max())  # the widest nucleus among those rows
            pad = keep - width  # > 0: those rows needed more than this window
            ids = torch.cat([ids, ids.new_zeros((ids.shape[0], pad))], -1)
            probs = torch.cat([probs, probs.new_zeros((probs.shape[0], pad))], -1)
            probs[wide] = 0.0
            probs[wide, :keep] = wide_probs[:, :keep]
            ids[wide, :keep] = wide_ids[:, :keep]
    return ids, _nucleus(probs, top_p)


def sample_candidates(
    ids: torch.Tensor | None, weights: torch.Tensor, uniform: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse-CDF sampling with one given uniform per row.

    ids (P, C) or None (candidate = column), weights (P, C) >= 0 (any row scale), uniform (P,) ->
    token (P,), its probability (P,).
    """
    cdf = weights.cumsum(-1)  # (P, C)
    total = cdf[:, -1:]  # (P, 1)
    target = uniform.to(cdf.dtype).unsqueeze(-1) * total
    index = torch.searchsorted(cdf, target, right=True).clamp_max(weights.shape[-1] - 1)  # (P, 1)
    chosen = weights.gather(-1, index)
    # A zero-weight candidate is only hit through float rounding at a CDF edge: take the best.
    zero = chosen == 0
    if bool(zero.any()):
        index = torch.where(zero, weights.argmax(-1, keepdim=True), index)
        chosen = weights.gather(-1, index)
    token = index if ids is None else ids.gather(-1, index)
    return token.squeeze(-1), (chosen / total).squeeze(-1)


def commit_counts(remaining: torch.Tensor, rounds_left: int) -> torch.Tensor:
    """How many masked positions each row commits this round: ceil(remaining / rounds_left)."""
    return torch.div(remaining + rounds_left - 1, rounds_left, rounding_mode="floor")


def select_most_confident(confidence: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """(B, L) confidences (-inf where not eligible), (B,) counts -> (B, L) bool of each row's top `count`.

    Ties go to the earlier position (stable sort), so the choice is deterministic.
    """
    order = torch.sort(confidence, dim=-1, descending=True, stable=True).indices  # (B, L)
    ranks = torch.empty_like(order).scatter_(
        -1, order, torch.arange(order.shape[-1], device=order.device).expand_as(order)
    )
    return (ranks < counts.unsqueeze(-1)) & torch.isfinite(confidence)


def ban_neighbour_repeats(
    logits: torch.Tensor, ids: torch.Tensor, still: torch.Tensor, *, positions: torch.Tensor
) -> torch.Tensor:
    """Forbid each masked position the tokens already written beside it; returns `logits`, changed
    in place.

    logits (P, V) at `positions` (P, 2) of ids (B, L); still (B, L) marks the positions not yet
    written (their neighbours' tokens are unknown, so nothing is banned for them). Repeating a
    neighbour is the commonest fault of parallel mask filling ("the the", "lockdown lockdown",
    "_ _ _"), and a rewrite almost never needs it.
    """
    rows, cols = positions[:, 0], positions[:, 1]
    length = ids.shape[1]
    for offset in (-1, 1):
        beside = cols + offset
        inside = (beside >= 0) & (beside < length)
        beside = beside.clamp(0, length - 1)
        known = (inside & ~still[rows, beside]).nonzero().flatten()
        logits[known, ids[rows[known], beside[known]]] = -math.inf
    return logits


def drop_same_round_twins(commit: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """`commit` (B, L) without the later of two neighbours committed in the same round with the same
    token ("is is", "and and"): the neighbour ban cannot see a token chosen in the same round, so the
    later one stays masked and is sampled again next round, when its neighbour is written and banned
    (after the K rounds, with the last round's uniform: it then mostly takes the next candidate).

    tokens (B, L): the sampled token of each position (any value where not committed)."""
    twin = commit[:, 1:] & commit[:, :-1] & (tokens[:, 1:] == tokens[:, :-1])
    if not bool(twin.any()):
        return commit
    kept = commit.clone()
    kept[:, 1:] &= ~twin
    return kept


def hold_same_round_repeats(
    commit: torch.Tensor, tokens: torch.Tensor, confidence: torch.Tensor, content: torch.Tensor
) -> torch.Tensor:
    """`commit` (B, L) keeping, of the positions committed in one round with the same content word,
    only the most confident (ties: the earlier position); the others stay masked and are sampled again
    next round, when the word is in the text and ban_repeated_content_words forbids it.

    Parallel filling writes one noun into several slots of a round ("The police held on the police and
    the police ..."), and a ban on the words already in the text cannot see a choice made in the same
    round. tokens (B, L): each position's sampled token (any value where not committed);
    confidence (B, L); content (V,) the ids of content words (TextCodec.content_word_mask): function
    words repeat in English ("the ... the") and are left alone."""
    candidate = commit & content[tokens]  # (B, L)
    if candidate.numel() == 0 or int(candidate.sum(-1).max()) < 2:
        return commit
    length = tokens.shape[1]
    same = (tokens[:, :, None] == tokens[:, None, :]) & candidate[:, :, None] & candidate[:, None, :]
    position = torch.arange(length, device=tokens.device)
    # j beats i: more confident, or as confident and earlier
    other, this = confidence[:, None, :], confidence[:, :, None]  # (B, 1, L) over j, (B, L, 1) over i
    beats = (other > this) | ((other == this) & (position[None, None, :] < position[None, :, None]))
    beaten = (same & beats).any(-1)  # (B, L): another committed copy of the word is preferred
    return commit & ~beaten


def ban_repeated_content_words(
    logits: torch.Tensor,
    ids: torch.Tensor,
    still: torch.Tensor,
    attention_mask: torch.Tensor,
    content: torch.Tensor,
    *,
    positions: torch.Tensor,
) -> torch.Tensor:
    """Forbid each masked position the content words already in its row, kept or written; returns
    `logits`, changed in place.

    content (V,) marks content words (TextCodec.content_word_mask). Rewrites of short texts repeated a
    noun far more often than their originals do ("The alarm was an alarm accident", "the house ... the
    house"): 106 of 300 rewrites of the shipped sample held a content word twice that the original did
    not, and a penalty that divides such words' probability by 2 still left 40 (the generator is very
    sure of its stock nouns). Function words are left alone: "the ... the" is English."""
    rows = positions[:, 0]
    row_ids = ids[rows]  # (P, L)
    present = (attention_mask.bool() & ~still)[rows] & content[row_ids]  # (P, L)
    hit = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, row_ids, present)
    return logits.masked_fill_(hit, -math.inf)


def penalise_repeats(
    logits: torch.Tensor,
    ids: torch.Tensor,
    still: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    positions: torch.Tensor,
    penalty: float,
) -> torch.Tensor:
    """Make each token already in a row `penalty` times less likely at that row's masked positions,
    once per copy (two copies: penalty**2); returns `logits`, changed in place.

    logits (P, V) at `positions` (P, 2) of ids (B, L); still (B, L) marks the positions not yet
    written; attention_mask (B, L). Parallel filling writes one content word into several far-apart
    slots ("the christmas festival had christmas, christmas"), which the neighbour ban cannot see.
    Subtracting log(penalty) from a logit divides that token's unnormalised probability by `penalty`
    before the temperature: sampled at temperature T, by penalty ** (1 / T) (2.7 for 2 at T = 0.7).
    Special tokens count too but are banned anyway; the cost is P x L, not P x V.
    """
    if penalty == 1.0:
        return logits
    rows = positions[:, 0]
    present = (attention_mask.bool() & ~still)[rows]  # (P, L) tokens written or kept in the row
    step = torch.where(present, -math.log(penalty), 0.0).to(logits.dtype)
    return logits.scatter_add_(-1, ids[rows], step)


def guided_logits(
    logits_fn: LogitsFn,
    ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    positions: torch.Tensor,
    label_position: int,
    null_label_id: int,
    scale: float,
) -> torch.Tensor:
    """Classifier-free guidance at `positions` (P, 2): one forward of the rows as they are and of the
    same rows with the label swapped for the null label; l_uncond + scale * (l_cond - l_uncond) (P, V)."""
    null_ids = ids.clone()
    null_ids[:, label_position] = null_label_id
    both = logits_fn(
        torch.cat([ids, null_ids]),
        torch.cat([attention_mask, attention_mask]),
        torch.cat([positions, positions + torch.tensor([ids.shape[0], 0], device=positions.device)]),
    )  # (2P, V)
    cond, uncond = both.split(positions.shape[0])
    return uncond + scale * (cond - uncond)


def iterative_decode(
    logits_fn: LogitsFn,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    masked: torch.Tensor,
    uniforms: torch.Tensor,
    banned: torch.Tensor,
    config: DecodeConfig,
    mask_id: int,
    label_position: int | None = None,
    null_label_id: int | None = None,
    prior_shift: torch.Tensor | None = None,
    content: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fill every masked position in `config.rounds` rounds (plus up to EXTRA_PASSES when a same-round
    twin is left masked in the last one, see drop_same_round_twins); return the new ids (B, L).

    input_ids (B, L) with the original tokens; masked (B, L) bool; uniforms (B, K, L) in [0, 1).
    Each round predicts all still-masked positions, samples each (never the token already written
    right beside it; tokens already elsewhere in the text made `config.repetition_penalty` times less
    likely per copy), and commits the ceil(remaining / rounds_left) most confident; the rest stay
    masked. Unmasked positions are never written.
    With guidance_scale != 1 the label at `label_position` is swapped for `null_label_id` in a second
    pass and logits = l_uncond + s * (l_cond - l_uncond); with guided_rounds r > 0, in the first r
    passes only. prior_shift (V,): `config.prior_correction` times it is subtracted from the logits.
    """
    if uniforms.shape[1] < config.rounds:
        raise ValueError("need one uniform per chain, round and position")
    guided = config.guided
    if guided and (label_position is None or null_label_id is None):
        raise ValueError("classifier-free guidance needs the label position and the null label id")
    banned_ids = banned.nonzero().flatten()  # (K,)
    correction = (
        config.prior_correction * prior_shift if prior_shift is not None and config.prior_correction else None
    )
    ids = torch.where(masked, torch.full_like(input_ids, mask_id), input_ids)  # (B, L)
    still = masked.clone()
    # Passes after the K rounds fill the positions left masked by drop_same_round_twins in the last
    # round (one pass almost always suffices); the last pass keeps twins so nothing stays masked. K = 1
    # stays one forward pass (one-shot decoding, chosen for speed), twins and all.
    passes = config.rounds + (EXTRA_PASSES if config.rounds > 1 else 0)
    for r in range(passes):
        if not bool(still.any()):
            break
        rounds_left = max(config.rounds - r, 1)
        draw = min(r, config.rounds - 1)  # extra passes reuse the last round's uniforms
        positions = still.nonzero()  # (P, 2)
        if config.guides_pass(r):
            assert label_position is not None and null_label_id is not None
            logits = guided_logits(
                logits_fn,
                ids,
                attention_mask,
                positions=positions,
                label_position=label_position,
                null_label_id=null_label_id,
                scale=config.guidance_scale,
            )
        else:
            logits = logits_fn(ids, attention_mask, positions)  # (P, V)
        if correction is not None:
            logits.sub_(correction)
        ban_neighbour_repeats(logits, ids, still, positions=positions)
        penalise_repeats(
            logits, ids, still, attention_mask, positions=positions, penalty=config.repetition_penalty
        )
        if content is not None and config.ban_content_repeats:
            ban_repeated_content_words(logits, ids, still, attention_mask, content, positions=positions)
        cand, weights = candidate_distribution(
            logits, banned_ids, temperature=config.temperature, top_k=config.top_k, top_p=config.top_p
        )
        token, confidence = sample_candidates(cand, weights, uniforms[positions[:, 0], draw, positions[:, 1]])
        conf_grid = torch.full(ids.shape, -math.inf, dtype=confidence.dtype, device=ids.device)
        conf_grid[positions[:, 0], positions[:, 1]] = confidence
        token_grid = torch.zeros_like(ids)
        token_grid[positions[:, 0], positions[:, 1]] = token
        commit = select_most_confident(conf_grid, commit_counts(still.sum(-1), rounds_left)) & still
        if r < passes - 1:
            commit = drop_same_round_twins(commit, token_grid)
            if content is not None and config.ban_content_repeats:
                commit = hold_same_round_repeats(commit, token_grid, conf_grid, content)
        ids = torch.where(commit, token_grid, ids)
        still &= ~commit
    return ids
