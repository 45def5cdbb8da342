"""uvicorn's HTTP/1.1 protocols (httptools, or h11) with a deadline for reading a request.

uvicorn has no timeout on receiving a request: its keep-alive timer is reset by every byte that
arrives, so a client that trickles a request one byte at a time (slowloris) holds a connection, and
a task in the app for a body, as long as it likes (uvicorn issue #157). Here a connection gets
`timeout_s` from the moment it opens, or from the first byte of its next request, to deliver the
whole request, headers and body. A client that misses the deadline gets `408 Request Timeout` when
its headers never came (no response has started), and the connection is closed either way; the
deadline is off while the app works on a request and while the connection is idle between requests
(uvicorn's keep-alive timer closes those).

httptools (C, llhttp) is the default parser: it costs about 0.25 ms less CPU per request than h11
(pure Python), measured on /healthz (docs/SPEED.md). h11 stays selectable (`HTTP_PARSER=h11`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HttpParser = Literal["httptools", "h11"]


def _timeout_response() -> bytes:
    """A whole 408 with the project's error body (written to the socket: no app ever saw the request)."""
    body = json.dumps(
        {
            "error": {
                "type": "request_timeout",
                "message": "the request was not sent within the server's time limit; send it whole",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


_TIMEOUT_RESPONSE = _timeout_response()


class _RequestDeadline:
    """The timer both protocols share, armed when a connection opens and dropped when it closes; each
    protocol arms and disarms it around a request and says where its parser stands
    (`_headers_missing`, `_response_started`). Listed first in the bases, so that its
    `connection_made` and `connection_lost` wrap uvicorn's."""

    request_timeout_s: float
    _deadline: asyncio.TimerHandle | None = None
    # provided by uvicorn's protocol classes
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: tuple[str, int] | None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]  # uvicorn's protocol, next in the MRO
        self._arm()  # a connection that never sends a request is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_missing(self) -> bool:
        raise NotImplementedError

    def _response_started(self) -> bool:
        raise NotImplementedError

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        headers_missing = self._headers_missing()
        log.warning(
            "closing a connection from %s: request %s not received within %g s",
            f"{self.client[0]}:{self.client[1]}" if self.client else "?",
            "headers" if headers_missing else "body",
            self.request_timeout_s,
        )
        if headers_missing and not self._response_started():
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def _h11_protocol(timeout_s: float) -> type[Any]:
    class DeadlineH11Protocol(_RequestDeadline, H11Protocol):
        request_timeout_s = timeout_s

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
                self._disarm()  # the whole request is in (or the connection is ending)

        def _headers_missing(self) -> bool:
            return self.conn.their_state is h11.IDLE

        def _response_started(self) -> bool:
            return self.conn.our_state is not h11.IDLE

    return DeadlineH11Protocol


def _httptools_protocol(timeout_s: float) -> type[Any]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineHttpToolsProtocol(_RequestDeadline, HttpToolsProtocol):
        """llhttp reports a request's first byte (`on_message_begin`), its headers and its end
        through callbacks; between the first and the last, the request is being received."""

        request_timeout_s = timeout_s
        _receiving = False
        _headers_in = False

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and not self._receiving:
                self._arm()  # the first bytes of the next request on a kept-alive connection
            super().data_received(data)
            if not self._receiving:
                self._disarm()  # the whole request is in (or nothing of a new one came)

        def on_message_begin(self) -> None:
            self._receiving, self._headers_in = True, False
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._headers_in = True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._receiving = False
            super().on_message_complete()

        def _headers_missing(self) -> bool:
            return not self._headers_in

        def _response_started(self) -> bool:
            # the app sees a request only once its headers are in, so a request still missing them
            # has no response; the cycle here is the previous request's
            return self.cycle is not None and not self.cycle.response_complete

    return DeadlineHttpToolsProtocol


def with_request_deadline(timeout_s: float, parser: HttpParser = "httptools") -> type[Any]:
    """The protocol class to hand to `uvicorn.run(http=...)`."""
    return _httptools_protocol(timeout_s) if parser == "httptools" else _h11_protocol(timeout_s)
