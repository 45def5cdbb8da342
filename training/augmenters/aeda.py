"""AEDA: insert random punctuation marks between words (Karimi, Rossi & Prati, 2021).

As in the paper's code: with w words, q ~ U{1 .. min(w, int(ratio * w) + 1)} marks (ratio 0.3 by
default; the code's `int(PUNC_RATIO * len(words) + 1)` bound, so a short text still gets one), put
before q distinct words drawn at random, each mark drawn from {. ; ? : ! ,}. Nothing is removed or
replaced. A "word" is what the paper's `sentence.split(' ')` gives in space-separated scripts (a
whitespace-separated chunk: 'com/uvb8tlchmh' is one, and no mark goes inside it), and one character
in CJK text, where the marks are the full-width {。 ； ？ ： ！ ， 、} and go between characters with
no spaces (Chinese AEDA as in LCDA, Sun et al., J. Computer Applications 2025); elsewhere a mark stands apart with a space on each side,
as the paper's code writes it. Provenance: per insertion, the mark and the index of the chunk or
character it was put before.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from training.augmenters.distinct import DrawingAugmenter, ImpossibleFn, Proposal, ProposeFn
from training.augmenters.words import Token, render, segment, word_indices

MARKS = (".", ";", "?", ":", "!", ",")
FULL_WIDTH_MARKS = ("\u3002", "\uff1b", "\uff1f", "\uff1a", "\uff01", "\uff0c", "\u3001")  # 。；？：！，、


def slots(tokens: list[Token]) -> list[int]:
    """Token positions a mark may go before: the first token of each whitespace-separated chunk of a
    space-separated script, and each CJK character."""
    return [
        i
        for i, tok in enumerate(tokens)
        if (tok.cjk and tok.is_word) or (not tok.cjk and (i == 0 or tok.gap or tokens[i - 1].cjk))
    ]


class AEDAAugmenter(DrawingAugmenter):
    name = "aeda"

    def __init__(
        self,
        *,
        ratio: float = 0.3,
        marks: Sequence[str] = MARKS,
        full_width_marks: Sequence[str] = FULL_WIDTH_MARKS,
        tries_per_output: int = 10,
    ):
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        if not marks or not full_width_marks:
            raise ValueError("AEDA needs at least one mark of each kind")
        if tries_per_output < 1:
            raise ValueError("tries_per_output must be >= 1")
        self.ratio = ratio
        self.marks = tuple(marks)
        self.full_width_marks = tuple(full_width_marks)
        self.tries_per_output = tries_per_output

    def proposer(self, texts: Sequence[str], seed: int) -> tuple[ProposeFn, ImpossibleFn]:
        segmented: dict[int, list[Token]] = {}

        def tokens_of(item: int) -> list[Token]:
            if item not in segmented:
                segmented[item] = segment(texts[item])
            return segmented[item]

        def impossible(item: int) -> str | None:
            return (
                None if word_indices(tokens_of(item)) and slots(tokens_of(item)) else "the text has no words"
            )

        def propose(item: int, try_index: int, rng: random.Random) -> Proposal:
            tokens = tokens_of(item)
            text, insertions = self.insert_marks(tokens, rng)
            return text, {"insertions": insertions, "ratio": self.ratio}

        return propose, impossible

    def insert_marks(self, tokens: list[Token], rng: random.Random) -> tuple[str, list[dict]]:
        words = slots(tokens)
        q = rng.randint(1, min(len(words), int(self.ratio * len(words)) + 1))
        chosen = sorted(rng.sample(range(len(words)), q))
        marks = {}
        for k in chosen:
            at = words[k]
            tight = tokens[at].cjk or (at > 0 and tokens[at - 1].cjk)
            marks[at] = (rng.choice(self.full_width_marks if tight else self.marks), tight)
        out: list[Token] = []
        insertions = []
        for i, tok in enumerate(tokens):
            if i in marks:
                mark, tight = marks[i]
                out.append(Token(text=mark, gap="" if tight else tok.gap, is_word=False, cjk=tight))
                tok = Token(text=tok.text, gap="" if tight else " ", is_word=tok.is_word, cjk=tok.cjk)
                insertions.append({"position": words.index(i), "mark": mark})
            out.append(tok)
        return render(out), insertions
