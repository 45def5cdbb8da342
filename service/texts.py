"""What the API accepts as a text (the items and labels of /augment, the texts of /classify).

Any Unicode text is accepted as it is, in any script (Chinese, Arabic and Hebrew, emoji), with
zero-width and other format characters (category Cf) left in place: ZWJ joins emoji sequences, ZWNJ
and the direction marks carry meaning in Persian, Indic and right-to-left text, and the tokenizer drops
those it does not know. Refused, with the indices of the texts concerned:

- a text with nothing visible: empty once whitespace, control and format characters are left out
  (`"   "`, `"\\u200b"`), since there is nothing to rewrite or classify;
- a text with control characters (Unicode category Cc: U+0000-U+001F and U+007F-U+009F) other than
  tab, newline and carriage return: no natural text has them, and they would come back in the outputs
  (NUL bytes, terminal escape sequences). The client is told to remove them rather than having them
  stripped silently, so an output always derives from exactly the text that was sent;
- a text over MAX_TEXT_CHARS characters (code points).
"""

from __future__ import annotations

import functools
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

from service.errors import ApiError

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _visible(ch: str) -> bool:
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def _refused_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS


def _has_control(text: str) -> bool:
    return any(_refused_control(ch) for ch in text)


def _negated_class(excluded: Callable[[str], bool]) -> str:
    """A regex class of every code point `excluded` is false for, as `[^...]` of the excluded ranges.

    BMP code points are written as \\uXXXX escapes; astral ones as the characters themselves (the one
    spelling that ECMA-262 regexes with the u flag, as JSON Schema's `pattern`, and Python's `re` read
    alike)."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF or not excluded(chr(code)):
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))

    def spell(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    parts = [spell(a) if a == b else f"{spell(a)}-{spell(b)}" for a, b in ranges]
    return "[^" + "".join(parts) + "]"


@functools.cache
def text_pattern() -> str:
    """The rules of `check_texts` but the length, as a regex for the OpenAPI schema's `pattern`: only
    allowed characters, and at least one visible one. A client (or a fuzzer) that follows the
    schema sends only texts the service accepts."""
    allowed = _negated_class(_refused_control)
    visible = _negated_class(lambda ch: not _visible(ch))
    return f"^{allowed}*{visible}{allowed}*$"


def check_texts(texts: list[str], *, what: str, max_chars: int | None, field: str) -> None:
    """Raise a 422 ApiError naming the first kind of problem and every text that has it.

    `what` names the texts in the message ("items", "labels of items", "texts"); `field` is the
    request field, for the details."""
    empty = [i for i, t in enumerate(texts) if not any(_visible(ch) for ch in t)]
    if empty:
        _refuse(
            f"{what} {_show(empty)} have no visible characters (only whitespace, control or zero-width "
            "characters); give each one some text",
            field=field,
            reason="empty",
            indices=empty,
        )
    control = [i for i, t in enumerate(texts) if _has_control(t)]
    if control:
        _refuse(
            f"{what} {_show(control)} contain control characters (U+0000-U+001F, U+007F-U+009F; tab and "
            "newline are fine); remove them",
            field=field,
            reason="control_characters",
            indices=control,
        )
    if max_chars is not None:
        long = [i for i, t in enumerate(texts) if len(t) > max_chars]
        if long:
            _refuse(
                f"{what} {_show(long)} are over {max_chars} characters (MAX_TEXT_CHARS); shorten or split them",
                field=field,
                reason="too_long",
                indices=long,
                limit=max_chars,
            )


def _show(indices: list[int]) -> str:
    shown = ", ".join(str(i) for i in indices[:10])
    return f"[{shown}{', ...' if len(indices) > 10 else ''}]"


def _refuse(message: str, *, field: str, reason: str, indices: list[int], **extra: Any) -> None:
    raise ApiError(
        422,
        "invalid_request",
        message,
        details={"field": field, "reason": reason, "indices": indices, **extra},
    )
