"""What the load run and the classify run share: the repository root, the sample texts, a free port,
latency percentiles and a tiny thread-safe JSON client of the API."""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

SAMPLE_TEXTS = [
    "The concert last night was the best show I have ever seen.",
    "I can't believe they cancelled my flight again without any notice.",
    "My grandmother passed away and the house feels empty now.",
    "Walking home alone in the dark, every sound made me jump.",
    "We finally got the keys to our first apartment today!",
    "The customer service agent hung up on me twice.",
    "I miss the long summer evenings with my old friends.",
    "The doctor said the results were unclear and I should wait.",
]
CLASSIFY_TEXTS = [
    "What a lovely surprise, thank you so much!",
    "This is the third time the package arrived broken.",
    "Nobody came to my birthday party this year.",
    "I heard footsteps behind me in the empty parking lot.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p90": None, "p95": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)

    return {
        "count": len(values),
        "p50": pick(0.50),
        "p90": pick(0.90),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(values), 4),
    }


class Api:
    """A tiny thread-safe JSON client: one HTTP connection per thread."""

    def __init__(self, port: int, api_key: str | None):
        self.port = port
        self.headers = {"content-type": "application/json"}
        if api_key:
            self.headers["x-api-key"] = api_key
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        return conn

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=self.headers)
                response = conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
            except (http.client.HTTPException, OSError) as err:
                conn.close()
                self._local.conn = None
                stale = isinstance(
                    err, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                )
                if attempt == 2 or not stale:
                    raise
        raise AssertionError("unreachable")
