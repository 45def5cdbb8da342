"""Log records that say which request and which job they belong to, as plain text or JSON lines.

The service sets the request id (its `X-Request-ID` middleware) and the worker the job id (and the
request id that submitted the job, carried in the job's meta) in context variables; a filter copies
them onto every record. `LOG_FORMAT=json` writes one JSON object per line, for log collectors.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s"


@contextlib.contextmanager
def log_context(request_id: str | None = None, job_id: str | None = None) -> Iterator[None]:
    """Records logged inside carry these ids (None leaves the current value)."""
    tokens = []
    if request_id is not None:
        tokens.append((request_id_var, request_id_var.set(request_id)))
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id`, `job_id` and, for the plain format, `ids` (" [request=... job=...]")."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, job_id = request_id_var.get(), job_id_var.get()
        parts = [f"request={request_id}"] if request_id else []
        parts += [f"job={job_id}"] if job_id else []
        # LogRecord takes extra attributes by design (as `extra=` does)
        record.__dict__.update(
            request_id=request_id, job_id=job_id, ids=f" [{' '.join(parts)}]" if parts else ""
        )
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "plain") -> None:
    """One handler on the root logger, ids on every record; `fmt` is "plain" or "json"."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
