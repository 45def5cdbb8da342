import math

import torch

from training.schedule import (
    ensure_min_masked,
    importance_from_attention,
    keep_at,
    keep_curve,
    masks_from_uniform,
)


def test_keep_curve_hand_computed():
    # T = 4, lambda = 0.5; w = 0 gives 1 - t/T; w = 1 subtracts 0.5 * sin(pi t / 4) and clips at 0.
    curve = keep_curve(torch.tensor([0.0, 1.0]), total_steps=4, lam=0.5)
    s = math.sin(math.pi / 4)
    expected = torch.tensor([[1.0, 1.0], [0.75, 0.75 - 0.5 * s], [0.5, 0.0], [0.25, 0.0], [0.0, 0.0]])
    assert torch.allclose(curve, expected, atol=1e-6)


def test_keep_curve_is_non_increasing_and_bounded():
    w = torch.rand(64)
    for lam in (0.0, 0.5, 1.0, 3.0):
        curve = keep_curve(w, 32, lam)
        assert curve.shape == (33, 64)
        assert torch.all(curve[1:] <= curve[:-1] + 1e-7)
        assert torch.all((curve >= 0) & (curve <= 1))
        assert torch.all(curve[0] == 1) and torch.all(curve[-1] == 0)


def test_important_tokens_are_masked_earlier():
    curve = keep_curve(torch.tensor([0.0, 0.5, 1.0]), 32, 0.5)
    mid = curve[16]
    assert mid[0] > mid[1] > mid[2]


def test_keep_at_picks_the_row_of_each_step():
    w = torch.tensor([[0.2, 0.9], [1.0, 0.0]])
    steps = torch.tensor([5, 30])
    got = keep_at(w, steps, 32, lam=0.5)
    full = keep_curve(w, 32, 0.5)
    assert torch.allclose(got[0], full[0, 5]) and torch.allclose(got[1], full[1, 30])


def test_monte_carlo_marginals_match_the_formula():
    # The share of chains in which token i is masked at step t must be 1 - keep_i(t) for every t.
    torch.manual_seed(0)
    w = torch.tensor([0.0, 0.15, 0.3, 0.45, 0.8, 1.0])
    curve = keep_curve(w, 32, 0.5)  # (33, 6)
    uniform = torch.rand(40_000, 6)
    masks = masks_from_uniform(uniform, curve.unsqueeze(0))  # (N, 33, 6)
    freq = masks.float().mean(0)
    assert torch.allclose(freq, 1 - curve, atol=0.012)


def test_masks_are_nested_across_steps():
    torch.manual_seed(1)
    curve = keep_curve(torch.rand(5, 20), 32, 0.5)  # (5, 33, 20)
    masks = masks_from_uniform(torch.rand(5, 20), curve)  # (5, 33, 20)
    assert torch.all(masks[:, :-1] <= masks[:, 1:])  # masked at t implies masked at t + 1
    assert not masks[:, 0].any() and masks[:, -1].all()


def test_ensure_min_masked_takes_the_next_token_to_be_masked():
    mask = torch.tensor([[False, False, False], [True, False, False]])
    uniform = torch.tensor([[0.1, 0.9, 0.99], [0.9, 0.1, 0.1]])
    keep = torch.tensor([[0.5, 0.95, 0.4], [0.5, 0.5, 0.5]])
    maskable = torch.tensor([[True, True, False], [True, True, True]])
    out = ensure_min_masked(mask, uniform, keep, maskable=maskable)
    # Row 0: margins -0.4, -0.05, (not maskable) -> token 1. Row 1 already has one mask.
    assert out.tolist() == [[False, True, False], [True, False, False]]


def test_ensure_min_masked_never_masks_unmaskable_tokens():
    out = ensure_min_masked(
        torch.zeros(1, 2, dtype=torch.bool),
        torch.rand(1, 2),
        torch.ones(1, 2),
        maskable=torch.zeros(1, 2, dtype=torch.bool),
    )
    assert not out.any()


def test_importance_from_attention_scales_content_by_its_max():
    attention = torch.tensor([[0.5, 0.2, 0.1, 0.2], [0.9, 0.0, 0.0, 0.1]])
    content = torch.tensor([[False, True, True, False], [False, True, True, False]])
    w = importance_from_attention(attention, content)
    assert torch.allclose(w, torch.tensor([[0.0, 1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0]]))


def test_unit_max_takes_each_words_most_important_piece():
    from training.schedule import unit_max

    values = torch.tensor([[0.2, 0.9, 0.1, 0.4], [0.5, 0.0, 0.0, 0.0]])
    units = torch.tensor([[0, 0, 1, 2], [0, 1, 1, 0]])
    expected = torch.tensor([[0.9, 0.1, 0.4, 0.0], [0.5, 0.0, 0.0, 0.0]])
    assert torch.equal(unit_max(values, units, 4), expected)
