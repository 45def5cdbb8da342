"""Secrets never reach the logs: a filter for uvicorn's access log that masks query parameters
which carry keys or tokens (`GET /info?api_key=...`), and any occurrence of the server's own key.

A client that puts the key in the query string is refused (the key goes in `X-API-Key`), but the
access line is written before anyone reads the request, so the URL must be cleaned where it is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote

MASK = "***"
# Parameter names that look like credentials: api_key, apikey, access_token, x-api-key, password, ...
SECRET_NAME = re.compile(r"key|token|secret|passw|auth|signature|session|credential", re.IGNORECASE)


def redact_url(path: str, extra_names: Iterable[str] = (), secrets: Iterable[str] = ()) -> str:
    """`path?query` with the values of credential-like parameters (and of `extra_names`) masked, and
    every literal occurrence of a value in `secrets` masked anywhere."""
    extra = {n.lower() for n in extra_names}
    base, sep, query = path.partition("?")
    if sep:
        parts = []
        for raw in query.split("&"):
            name, eq, _ = raw.partition("=")
            decoded = parse_qsl(raw, keep_blank_values=True)
            plain = decoded[0][0] if decoded else name
            if eq and (SECRET_NAME.search(plain) or plain.lower() in extra):
                parts.append(f"{name}={MASK}")
            else:
                parts.append(raw)
        path = base + "?" + "&".join(parts)
    for secret in secrets:
        if secret:
            path = path.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
    return path


class RedactingFilter(logging.Filter):
    """For uvicorn's access records, whose args are (client, method, path, http_version, status)."""

    def __init__(self, extra_names: Iterable[str] = (), secrets: Iterable[str] = ()):
        super().__init__()
        self.extra_names = tuple(extra_names)
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2], self.extra_names, self.secrets), *args[3:])
        elif isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact_url(record.msg, self.extra_names, self.secrets)
        return True


def install_access_log_redaction(
    extra_names: Iterable[str] = (), secrets: Iterable[str] = ()
) -> RedactingFilter:
    """Attach one redacting filter to uvicorn's access logger (replacing an earlier one)."""
    logger = logging.getLogger("uvicorn.access")
    for old in [f for f in logger.filters if isinstance(f, RedactingFilter)]:
        logger.removeFilter(old)
    redactor = RedactingFilter(extra_names, secrets)
    logger.addFilter(redactor)
    return redactor
