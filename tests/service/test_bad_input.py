"""Bad input, one table: every row is a request the API must refuse with a 4xx in the one error shape
and a message that says what to change; after each one the service still answers.

Valid but unusual text (right-to-left scripts, emoji, Chinese, zero-width characters inside words) is
not bad input: it is accepted and its job succeeds (`test_unusual_but_valid_text_is_served`). What
counts as a text is in `service/texts.py`. Auth beyond the bad-key rows (which routes need the key, the
Bearer form) is in test_limits_and_errors.py; the size cap on a body streamed in chunks too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.service.conftest import (
    assert_error,
    client_for,
    finished,
    items,
    make_settings,
    wait_ready,
    wait_status,
)

KEY = "reliability-test-key-0123456789"
LIMITS = {"max_items": 3, "max_text_chars": 60, "max_n": 3, "max_classify_texts": 2}  # body cap: default 1 MB
JSON = {"content-type": "application/json"}
UNKNOWN_JOB = "0123456789abcdef0123456789abcdef"
TEN_MB = 10 * 1024 * 1024


def augment(**change: Any) -> dict[str, Any]:
    return {"items": [{"text": "The concert last night was wonderful", "label": "joy"}], "n": 1, **change}


def raw(text: str) -> bytes:
    return text.encode()


@dataclass
class Bad:
    id: str
    path: str
    status: int
    type: str
    words: tuple[str, ...]
    method: str = "POST"
    json: Any = None
    content: bytes | None = None
    headers: dict[str, Any] = field(default_factory=dict)


def ten_mb_stream():  # no Content-Length: the cap counts the bytes as they arrive
    chunk = b"x" * (1024 * 1024)
    for _ in range(10):
        yield chunk


BAD = [
    # -- strict types: no coercion, no repeated keys (each was accepted before)
    Bad("n as a string", "/augment", 422, "invalid_request", ("n", "integer"), json=augment(n="2")),
    Bad("n as a fraction", "/augment", 422, "invalid_request", ("n", "integer"), json=augment(n=2.5)),
    Bad("n as a boolean", "/augment", 422, "invalid_request", ("n", "integer"), json=augment(n=True)),
    Bad("seed as a string", "/augment", 422, "invalid_request", ("seed",), json=augment(seed="7")),
    Bad(
        "temperature as a string",
        "/augment",
        422,
        "invalid_request",
        ("temperature",),
        json=augment(decoding={"temperature": "0.5"}),
    ),
    Bad(
        "label as a number",
        "/augment",
        422,
        "invalid_request",
        ("label",),
        json={"items": [{"text": "a", "label": 1}]},
    ),
    Bad("text as a number", "/classify", 422, "invalid_request", ("texts",), json={"texts": [12]}),
    Bad(
        "a repeated key",
        "/augment",
        422,
        "invalid_request",
        ("'n'", "twice"),
        content=b'{"items": [{"text": "a fine day", "label": "joy"}], "n": 1, "n": 3}',
        headers=JSON,
    ),
    Bad(
        "a repeated key in a classify body",
        "/classify",
        422,
        "invalid_request",
        ("'texts'", "twice"),
        content=b'{"texts": ["a"], "texts": ["b"]}',
        headers=JSON,
    ),
    # -- the body as a whole
    Bad("empty body", "/augment", 422, "invalid_request", ("no body",), content=b"", headers=JSON),
    Bad("body is an array", "/augment", 422, "invalid_request", ("JSON object",), json=[augment()]),
    Bad("body is null", "/classify", 422, "invalid_request", ("JSON object",), content=b"null", headers=JSON),
    Bad(
        "malformed JSON",
        "/augment",
        422,
        "invalid_request",
        ("not valid JSON",),
        content=b"{not json",
        headers=JSON,
    ),
    Bad(
        "not JSON (text/plain)",
        "/augment",
        415,
        "unsupported_media_type",
        ("Content-Type: application/json",),
        content=json.dumps(augment()).encode(),
        headers={"content-type": "text/plain"},
    ),
    Bad(
        "no Content-Type",
        "/classify",
        415,
        "unsupported_media_type",
        ("Content-Type",),
        content=b'{"texts": ["hi"]}',
    ),
    Bad(
        "invalid UTF-8",
        "/augment",
        422,
        "invalid_request",
        ("UTF-8", "0xff"),
        content=b'{"items": [{"text": "caf\xff\xfe", "label": "joy"}]}',
        headers=JSON,
    ),
    Bad(
        "invalid UTF-8 (classify)",
        "/classify",
        422,
        "invalid_request",
        ("UTF-8",),
        content=b'{"texts": ["\xc3\x28"]}',
        headers=JSON,
    ),
    Bad(
        "unpaired surrogate",
        "/augment",
        422,
        "invalid_request",
        ("surrogate",),
        content=raw('{"items": [{"text": "broken \\ud800 text", "label": "joy"}]}'),
        headers=JSON,
    ),
    Bad(
        "nested too deeply",
        "/augment",
        422,
        "invalid_request",
        ("nested",),
        content=b'{"items": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        headers=JSON,
    ),
    Bad("10 MB body", "/augment", 413, "too_large", ("MAX_BODY_BYTES",), content=b"x" * TEN_MB, headers=JSON),
    Bad(
        "10 MB body streamed",
        "/classify",
        413,
        "too_large",
        ("MAX_BODY_BYTES",),
        content=ten_mb_stream(),
        headers=JSON,
    ),  # type: ignore[arg-type]
    # -- NaN and infinity (Python's json reads them; JSON has no such numbers)
    Bad(
        "NaN",
        "/augment",
        422,
        "invalid_request",
        ("NaN", "finite"),
        content=raw('{"items": [{"text": "a fine day", "label": "joy"}], "decoding": {"temperature": NaN}}'),
        headers=JSON,
    ),
    Bad(
        "Infinity",
        "/augment",
        422,
        "invalid_request",
        ("Infinity",),
        content=raw('{"items": [{"text": "a fine day", "label": "joy"}], "n": Infinity}'),
        headers=JSON,
    ),
    Bad(
        "-Infinity",
        "/augment",
        422,
        "invalid_request",
        ("-Infinity",),
        content=raw(
            '{"items": [{"text": "a fine day", "label": "joy"}], "decoding": {"guidance_scale": -Infinity}}'
        ),
        headers=JSON,
    ),
    Bad(
        "number overflowing to inf",
        "/augment",
        422,
        "invalid_request",
        ("1e999", "finite"),
        content=raw('{"items": [{"text": "a fine day", "label": "joy"}], "decoding": {"top_p": 1e999}}'),
        headers=JSON,
    ),
    Bad(
        "NaN in classic params",
        "/augment",
        422,
        "invalid_request",
        ("NaN",),
        content=raw(
            '{"items": [{"text": "a fine day", "label": "joy"}], "method": "eda", "params": {"alpha": NaN}}'
        ),
        headers=JSON,
    ),
    # -- wrong types and fields
    Bad("items is a string", "/augment", 422, "invalid_request", ("items",), json={"items": "a fine day"}),
    Bad("n is a string", "/augment", 422, "invalid_request", ("n:",), json=augment(n="two")),
    Bad("n is fractional", "/augment", 422, "invalid_request", ("n:", "integer"), json=augment(n=1.5)),
    Bad(
        "text is a number",
        "/augment",
        422,
        "invalid_request",
        ("items.0.text",),
        json={"items": [{"text": 5, "label": "joy"}]},
    ),
    Bad("texts is a string", "/classify", 422, "invalid_request", ("texts",), json={"texts": "hi"}),
    Bad("unknown field", "/augment", 422, "invalid_request", ("surprise",), json=augment(surprise=1)),
    Bad("no items", "/augment", 422, "invalid_request", ("items",), json={"items": []}),
    Bad("no texts", "/classify", 422, "invalid_request", ("texts",), json={"texts": []}),
    # -- texts
    Bad(
        "empty text",
        "/augment",
        422,
        "invalid_request",
        ("items.0.text",),
        json={"items": [{"text": "", "label": "joy"}]},
    ),
    Bad(
        "whitespace-only text",
        "/augment",
        422,
        "invalid_request",
        ("no visible characters",),
        json={"items": [{"text": " \t\n ", "label": "joy"}]},
    ),
    Bad(
        "zero-width-only text",
        "/augment",
        422,
        "invalid_request",
        ("no visible characters", "zero-width"),
        json={"items": [{"text": "\u200b\u200c\ufeff", "label": "joy"}]},
    ),
    Bad(
        "control characters in text",
        "/augment",
        422,
        "invalid_request",
        ("control characters", "remove"),
        json={
            "items": [{"text": "fine", "label": "joy"}, {"text": "bell\x07 and \x1b[31mred", "label": "joy"}]
        },
    ),
    Bad(
        "NUL in a classify text",
        "/classify",
        422,
        "invalid_request",
        ("control characters",),
        json={"texts": ["nul\x00byte"]},
    ),
    Bad(
        "whitespace-only classify text",
        "/classify",
        422,
        "invalid_request",
        ("texts [1]", "no visible"),
        json={"texts": ["fine", "\u2003\u200b"]},
    ),
    Bad(
        "text over MAX_TEXT_CHARS",
        "/augment",
        422,
        "invalid_request",
        ("MAX_TEXT_CHARS", "[0]"),
        json={"items": [{"text": "word " * 13, "label": "joy"}]},
    ),
    Bad(
        "classify text over MAX_TEXT_CHARS",
        "/classify",
        422,
        "invalid_request",
        ("MAX_TEXT_CHARS",),
        json={"texts": ["y" * 61]},
    ),
    Bad(
        "too many items",
        "/augment",
        413,
        "too_large",
        ("MAX_ITEMS", "split"),
        json={"items": items(4), "n": 1},
    ),
    Bad(
        "too many classify texts",
        "/classify",
        413,
        "too_large",
        ("MAX_CLASSIFY_TEXTS",),
        json={"texts": ["a", "b", "c"]},
    ),
    # -- n, labels, methods and the other fields
    Bad("n = 0", "/augment", 422, "invalid_request", ("n:", "greater than or equal to 1"), json=augment(n=0)),
    Bad("n negative", "/augment", 422, "invalid_request", ("n:",), json=augment(n=-3)),
    Bad("n huge", "/augment", 422, "invalid_request", ("MAX_N",), json=augment(n=10**30)),
    Bad("n over MAX_N", "/augment", 422, "invalid_request", ("n=4", "MAX_N"), json=augment(n=4)),
    Bad(
        "unknown label",
        "/augment",
        422,
        "invalid_request",
        ("'surprise'", "anger", "joy", "sad"),
        json={"items": [{"text": "What a day", "label": "surprise"}], "n": 1},
    ),
    Bad(
        "control characters in a label",
        "/augment",
        422,
        "invalid_request",
        ("labels of items",),
        json={"items": [{"text": "What a day", "label": "j\x1boy"}], "method": "eda", "n": 1},
    ),
    Bad(
        "unknown method",
        "/augment",
        422,
        "invalid_request",
        ("gpt-magic", "diffusioncls"),
        json=augment(method="gpt-magic"),
    ),
    Bad(
        "step range out of bounds",
        "/augment",
        422,
        "invalid_request",
        ("1 <= low <= high <= 32",),
        json=augment(steps="40-50"),
    ),
    Bad("step range unreadable", "/augment", 422, "invalid_request", ("13-16",), json=augment(steps="soon")),
    Bad(
        "n with policy bd",
        "/augment",
        422,
        "invalid_request",
        ("policy 'ge'",),
        json=augment(policy="bd", n=2),
    ),
    Bad(
        "params for diffusioncls",
        "/augment",
        422,
        "invalid_request",
        ("no params",),
        json=augment(params={"alpha": 0.1}),
    ),
    Bad(
        "top_p = 0",
        "/augment",
        422,
        "invalid_request",
        ("decoding.top_p",),
        json=augment(decoding={"top_p": 0}),
    ),
    Bad(
        "rounds = 0",
        "/augment",
        422,
        "invalid_request",
        ("decoding.rounds",),
        json=augment(decoding={"rounds": 0}),
    ),
    Bad("negative seed", "/augment", 422, "invalid_request", ("seed",), json=augment(seed=-1)),
    Bad(
        "a server folder in params",
        "/augment",
        422,
        "invalid_request",
        ("auto or none", "server's settings"),
        json=augment(method="eda", params={"wordnet": "/usr/share/wordnet"}),
    ),
    # -- headers
    Bad(
        "Idempotency-Key with a space",
        "/augment",
        422,
        "invalid_request",
        ("Idempotency-Key", "visible ASCII"),
        json=augment(),
        headers={"Idempotency-Key": "order 42"},
    ),
    Bad(
        "Idempotency-Key too long",
        "/augment",
        422,
        "invalid_request",
        ("Idempotency-Key", "200"),
        json=augment(),
        headers={"Idempotency-Key": "k" * 201},
    ),
    Bad(
        "Idempotency-Key empty",
        "/augment",
        422,
        "invalid_request",
        ("Idempotency-Key",),
        json=augment(),
        headers={"Idempotency-Key": ""},
    ),
    Bad(
        "Idempotency-Key not ASCII",
        "/augment",
        422,
        "invalid_request",
        ("Idempotency-Key",),
        json=augment(),
        headers={"Idempotency-Key": "commande-n\xb042".encode("latin-1")},
    ),
    Bad(
        "bad API key",
        "/augment",
        401,
        "unauthorized",
        ("X-API-Key",),
        json=augment(),
        headers={"X-API-Key": KEY[:-1] + "X"},
    ),
    Bad(
        "no API key",
        "/classify",
        401,
        "unauthorized",
        ("missing or wrong",),
        json={"texts": ["hi"]},
        headers={"X-API-Key": ""},
    ),
    Bad(
        "bad Bearer key",
        "/info",
        401,
        "unauthorized",
        ("Authorization: Bearer",),
        method="GET",
        headers={"X-API-Key": "", "Authorization": "Bearer " + "x" * 30},
    ),
    # -- jobs and routes
    Bad(
        "unknown job id",
        f"/jobs/{UNKNOWN_JOB}",
        404,
        "not_found",
        ("unknown", "expired", "RESULT_TTL_S"),
        method="GET",
    ),
    Bad("malformed job id", "/jobs/not-a-job-id", 404, "not_found", ("not-a-job-id",), method="GET"),
    Bad(
        "cancel an unknown job", f"/jobs/{UNKNOWN_JOB}/cancel", 404, "not_found", ("unknown",), method="POST"
    ),
    Bad("unknown route", "/nowhere", 404, "not_found", ("/docs",), method="GET"),
    Bad("wrong method", "/augment", 405, "method_not_allowed", ("PUT", "/augment"), method="PUT", json={}),
]


@pytest.fixture(scope="module")
def api(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, api_key=KEY, **LIMITS)) as client:
        client.headers["X-API-Key"] = KEY
        wait_ready(client)
        yield client


@pytest.mark.parametrize("case", BAD, ids=[case.id for case in BAD])
def test_bad_input_is_refused_clearly(api, case: Bad):
    kwargs: dict[str, Any] = {"headers": case.headers}
    if case.json is not None:
        kwargs["json"] = case.json
    if case.content is not None:
        kwargs["content"] = case.content
    response = api.request(case.method, case.path, **kwargs)
    error = assert_error(response, case.status, case.type, *case.words)
    assert 20 <= len(error["message"]) <= 400 and "Traceback" not in error["message"]
    assert response.headers["content-type"].startswith("application/json")
    if case.status == 401:
        assert KEY not in response.text
    assert api.get("/healthz").status_code == 200  # still answering


def test_the_table_is_big_enough():
    assert len(BAD) >= 25 and len({case.id for case in BAD}) == len(BAD)


UNUSUAL = {
    "right-to-left and emoji": "مرحبا 😀 the show was great 🎉",
    "Hebrew with direction marks": "\u200fשלום\u200e what a lovely day",
    "Chinese": "今天的演唱会太精彩了，我非常开心",
    "zero-width inside words": "what a won\u200bderful day with fri\u200cends",
    "emoji ZWJ sequence": "family day 👨\u200d👩\u200d👧 was so happy",
    "accents and combining marks": "cafe\u0301 na\u00efve re\u0301sume\u0301 happy",
    "tabs and newlines": "line one\tis fine\nline two is great",
    "exactly MAX_TEXT_CHARS": "a" * 59 + "b",
}


@pytest.mark.parametrize("text", list(UNUSUAL.values()), ids=list(UNUSUAL))
def test_unusual_but_valid_text_is_served(api, text):
    """Valid Unicode is accepted unchanged (not a 4xx) and its job succeeds; shortfalls are allowed
    (the tiny model's vocabulary is English), copies and failures are not."""
    assert api.post("/classify", json={"texts": [text]}).status_code == 200
    response = api.post("/augment", json={"items": [{"text": text, "label": "joy"}], "n": 2, "seed": 1})
    assert response.status_code == 202, response.text
    view = wait_status(api, response.json()["id"], finished)
    assert view["status"] == "succeeded", view.get("error")
    result = view["result"]
    short = sum(s["requested"] - s["produced"] for s in result["shortfalls"])
    assert len(result["outputs"]) + short == 2
    assert all(out["text"] != text for out in result["outputs"])


def test_still_serving_after_the_table(api):
    """After every row above, a normal job runs to the end and /classify answers."""
    view = wait_status(api, api.post("/augment", json={"items": items(2), "n": 1}).json()["id"], finished)
    assert view["status"] == "succeeded", view.get("error")
    assert api.post("/classify", json={"texts": ["What a lovely day"]}).status_code == 200
    assert api.get("/readyz").status_code == 200
