"""The step-range grammar, once, for every door: the CLI's `--steps`, the registry's `steps` parameter,
the API's `steps` (checked by the service before a job is queued) and the bench's step groups.

Standard library only (no torch, nothing of this project but training.defaults), so the torch-free
service can read it.
"""

from __future__ import annotations

import re

from training.defaults import STEP_GROUPS, TOTAL_STEPS

STEP_RANGE = re.compile(r"(\d+)(?:\s*[-:]\s*(\d+))?")  # 13-16, 13:16 or 14
STEP_GROUP = re.compile(r"group:(\d+)")  # group:4
FORMS = "use e.g. '13-16', '14', 'group:4' or [13, 16]"


def step_group(group: int, total_steps: int = TOTAL_STEPS, n_groups: int = STEP_GROUPS) -> tuple[int, int]:
    """Inclusive step range of a group: the paper splits 1..32 into 8 groups of 4 (group 4 = 13..16)."""
    if total_steps % n_groups:
        raise ValueError(f"{total_steps} steps do not split into {n_groups} equal groups")
    if not 1 <= group <= n_groups:
        raise ValueError(f"step group must be in 1..{n_groups}")
    size = total_steps // n_groups
    return (group - 1) * size + 1, group * size


def parse_steps(
    spec: str | list[int] | tuple[int, ...], total_steps: int, n_groups: int = STEP_GROUPS
) -> tuple[int, int]:
    """`"13-16"`, `"14"`, `"group:4"` or `[13, 16]` -> inclusive (low, high) within 1..total_steps.

    A range's two ends may come in either order (`"16-13"` is 13-16): it names the same steps, and so
    every value the API's JSON Schema admits is accepted (JSON Schema cannot say low <= high).
    """
    if isinstance(spec, list | tuple):
        if len(spec) not in (1, 2) or not all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
            raise ValueError(f"bad step range {spec!r}; {FORMS}")
        low, high = sorted((spec[0], spec[-1]))
    else:
        text = spec.strip()
        group = STEP_GROUP.fullmatch(text)
        if group:
            return step_group(int(group.group(1)), total_steps, n_groups)
        match = STEP_RANGE.fullmatch(text)
        if not match:
            raise ValueError(f"bad step range {spec!r}; {FORMS}")
        low, high = sorted((int(match.group(1)), int(match.group(2) or match.group(1))))
    if not 1 <= low <= high <= total_steps:
        raise ValueError(f"step range {low}-{high} must satisfy 1 <= low <= high <= {total_steps}")
    return low, high
