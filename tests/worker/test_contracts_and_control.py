"""Worker pieces without a queue: the torch-free readers agree with training, the job guard, the job."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.checkpoint import read_settings
from training.steps import parse_steps
from worker.checkpoint_info import CheckpointInfoError, read_checkpoint_info
from worker.contracts import AugmentPayload, steps_json_schema
from worker.control import JobCanceled, JobGuard, JobTimedOut, NullContext, current_context, use_context


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_steps_schema_admits_exactly_what_the_parser_accepts(data):
    """Any value the OpenAPI schema of `steps` admits parses, for T that does and does not split into
    8 groups; a few values it refuses are refused by the parser too."""
    import re

    total = data.draw(st.sampled_from([32, 30, 8, 1]))
    schema = steps_json_schema(total)["anyOf"]
    text = data.draw(st.from_regex(schema[0]["pattern"]))
    parse_steps(text, total)
    array = data.draw(st.lists(st.integers(1, total), min_size=1, max_size=2))
    parse_steps(array, total)
    for bad in (str(total + 1), "0", f"1-{total + 1}", "group:9", "1-2-3"):
        assert not re.fullmatch(schema[0]["pattern"], bad)
        with pytest.raises(ValueError):
            parse_steps(bad, total)


def test_checkpoint_info_matches_training_reader(tiny_checkpoint):
    info = read_checkpoint_info(tiny_checkpoint)
    settings = read_settings(tiny_checkpoint)
    assert info.labels == settings.labels
    assert info.total_steps == settings.schedule.total_steps
    assert info.default_steps == settings.sampler.steps
    assert info.components == settings.components
    assert info.classifier_component == "classifier"  # the tiny checkpoint has a task classifier
    assert len(info.checkpoint_id) == 16
    assert read_checkpoint_info(tiny_checkpoint).checkpoint_id == info.checkpoint_id


def test_checkpoint_info_errors_say_what_to_do(tmp_path):
    with pytest.raises(CheckpointInfoError, match="python -m training fit"):
        read_checkpoint_info(tmp_path)
    (tmp_path / "diffusioncls.json").write_text('{"format": "diffusioncls-checkpoint", "format_version": 9}')
    with pytest.raises(CheckpointInfoError, match="version 9"):
        read_checkpoint_info(tmp_path)


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_guard_interrupts_on_cancel():
    flag = threading.Event()
    threading.Timer(0.2, flag.set).start()
    with pytest.raises(JobCanceled), JobGuard(flag.is_set, poll_s=0.02):
        _spin(30)


def test_guard_interrupts_past_the_deadline():
    with pytest.raises(JobTimedOut), JobGuard(lambda: False, timeout_s=0.2, poll_s=0.02):
        _spin(30)


def test_guard_fires_again_when_an_interrupt_is_swallowed():
    swallowed = []
    with pytest.raises(JobTimedOut), JobGuard(lambda: False, timeout_s=0.1, poll_s=0.02):
        try:
            _spin(30)
        except JobTimedOut:  # as if it had landed in a __del__: Python drops it
            swallowed.append(True)
        _spin(30)
    assert swallowed


def test_guard_never_fires_after_the_job_returned():
    flag = threading.Event()
    with JobGuard(flag.is_set, poll_s=0.01) as guard:
        _spin(0.05)
    flag.set()
    _spin(0.2)  # an interrupt delivered now would raise here
    assert guard.fired is None


def test_job_function_runs_without_a_queue(tiny_checkpoint):
    """`worker.jobs.augment` called directly (no queue, no service) with an installed runtime."""
    from worker import jobs, runtime
    from worker.runtime import ModelRuntime

    runtime.install(ModelRuntime.load(tiny_checkpoint, device="cpu"))
    payload = AugmentPayload(
        method="diffusioncls", texts=["The movie was great today!"], labels=["joy"], n=2, seed=1
    ).model_dump(mode="json")
    assert isinstance(current_context(), NullContext)
    result = jobs.augment(payload)
    assert result["method"] == "diffusioncls" and len(result["outputs"]) == 2

    class Recording(NullContext):
        def __init__(self):
            self.errors = []
            self.progress = []

        def record_error(self, error):
            self.errors.append(error)

        def report_progress(self, done, total):
            self.progress.append((done, total))

    context = Recording()
    with use_context(context):
        jobs.augment(payload)
        assert context.progress[-1] == (2, 2)
        with pytest.raises(ValueError):
            jobs.augment({**payload, "labels": ["surprise"]})
        assert context.errors[-1].type == "invalid_request"
        assert "anger" in context.errors[-1].message  # the known labels are listed
        with pytest.raises(jobs.ModelMismatch):
            jobs.augment({**payload, "checkpoint_id": "0" * 16})
        assert context.errors[-1].type == "model_mismatch"


def test_outputs_over_the_text_limit_are_dropped_and_shortfalls_name_the_label(tiny_checkpoint):
    """Every output can be sent back as input (MAX_TEXT_CHARS), and a per-input shortfall says its label."""
    from worker import jobs, runtime
    from worker.runtime import ModelRuntime

    runtime.install(ModelRuntime.load(tiny_checkpoint, device="cpu"))
    texts = ["The movie was great today!", "The movie was great today and it was lovely again!"]
    base = AugmentPayload(method="diffusioncls", texts=texts, labels=["joy", "sad"], n=2, seed=1)
    unlimited = jobs.augment(base.model_dump(mode="json"))
    lengths = sorted(len(o["text"]) for o in unlimited["outputs"])
    limit = lengths[1]  # some outputs fit, the longer ones do not
    limited = jobs.augment(base.model_copy(update={"max_output_chars": limit}).model_dump(mode="json"))
    assert limited["outputs"] and all(len(o["text"]) <= limit for o in limited["outputs"])
    dropped = len(unlimited["outputs"]) - len(limited["outputs"])
    assert dropped > 0
    assert sum(s["requested"] - s["produced"] for s in limited["shortfalls"]) == dropped
    for s in limited["shortfalls"]:
        assert s["label"] == ["joy", "sad"][s["source_index"]] and "character limit" in s["reason"]
    # A text with nothing to rewrite is a shortfall that still names its label.
    nothing = AugmentPayload(
        method="diffusioncls", texts=["\u2603 \u2603"], labels=["anger"], n=1
    ).model_dump(mode="json")
    shortfall = jobs.augment(nothing)["shortfalls"][0]
    assert shortfall["source_index"] == 0 and shortfall["label"] == "anger"


def test_int8_classifier_answers_like_the_float_one_and_only_on_the_cpu(tiny_checkpoint):
    from worker.runtime import ModelRuntime
    from worker.settings import WorkerSettings

    texts = ["The movie was great today!", "Our team was rude again!", "I feel so alone tonight."]
    plain = ModelRuntime.load(tiny_checkpoint, device="cpu", purpose="classify")
    int8 = ModelRuntime.load(tiny_checkpoint, device="cpu", purpose="classify", classify_quantize="int8")
    quantized = [m for m in int8.classifier.model.modules() if "quantized" in type(m).__module__]
    assert quantized and int8.classifier.precision == "fp32"  # int8 kernels take float32 activations
    for a, b in zip(plain.classify(texts), int8.classify(texts), strict=True):
        assert set(b.probabilities) == set(a.probabilities)
        assert sum(b.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        for name, p in a.probabilities.items():
            assert b.probabilities[name] == pytest.approx(p, abs=0.05)  # close, not equal
    with pytest.raises(ValueError, match="CLASSIFY_QUANTIZE|classify_quantize"):
        WorkerSettings(classify_quantize="int4")


def test_int8_quantisation_refuses_a_gpu_model():
    import torch

    from training.classifier import quantize_int8

    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    model.to("meta")  # any device but the CPU
    with pytest.raises(ValueError, match="CPU only"):
        quantize_int8(model)
