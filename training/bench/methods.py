"""The methods a quality run can compare: each one's pseudo samples, losses and budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training.classifier import TrainingOptions
from training.oversample import OVERSAMPLERS


@dataclass(frozen=True)
class MethodSpec:
    description: str
    pseudo: str | None = None  # None, "diffusion", or a classic augmenter's registry name
    noise_resistant: bool = False  # Lc on the originals (DiffusionCLS's noise-resistant training)
    # train with Lc, with cross-entropy alone and on the originals alone; keep the best on validation,
    # as fit does
    choose_classifier: bool = False
    label_prompt: bool = True
    policy: str = "ge"
    step_group: int | None = None  # None: the configured step range
    guidance: float | None = None  # None: the configured classifier-free guidance scale
    guided_rounds: int | None = None  # None: the configured ones
    repetition_penalty: float | None = None  # None: the configured one
    prior_correction: float | None = None  # None: the configured one
    # False: decode as before 2026-12-08, free to write a content word the text already holds
    ban_content_repeats: bool | None = None
    # None: the augmenter's default (DiffusionOptions.whole_words; mlm_substitution's whole_words)
    whole_words: bool | None = None
    # drop pseudo samples the judge finds off-label (beyond the paper); None: the filter `fit` would use
    # at the run's budget (BenchConfig.fit_min_label_prob: 0.5 under quick, 0 otherwise)
    min_label_prob: float | None = 0.0
    # With a filter: first replace the pseudo samples under it by fresh rewrites (the augmenter's top-up,
    # as POST /augment does under `min_label_prob`, on probabilities of the proxy calibrated on validation
    # as the API's are); False: drop them at once, as `fit` does
    top_up: bool = False
    # Without top_up: drop on the scale of the API's label_prob (the proxy calibrated on validation), as
    # `fit` drops them since 2026-12-07 (night); False: on the proxy's uncalibrated probabilities, as
    # `fit` did before and as the records of `diffusioncls-filter` and `-no-nrt-filter` were made
    calibrated_filter: bool = False
    # With top_up: keep the rewrites that never reach the filter (POST /augment returns them, flagged
    # `below_min_label_prob`); False drops them, as a user who drops the flagged outputs does
    keep_flagged: bool = False
    options: TrainingOptions = TrainingOptions()  # label confusion, mixup
    rebalance: str | None = None  # embedding-space oversampler applied to the head after training

    def decode_overrides(self) -> dict[str, Any]:  # floats, guided_rounds an int, the ban a bool
        """The DecodeConfig fields this method sets (those it leaves None keep the configured ones)."""
        fields = {
            "guidance_scale": self.guidance,
            "guided_rounds": self.guided_rounds,
            "repetition_penalty": self.repetition_penalty,
            "prior_correction": self.prior_correction,
            "ban_content_repeats": self.ban_content_repeats,
        }
        return {name: value for name, value in fields.items() if value is not None}

    def label_filter(self, fit_min_label_prob: float) -> float:
        """The label probability this method's pseudo samples must reach, given the one `fit` uses at
        the run's budget."""
        return fit_min_label_prob if self.min_label_prob is None else self.min_label_prob

    # Train for (1 + n) x the epochs: as many examples seen as a method with n pseudo samples per
    # original (whose batches hold the originals and their pseudo samples, at the same step count)
    equal_examples: bool = False


def _baselines() -> dict[str, MethodSpec]:
    """No augmentation, and the fair baselines: the same compute as an augmented run, and the
    standard answers to imbalance."""
    return {
        "none": MethodSpec("no augmentation: cross-entropy on the originals"),
        "none-equal-examples": MethodSpec(
            "no augmentation, (1 + n) x the epochs: as many examples seen as n pseudo samples per original",
            equal_examples=True,
        ),
        "class-weighted": MethodSpec(
            "no augmentation, cross-entropy weighted by inverse class frequency",
            options=TrainingOptions(class_weighted=True),
        ),
        "oversample": MethodSpec(
            "random oversampling: smaller classes topped up with copies of their own texts (B/D)",
            "resample",
            policy="bd",
        ),
    }


