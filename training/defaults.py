"""The method's default numbers, in one place for training, the worker and the API.

Imports nothing, so the torch-free parts of the worker (and through them the API) can read it.
"""

TOTAL_STEPS = 32  # T: steps of the noise schedule (the paper's)
STEP_GROUPS = 8  # the paper splits 1..T into 8 equal groups of corruption steps
DEFAULT_STEPS = (13, 16)  # corruption steps sampled from: the paper's best group (4th of 8) for T = 32
PSEUDO_PER_ORIGINAL = 4  # n: new texts per original under the G/E policy

# Default decoding, from the decoding study (docs/FLUENCY.md): more rounds and a cooler, nucleus-cut
# distribution write far more fluent text than the paper's K = 4 at temperature 1, for twice the
# forward passes of K = 4. `fit` stores these in the checkpoint, whose values are the defaults after.
DEFAULT_ROUNDS = 8
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_K = 0
DEFAULT_TOP_P = 0.9
# Classifier-free guidance 3 (one extra forward pass of every batch with the null label, so about 1.8x
# the decoding time): a classifier trained on the pseudo samples beat the same run at guidance 1 (SST-2
# 10-shot +4.42 [+0.55, +9.20] and +7.21 [+2.06, +11.54], 5 seeds each; India-COVID-X 10% +2.23 [+1.16,
# +3.28], 5 seeds; SST-2 5-shot +1.37 [-1.06, +4.14], 10 seeds; emotion_dair 10-shot +7.72 [+6.43,
# +9.15] and AG News 10-shot +1.04 [-1.04, +2.87], 5 seeds each, 2026-12-06), and a held-out judge found the
# intended label in 76.7% of India rewrites instead of 56.7% (its ceiling on the originals: 77.5%).
# Blind readers split: they preferred guided rewrites of the sample's sentences (51 to 31) and unguided
# ones of tweets (59 to 37). Guidance 1 turns it off (docs/FLUENCY.md, docs/RESULTS.md, 2026-12-05).
DEFAULT_GUIDANCE_SCALE = 3.0
# Guide only the first r decoding rounds (0 = every round): the null-label rows then run in r of the
# K passes, not all of them. On India-COVID-X (400 rewrites, held-out judge, 2026-12-06) guidance 5 on
# the first 2 of 8 rounds kept the label as often as guidance 3 on all 8 (79.0% and 80.0%) at 1.38x
# the samples/s; for a classifier (SST-2 10-shot, 10 seeds) -0.59 [-2.49, +1.41] against the default
# (and +4.79 [+0.73, +9.13] against none): not shown to differ, so the default stays every round
# (docs/FLUENCY.md).
DEFAULT_GUIDED_ROUNDS = 0
EVERY_ROUND_GUIDED = 0  # what checkpoints fitted before the knob existed decode with
# Off by default. With 2 (a token already in the text twice less likely per copy) blind readers preferred
# the rewrites in 107 of 183 differing pairs (sign test p = 0.026) but accepted as fluent no larger share
# (13 of 50 against 12), and the SST-2 10-shot classifier trained on them leaned worse (macro-F1 -2.35
# [-5.80, +0.82], 5 seeds, unguided; guided, -0.36 [-2.64, +1.55], 10 seeds, 2026-12-08): offered for
# texts people read, not turned on for training data (docs/FLUENCY.md, docs/RESULTS.md). Whatever it
# is, decoding never writes a content word the text already holds (DecodeConfig.ban_content_repeats).
DEFAULT_REPETITION_PENALTY = 1.0
NO_REPETITION_PENALTY = 1.0  # what checkpoints fitted before the knob existed decode with
# Off by default. Subtracting this share of the fine-tuning's rise in each token's context-free
# log-probability (training.generator.prior_shift) takes the generator off the few nouns of its
# fine-tuning texts that rewrites of every label lean on: at 0.5 the sample's rewrites held one of
# their label's five most inserted words 44% of the time instead of 52%, distinct-2 rose from 58.8 to
# 62.7, the n-gram measure found 99% fluent instead of 95% (India-COVID-X: 17.5% instead of 12.2%,
# labels kept as often). But blind readers did not prefer the rewrites (38 to 35 on the sample, 43 to
# 49 on India) and a classifier trained on them did no better (SST-2 10-shot, 10 seeds: -1.34 [-3.76,
# +0.88] against c = 0; docs/FLUENCY.md, 2026-12-07): offered for texts people read, not turned on.
DEFAULT_PRIOR_CORRECTION = 0.0
NO_PRIOR_CORRECTION = 0.0  # what checkpoints fitted before the knob existed decode with


