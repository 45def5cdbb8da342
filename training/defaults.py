"""The method's default numbers, in one place for training, the worker and the API.

Imports nothing, so the torch-free parts of the worker (and through them the API) can read it.
"""

TOTAL_STEPS = 32  # T: steps of the noise schedule (the paper's)
STEP_GROUPS = 8  # the paper splits 1..T into 8 equal groups of corruption steps
DEFAULT_STEPS = (13, 16)  # corruption steps sampled from: the paper's best group (4th of 8) for T = 32
PSEUDO_PER_ORIGINAL = 4  # n: new texts per original under the G/E policy