def _diffusion_variants() -> dict[str, MethodSpec]:
    """DiffusionCLS under both policies, the paper's ablations (Table 4), guidance, the label filter
    and the step-group sweep (Figure 6)."""
    methods = {
        "diffusioncls": MethodSpec(
            "DiffusionCLS, G/E: n reflective pseudo samples per original, Lc + Le", "diffusion", True
        ),
        "diffusioncls-chosen": MethodSpec(
            "DiffusionCLS G/E as fit trains it: with Lc, cross-entropy alone, or on the originals alone "
            "(no pseudo samples), whichever scores highest on validation; pseudo samples filtered as fit "
            "filters them at the run's budget (0.5 under quick, on the calibrated proxy's probabilities)",
            "diffusion",
            True,
            choose_classifier=True,
            min_label_prob=None,
            calibrated_filter=True,
        ),
        "diffusioncls-bd": MethodSpec(
            "DiffusionCLS, B/D: balance the classes with pseudo samples", "diffusion", True, policy="bd"
        ),
        "diffusioncls-bd-cfg1": MethodSpec(
            "DiffusionCLS, B/D, without classifier-free guidance (scale 1, the default before 2026-12-05)",
            "diffusion",
            True,
            policy="bd",
            guidance=1.0,
        ),
        "diffusioncls-no-da": MethodSpec(
            "ablation w/o D.A.: noise-resistant training, no pseudo samples", None, True
        ),
        "diffusioncls-no-lap": MethodSpec(
            "ablation w/o L.A.P.: generator trained and sampled without labels",
            "diffusion",
            True,
            label_prompt=False,
        ),
        "diffusioncls-no-nrt": MethodSpec(
            "ablation w/o N.R.T.: pseudo samples, cross-entropy only", "diffusion", False
        ),
        "diffusioncls-cfg1": MethodSpec(
            "DiffusionCLS G/E without classifier-free guidance (scale 1, the default before 2026-12-05)",
            "diffusion",
            True,
            guidance=1.0,
        ),
        "diffusioncls-cfg2": MethodSpec(
            "DiffusionCLS G/E with classifier-free guidance, scale 2", "diffusion", True, guidance=2.0
        ),
        "diffusioncls-cfg3": MethodSpec(
            "DiffusionCLS G/E with classifier-free guidance, scale 3", "diffusion", True, guidance=3.0
        ),
        "diffusioncls-cfg5-first2": MethodSpec(
            "DiffusionCLS G/E with classifier-free guidance 5 in the first 2 decoding rounds only",
            "diffusion",
            True,
            guidance=5.0,
            guided_rounds=2,
        ),
        "diffusioncls-norep": MethodSpec(
            "DiffusionCLS G/E decoded without the repetition penalty, whatever the configured one",
            "diffusion",
            True,
            repetition_penalty=1.0,
        ),
        "diffusioncls-noprior": MethodSpec(
            "DiffusionCLS G/E decoded without the prior correction, whatever the configured one",
            "diffusion",
            True,
            prior_correction=0.0,
        ),
        "diffusioncls-rep2": MethodSpec(
            "DiffusionCLS G/E decoded with repetition penalty 2", "diffusion", True, repetition_penalty=2.0
        ),
        "diffusioncls-content-repeats": MethodSpec(
            "DiffusionCLS G/E free to write a content word the text already holds (decoding before 2026-12-08)",
            "diffusion",
            True,
            ban_content_repeats=False,
        ),
        "diffusioncls-pieces": MethodSpec(
            "DiffusionCLS G/E with rewritten words free to end in word pieces (as before the whole-word rule)",
            "diffusion",
            True,
            whole_words=False,
        ),
        "diffusioncls-filter": MethodSpec(
            "DiffusionCLS G/E keeping pseudo samples the judge gives the intended label >= 0.5",
            "diffusion",
            True,
            min_label_prob=0.5,
        ),
        "diffusioncls-no-nrt-filter": MethodSpec(
            "DiffusionCLS G/E pseudo samples the judge gives the intended label >= 0.5, cross-entropy only "
            "(with diffusioncls-filter and none: the three candidates fit's quick budget chooses from)",
            "diffusion",
            False,
            min_label_prob=0.5,
        ),
        "diffusioncls-filter-calibrated": MethodSpec(
            "diffusioncls-filter on the proxy's probabilities calibrated on validation (the scale of the "
            "API's label_prob, and of fit's filter since 2026-12-07; from three labels on, a stricter bar)",
            "diffusion",
            True,
            min_label_prob=0.5,
            calibrated_filter=True,
        ),
        "diffusioncls-no-nrt-filter-calibrated": MethodSpec(
            "diffusioncls-no-nrt-filter on the proxy's probabilities calibrated on validation",
            "diffusion",
            False,
            min_label_prob=0.5,
            calibrated_filter=True,
        ),
        "diffusioncls-no-nrt-topup": MethodSpec(
            "DiffusionCLS G/E, cross-entropy only, on the outputs POST /augment returns with min_label_prob "
            "0.5: those under it replaced by fresh rewrites, the ones that never reach it kept (scored by the "
            "proxy calibrated on validation, as the API's label_prob is)",
            "diffusion",
            False,
            min_label_prob=0.5,
            top_up=True,
            keep_flagged=True,
        ),
        "diffusioncls-no-nrt-topup-drop": MethodSpec(
            "diffusioncls-no-nrt-topup without the outputs flagged below_min_label_prob (those that never "
            "reached 0.5), as a user who drops them trains",
            "diffusion",
            False,
            min_label_prob=0.5,
            top_up=True,
        ),
    }
    for g in range(1, 9):
        methods[f"diffusioncls-g{g}"] = MethodSpec(
            f"DiffusionCLS G/E from step group {g} of 8", "diffusion", True, step_group=g
        )
    return methods


