"""Words of any script, with the whitespace between them, for the rule-based augmenters and metrics.

A text becomes a list of tokens, each remembering the whitespace before it:
- a run of letters, digits and combining marks of a space-separated script (an apostrophe, hyphen or
  underscore between two such characters stays inside: "don't", "covid-19", "under_attack");
- one character of a script written without spaces (CJK ideographs, kana, hangul, full-width forms):
  CJK runs are segmented by character, so no word segmenter (jieba) is needed;
- one other non-space character (punctuation, symbols).
Rendering puts the tokens back with their own whitespace, so untouched text keeps its spacing, and
never glues two words of a space-separated script together.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from training.text import is_cjk

_JOINERS = frozenset("'\u2019-_")


@dataclass(frozen=True, kw_only=True)
class Token:
    text: str
    gap: str  # whitespace before the token in the text ('' when glued to the previous token)
    is_word: bool  # a word or a CJK character (what word-level operations act on)
    cjk: bool  # a character of a script written without spaces


def _wordlike(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


def segment(text: str) -> list[Token]:
    """Tokens of `text` in order; ''.join(gap + text) gives `text` back up to trailing whitespace."""
    tokens: list[Token] = []
    gap_start, i, n = 0, 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        gap = text[gap_start:i]
        if is_cjk(char):
            tokens.append(Token(text=char, gap=gap, is_word=_wordlike(char), cjk=True))
            i += 1
        elif _wordlike(char) or (char == "_" and i + 1 < n and _wordlike(text[i + 1])):
            j = i + 1
            while j < n:
                c = text[j]
                if not is_cjk(c) and (
                    _wordlike(c) or (c in _JOINERS and j + 1 < n and _wordlike(text[j + 1]))
                ):
                    j += 1
                else:
                    break
            tokens.append(Token(text=text[i:j], gap=gap, is_word=True, cjk=False))
            i = j
        else:
            tokens.append(Token(text=char, gap=gap, is_word=False, cjk=False))
            i += 1
        gap_start = i
    return tokens


def _fuses(before: str, after: str) -> bool:
    """Two words of a space-separated script written with nothing between them would read as one."""
    a, b = before[-1:], after[:1]
    return bool(a) and bool(b) and _wordlike(a) and _wordlike(b) and not is_cjk(a) and not is_cjk(b)


def render(tokens: list[Token]) -> str:
    """The text of `tokens`: each with its own whitespace before it (none before the first)."""
    parts: list[str] = []
    previous = ""
    for tok in tokens:
        if parts:
            gap = tok.gap
            if not gap and _fuses(previous, tok.text):
                gap = " "
            parts.append(gap)
        parts.append(tok.text)
        previous = tok.text
    return "".join(parts)


def word_indices(tokens: list[Token]) -> list[int]:
    """Positions in `tokens` of the words (what 'word i' means in the augmenters' provenance)."""
    return [i for i, tok in enumerate(tokens) if tok.is_word]


def insert_before(tokens: list[Token], at: int, text: str, *, cjk: bool, is_word: bool) -> list[Token]:
    """A copy of `tokens` with a new token at index `at` (len(tokens) appends).

    The new token takes over the whitespace that led to the token it precedes, and a word after it
    is set apart by a space (no space where either side is written without spaces).
    """
    out = list(tokens)
    nxt = out[at] if at < len(out) else None
    prev = out[at - 1] if at > 0 else None
    tight = cjk or (prev is not None and prev.cjk)
    if tight:
        gap = ""
    elif nxt is not None and nxt.is_word and nxt.gap:
        gap = nxt.gap
    else:
        gap = " " if prev is not None else ""
    out.insert(at, Token(text=text, gap=gap, is_word=is_word, cjk=cjk))
    if nxt is not None and nxt.is_word:
        spaced = not (cjk or nxt.cjk)
        out[at + 1] = Token(
            text=nxt.text, gap=(nxt.gap or " ") if spaced else "", is_word=nxt.is_word, cjk=nxt.cjk
        )
    return out


def metric_tokens(text: str) -> list[str]:
    """Case-folded tokens (words, CJK characters, punctuation marks) for n-gram metrics."""
    return [tok.text.casefold() for tok in segment(text)]
