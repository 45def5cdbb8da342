"""The models of one process, loaded once: the diffusion augmenter and the sequence classifier.

A worker loads everything before its work loop; the service loads only the classifier for
/classify (or everything in embedded mode, where it runs jobs itself). The device is cuda when one
is available unless DEVICE says otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from training.augmenters.diffusion import DiffusionAugmenter
from training.checkpoint import Checkpoint, load_checkpoint
from training.classifier import ClassifierRunner, quantize_int8
from training.common import quiet_transformers, resolve_device
from worker.checkpoint_info import CheckpointInfo, read_checkpoint_info

log = logging.getLogger(__name__)

Purpose = Literal["augment", "classify"]


@dataclass
class Classification:
    label: str
    probabilities: dict[str, float]


@dataclass
class ModelRuntime:
    info: CheckpointInfo
    checkpoint: Checkpoint
    device: torch.device
    classifier: ClassifierRunner | None  # /classify and the label_prob of outputs
    classifier_name: str | None  # "classifier" or "proxy": which component answers /classify
    augmenter: DiffusionAugmenter | None = None
    load_seconds: float = 0.0
    _classify_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        device: str = "auto",
        purpose: Purpose = "augment",
        torch_threads: int | None = None,
        classify_quantize: str = "none",
    ) -> ModelRuntime:
        started = time.perf_counter()
        quiet_transformers()
        if torch_threads:
            torch.set_num_threads(torch_threads)
        info = read_checkpoint_info(folder)
        judge = info.classifier_component
        wanted = (judge,) if purpose == "classify" else ("generator", judge)
        dev = resolve_device(device)
        checkpoint = load_checkpoint(folder, dev, components=tuple(c for c in wanted if c))
        model = getattr(checkpoint, judge) if judge else None
        precision = "auto"
        if model is not None and classify_quantize == "int8":
            model, precision = quantize_int8(model), "fp32"  # int8 kernels take float32 activations
        classifier = (
            checkpoint.judge_runner(precision=precision, model=model)[0] if model is not None else None
        )
        # On the CPU the classifier's float32 forward runs from a TorchScript trace: less Python per
        # call and the GIL released (/classify's micro-batches; scoring classic methods' outputs).
        traced = classifier is not None and dev.type == "cpu" and classifier.trace()
        augmenter = DiffusionAugmenter.from_checkpoint(checkpoint) if purpose == "augment" else None
        runtime = cls(
            info=info,
            checkpoint=checkpoint,
            device=dev,
            classifier=classifier,
            classifier_name=judge,
            augmenter=augmenter,
            load_seconds=time.perf_counter() - started,
        )
        log.info(
            "loaded checkpoint %s (%s) on %s in %.1fs: %s%s",
            info.folder.name,
            info.checkpoint_id,
            dev,
            runtime.load_seconds,
            ", ".join(c for c in wanted if c),
            " (classifier forward traced)" if traced else "",
        )
        return runtime

    def classify(self, texts: list[str]) -> list[Classification]:
        """Label and class probabilities per text, in one batched forward pass (or a few)."""
        if self.classifier is None:
            raise RuntimeError("this checkpoint has no classifier or proxy to classify with")
        with self._classify_lock:  # one batch at a time: concurrent forwards would only fight for cores
            probs = self.classifier.predict_proba(texts)  # (N, C)
        names = self.classifier.label_names
        return [
            Classification(
                label=names[int(row.argmax())],
                probabilities={name: round(float(p), 6) for name, p in zip(names, row, strict=True)},
            )
            for row in probs
        ]


_runtime: ModelRuntime | None = None
_install_lock = threading.Lock()


def release_memory() -> None:
    """Hand a finished job's memory back: Python's garbage, CUDA's cached blocks, and glibc's free
    lists. Without the last, the peak of one big job stays in the worker's resident size for good:
    glibc keeps freed arenas for reuse instead of returning them to the system."""
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def install(runtime: ModelRuntime) -> None:
    """Make `runtime` the one job functions of this process use."""
    global _runtime
    with _install_lock:
        _runtime = runtime


def current() -> ModelRuntime:
    """The installed runtime; a process that skipped `worker.main` (a plain `rq worker`) loads it here."""
    global _runtime
    with _install_lock:
        if _runtime is None:
            from worker.settings import WorkerSettings

            settings = WorkerSettings()
            _runtime = ModelRuntime.load(
                settings.checkpoint_dir,
                device=settings.device,
                purpose="augment",
                torch_threads=settings.torch_threads,
                classify_quantize=settings.classify_quantize,
            )
        return _runtime
