"""The models the API process holds, loaded once in a background thread through `worker.runtime`.

Embedded mode loads everything (the API runs the jobs); with a Redis queue only the classifier is
loaded, for /classify, and nothing at all when CLASSIFY_ENABLED is false (the API then never imports
torch). /readyz answers 503 until the load is done.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from service.settings import Settings
from worker.checkpoint_info import CheckpointInfo

log = logging.getLogger(__name__)

State = Literal["disabled", "pending", "loading", "ready", "failed"]


class ModelHolder:
    def __init__(self, settings: Settings, info: CheckpointInfo):
        self.settings = settings
        self.info = info
        self.purpose: Literal["augment", "classify"] | None
        if settings.embedded:
            self.purpose = "augment"
        elif settings.classify_enabled:
            self.purpose = "classify"
        else:
            self.purpose = None
        self.state: State = "pending" if self.purpose else "disabled"
        self.error: str | None = None
        self.runtime: Any = None  # worker.runtime.ModelRuntime once loaded
        self._thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.state in ("ready", "disabled")

    @property
    def classifier_name(self) -> str | None:
        return self.info.classifier_component

    def start(self) -> None:
        """Load in a background thread, so /healthz answers while the weights are read."""
        if self.state != "pending":
            return
        self.state = "loading"
        self._thread = threading.Thread(target=self.load_now, name="model-loader", daemon=True)
        self._thread.start()

    def load_now(self) -> None:
        if self.purpose is None or self.state == "ready":
            return
        self.state = "loading"
        try:
            from worker import runtime

            loaded = runtime.ModelRuntime.load(
                self.settings.checkpoint_dir,
                device=self.settings.device,
                purpose=self.purpose,
                torch_threads=self.settings.torch_threads,
                classify_quantize=self.settings.classify_quantize,
            )
            if self.purpose == "augment":
                runtime.install(loaded)  # the embedded job function finds it there
            self.runtime = loaded
            self.state = "ready"
        except Exception as err:  # reported by /readyz; the process stays up to say why
            log.exception("loading the checkpoint failed")
            self.error = f"{type(err).__name__}: {err}"
            self.state = "failed"

    def classify(self, texts: list[str]) -> list[Any]:
        if self.runtime is None:
            raise RuntimeError("the classifier is not loaded")
        return self.runtime.classify(texts)