class Knob:
    """One decoding knob: the number's kind (int or float), its lowest and highest accepted value
    (the lowest itself excluded when open_low), its built-in default and what it does."""

    def __init__(
        self, kind: type, low: float, high: float, *, default: float, help: str, open_low: bool = False
    ) -> None:
        self.kind, self.low, self.high, self.default, self.help = kind, low, high, default, help
        self.open_low = open_low

    def describe(self) -> str:
        """The accepted values in words: 'an integer in 1..64', 'a number in (0, 1]'."""
        if self.kind is int:
            return f"an integer in {self.low:g}..{self.high:g}"
        return f"a number in {'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"


# The decoding knobs of the diffusion sampler with their limits: the one definition that the CLI flags,
# the API's `decoding` object (through worker.contracts), the worker's job contract, the registry's
# diffusioncls parameters and training.sampler.DecodeConfig all check against, so a value is accepted
# or refused the same way whichever door it comes through (tests/test_decoding_knobs.py).
DECODING_KNOBS = {
    "rounds": Knob(int, 1, 64, default=DEFAULT_ROUNDS, help="decoding rounds K (1 = one-shot)"),
    "temperature": Knob(
        float, 0.0, 100.0, default=DEFAULT_TEMPERATURE, help="sampling temperature (0 = greedy)"
    ),
    "top_k": Knob(int, 0, 100_000, default=DEFAULT_TOP_K, help="keep the k best tokens (0 = off)"),
    "top_p": Knob(
        float, 0.0, 1.0, default=DEFAULT_TOP_P, help="nucleus sampling mass (1 = off)", open_low=True
    ),
    "guidance_scale": Knob(
        float, -100.0, 100.0, default=DEFAULT_GUIDANCE_SCALE, help="classifier-free guidance scale (1 = off)"
    ),
    "guided_rounds": Knob(
        int,
        0,
        64,
        default=DEFAULT_GUIDED_ROUNDS,
        help="decoding rounds run with guidance, from the first (0 = every round)",
    ),
    "repetition_penalty": Knob(
        float,
        1.0,
        100.0,
        default=DEFAULT_REPETITION_PENALTY,
        help="a token already in the text has its probability divided by this per copy, before "
        "temperature (1 = off)",
    ),
    "prior_correction": Knob(
        float,
        0.0,
        10.0,
        default=DEFAULT_PRIOR_CORRECTION,
        help="take back this share of the fine-tuning's rise in each word's context-free "
        "log-probability, against stock words (0 = off)",
    ),
}


def check_knob(name: str, value: object) -> int | float:
    """`value` if it is an accepted value of decoding knob `name`, else ValueError saying what is.

    An integer knob takes an int (a bool is not one); a real knob an int or a float, returned as a
    float. The range leaves out infinities, and NaN, which compares false with everything."""
    knob = DECODING_KNOBS[name]
    whole = isinstance(value, int) and not isinstance(value, bool)
    if knob.kind is int and whole:
        number: int | float = value  # type: ignore[assignment]  # an int, checked just above
    elif knob.kind is float and (whole or isinstance(value, float)):
        number = float(value)  # type: ignore[arg-type]  # an int or a float, checked just above
    else:
        raise ValueError(f"{name} must be {knob.describe()}, got {value!r}")
    above_low = number > knob.low if knob.open_low else number >= knob.low
    if not (above_low and number <= knob.high):
        raise ValueError(f"{name} must be {knob.describe()}, got {value!r}")
    return number