def _classic() -> dict[str, MethodSpec]:
    """The classic augmenters, label confusion (and LCDA), mixup and embedding-space oversampling."""
    methods = {
        name: MethodSpec(f"{name}, G/E: n samples per original, cross-entropy", name)
        for name in ("eda", "aeda", "resample", "mlm_substitution")
    }
    # the fair control for DiffusionCLS's text: EDA's samples under the same loss (Lc on the originals)
    methods["eda-nrt"] = MethodSpec(
        "EDA, G/E, with DiffusionCLS's noise-resistant training (Lc on the originals)", "eda", True
    )
    methods["mlm_substitution-pieces"] = MethodSpec(
        "mlm_substitution replacing word pieces one by one (as before the whole-word rule)",
        "mlm_substitution",
        whole_words=False,
    )
    confusion = TrainingOptions(label_confusion_alpha=4.0)
    methods["label_confusion"] = MethodSpec(
        "label confusion learning (alpha 4) on the originals", options=confusion
    )
    methods["lcda"] = MethodSpec(
        "LCDA (Sun et al. 2025): AEDA samples + label confusion learning", "aeda", options=confusion
    )
    methods["mixup"] = MethodSpec(
        "mixup of pooled features (Beta(0.4, 0.4))", options=TrainingOptions(mixup_alpha=0.4)
    )
    for name in OVERSAMPLERS:
        methods[f"embed_{name}"] = MethodSpec(
            f"embedding-space {name} (Choudhary et al.): head retrained on balanced features", rebalance=name
        )
    return methods


METHODS = {**_baselines(), **_diffusion_variants(), **_classic()}


def follows_fits_filter(methods) -> list[str]:
    """The methods among `methods` whose pseudo samples are filtered as `fit` filters them at the run's
    budget (so `BenchConfig.fit_min_label_prob` matters to their results); unknown names are skipped."""
    return [m for m in methods if m in METHODS and METHODS[m].min_label_prob is None]
