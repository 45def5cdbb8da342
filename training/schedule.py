"""Label-aware noise schedule (ALGORITHM.md sections 1-2, paper eqs. 1-3), as pure functions.

importance w (from [CLS] attention) -> keep probabilities keep_i(t) -> nested masks from one uniform
draw per token. Shapes: B = batch, L = sequence length, T = total diffusion steps.
"""

from __future__ import annotations

import math

import torch


def importance_from_attention(cls_attention: torch.Tensor, content_mask: torch.Tensor) -> torch.Tensor:
    """Scale a [CLS]-query attention row to importance weights in [0, 1].

    cls_attention: (B, L) last-layer attention of the [CLS] query, already averaged over heads.
    content_mask: (B, L) True on content tokens (not [CLS]/[SEP]/padding/label tokens).
    Returns (B, L): a_i / max_j a_j over content tokens, 0 elsewhere. Dividing by the max (instead of
    using the raw softmax row, which sums to 1) makes lambda mean what the paper's Figure 2 shows.
    """
    scores = torch.where(content_mask, cls_attention, torch.zeros_like(cls_attention))  # (B, L)
    peak = scores.amax(dim=-1, keepdim=True)  # (B, 1)
    return torch.where(peak > 0, scores / peak.clamp_min(1e-12), torch.zeros_like(scores))


def keep_curve(importance: torch.Tensor, total_steps: int, lam: float) -> torch.Tensor:
    """Probability that each token is still unmasked at every step t = 0..T.

    importance: (..., L) weights in [0, 1]. Returns (..., T + 1, L) with
    keep_i(t) = clip(1 - t/T - lam * sin(pi t / T) * w_i, 0, 1), made non-increasing in t by a
    running minimum so that masks drawn from one uniform per token are nested.
    """
    if total_steps < 1:
        raise ValueError("total_steps must be >= 1")
    t = torch.arange(total_steps + 1, dtype=importance.dtype, device=importance.device)  # (T+1,)
    linear = 1.0 - t / total_steps  # (T+1,)
    bump = lam * torch.sin(math.pi * t / total_steps)  # (T+1,)
    bump[-1] = 0.0  # sin(pi) is not exactly 0 in floating point; at t = T every token is masked
    w = importance.unsqueeze(-2)  # (..., 1, L)
    raw = (linear[:, None] - bump[:, None] * w).clamp(0.0, 1.0)  # (..., T+1, L)
    return torch.cummin(raw, dim=-2).values


def keep_at(importance: torch.Tensor, steps: torch.Tensor, total_steps: int, *, lam: float) -> torch.Tensor:
    """keep_i(t) for one step per row. importance (B, L), steps (B,) ints in 0..T -> (B, L)."""
    curve = keep_curve(importance, total_steps, lam)  # (B, T+1, L)
    index = steps.long().view(-1, 1, 1).expand(-1, 1, curve.shape[-1])  # (B, 1, L)
    return curve.gather(1, index).squeeze(1)


def masks_from_uniform(uniform: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Token i is masked iff u_i >= keep_i. With one u per token for all t, the masks are nested.

    uniform: (..., L) draws in [0, 1); keep: (..., L) or (..., T+1, L) (broadcast over t).
    """
    if keep.dim() == uniform.dim() + 1:
        uniform = uniform.unsqueeze(-2)
    return uniform >= keep


def ensure_min_masked(
    mask: torch.Tensor, uniform: torch.Tensor, keep: torch.Tensor, *, maskable: torch.Tensor, minimum: int = 1
) -> torch.Tensor:
    """Mask at least `minimum` maskable tokens per row (fewer if a row has fewer maskable tokens).

    A row below the minimum gets the maskable tokens closest to being masked (largest u_i - keep_i),
    which are the next ones the forward process would mask. Used where an unmasked row is wasted
    work (a training example with no loss, a sample identical to its input).
    """
    mask = mask & maskable
    short = mask.sum(-1) < minimum  # (B,)
    if not bool(short.any()):
        return mask
    margin = torch.where(maskable, uniform - keep, torch.full_like(uniform, -math.inf))  # (B, L)
    k = min(minimum, mask.shape[-1])
    top = margin.topk(k, dim=-1).indices  # (B, k)
    forced = torch.zeros_like(mask).scatter_(-1, top, True) & maskable
    return torch.where(short[:, None], mask | forced, mask)


def unit_max(values: torch.Tensor, units: torch.Tensor, n_units: int) -> torch.Tensor:
    """Per mask unit (a word), the largest value of its tokens.

    values (B, L) >= 0, units (B, L) unit index of each token in 0..n_units-1 -> (B, n_units); units
    without tokens get 0. A word is as important as its most important piece.
    """
    out = torch.zeros((values.shape[0], n_units), dtype=values.dtype, device=values.device)
    return out.scatter_reduce(1, units, values, reduce="amax", include_self=True)
