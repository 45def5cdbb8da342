"""EDA: synonym replacement, random insertion, random swap, random deletion (Wei & Zou, 2019).

As in the paper's code, each new text comes from ONE operation, and the operations take equal
shares of an input's outputs: try t of input i uses operation (offset_i + t) mod the number of
operations available for that input (offset_i drawn from the seed), so a retry moves on to the
next operation. Each operation changes n = max(1, int(alpha * words)) words (deletion: each word
with probability p_rd), with alpha = 0.1 by default for all four.

Differences from the paper's code, all deliberate:
- Words are found by `training.augmenters.words.segment`, not `str.split` on a lower-cased,
  letters-only copy: casing, digits, punctuation and spacing survive; punctuation never moves and is
  never deleted; a replacement takes the casing of the word it replaces. CJK text (written without
  spaces) is segmented by character, so the operations act on characters.
- Synonyms come from a `SynonymSource`, by default WordNet read offline from a local folder
  (Debian's `wordnet-base`, see wordnet.py). Synonym replacement (SR) and insertion (RI) draw their
  source word among the non-stop-words that have synonyms; an input with none (any CJK text, since
  WordNet is English) gets no SR, and its RI inserts a copy of one of its own words instead.
- Without a synonym source at all (WordNet not installed), EDA runs swap, deletion and insertion of
  existing words only; a warning is logged once and every output's provenance says so
  (`synonym_source: null`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from training.augmenters.distinct import DrawingAugmenter, ImpossibleFn, Proposal, ProposeFn
from training.augmenters.wordnet import SynonymSource, WordNet, find_wordnet_folder
from training.augmenters.words import Token, insert_before, render, segment, word_indices
from training.common import derive_seed
from training.text import STOP_WORDS

log = logging.getLogger(__name__)
_warned: set[str] = set()

OPERATIONS = ("sr", "ri", "rs", "rd")
_Synonyms = dict[int, Sequence[str]]  # token position -> synonyms of the word there
_Edited = tuple[list[Token] | None, list]  # new tokens (None: nothing changed) and the edits made


def warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def resolve_synonyms(synonyms: SynonymSource | str | Path | None) -> SynonymSource | None:
    """'auto': WordNet from the usual folders or None; a path: WordNet there (must exist)."""
    if synonyms is None or synonyms == "none":
        return None
    if synonyms == "auto":
        folder = find_wordnet_folder()
        if folder is None:
            warn_once(
                "no-wordnet",
                "WordNet not found (install Debian's wordnet-base, or set DIFFUSIONCLS_WORDNET to a "
                "WordNet dict folder): EDA runs without synonyms (random swap, random deletion and "
                "insertion of the text's own words only)",
            )
            return None
        return WordNet(folder)
    if isinstance(synonyms, str | Path):
        return WordNet(synonyms)
    return synonyms


def match_case(template: str, word: str) -> str:
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class EDAAugmenter(DrawingAugmenter):
    name = "eda"

    def __init__(
        self,
        *,
        alpha: float = 0.1,
        alpha_sr: float | None = None,
        alpha_ri: float | None = None,
        alpha_rs: float | None = None,
        p_rd: float | None = None,
        operations: Sequence[str] = OPERATIONS,
        synonyms: SynonymSource | str | Path | None = "auto",
        tries_per_output: int = 10,
    ):
        rates = {
            "sr": alpha if alpha_sr is None else alpha_sr,
            "ri": alpha if alpha_ri is None else alpha_ri,
            "rs": alpha if alpha_rs is None else alpha_rs,
            "rd": alpha if p_rd is None else p_rd,
        }
        for op, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"the rate of EDA operation {op!r} must be in [0, 1], got {rate}")
        unknown = [op for op in operations if op not in OPERATIONS]
        if unknown or not operations:
            raise ValueError(f"EDA operations must be a non-empty subset of {OPERATIONS}, got {operations}")
        if tries_per_output < 1:
            raise ValueError("tries_per_output must be >= 1")
        self.rates = rates
        self.operations = tuple(op for op in OPERATIONS if op in operations)
        self.source = resolve_synonyms(synonyms)
        self.tries_per_output = tries_per_output

    @property
    def synonym_source(self) -> str | None:
        return self.source.name if self.source is not None else None

    def proposer(self, texts: Sequence[str], seed: int) -> tuple[ProposeFn, ImpossibleFn]:
        plans: dict[int, tuple[list[Token], _Synonyms, tuple[str, ...], int]] = {}

        def plan(item: int):
            """Tokens, synonyms per word position, operations this input allows, rotation offset."""
            if item not in plans:
                tokens = segment(texts[item])
                synonyms = self._synonyms_by_position(tokens)
                ops = tuple(op for op in self.operations if op != "sr" or synonyms)
                offset = derive_seed(self.name, seed, item, "offset") % max(1, len(ops))
                plans[item] = (tokens, synonyms, ops, offset)
            return plans[item]

        def impossible(item: int) -> str | None:
            tokens, _, ops, _ = plan(item)
            if not word_indices(tokens):
                return "the text has no words"
            if not ops:
                return f"none of the EDA operations {self.operations} applies to this text"
            return None

        def propose(item: int, try_index: int, rng: random.Random) -> Proposal:
            tokens, synonyms, ops, offset = plan(item)
            op = ops[(offset + try_index) % len(ops)]
            new, edits = getattr(self, f"_{op}")(tokens, synonyms, rng)
            if new is None:
                return None
            facts = {"operation": op, "edits": edits, "synonym_source": self.synonym_source}
            return render(new), facts

        return propose, impossible

    # -- the four operations: (tokens, synonyms by token position, rng) -> (new tokens | None, edits) ----
    def _synonyms_by_position(self, tokens: list[Token]) -> _Synonyms:
        if self.source is None:
            return {}
        out: _Synonyms = {}
        for i in word_indices(tokens):
            tok = tokens[i]
            if tok.cjk or tok.text.casefold() in STOP_WORDS or not tok.text.isalpha():
                continue
            found = self.source.synonyms(tok.text)
            if found:
                out[i] = found
        return out

    def _n(self, op: str, words: int) -> int:
        return max(1, int(self.rates[op] * words))

    def _sr(self, tokens: list[Token], synonyms: _Synonyms, rng: random.Random) -> _Edited:
        """Replace every occurrence of n distinct words that have synonyms, each by one synonym."""
        words = word_indices(tokens)
        by_word: dict[str, list[int]] = {}
        for i in words:
            if i in synonyms:
                by_word.setdefault(tokens[i].text.casefold(), []).append(i)
        chosen = list(by_word)
        rng.shuffle(chosen)
        new, edits = list(tokens), []
        for word in chosen[: self._n("sr", len(words))]:
            positions = by_word[word]
            synonym = rng.choice(list(synonyms[positions[0]]))
            for i in positions:
                new[i] = replace(new[i], text=match_case(tokens[i].text, synonym))
            edits.append({"word": word, "synonym": synonym, "positions": [words.index(i) for i in positions]})
        return (new, edits) if edits else (None, [])

    def _ri(self, tokens: list[Token], synonyms: _Synonyms, rng: random.Random) -> _Edited:
        """Insert n words at random word positions: a synonym of one of the text's words, or (when the
        text has no word with synonyms) a copy of one of its words."""
        new, edits = list(tokens), []
        for _ in range(self._n("ri", len(word_indices(tokens)))):
            if synonyms:
                source = rng.choice(sorted(synonyms))
                word, kind = rng.choice(list(synonyms[source])), "synonym"
                source_word = tokens[source].text
            else:
                source = rng.choice(word_indices(tokens))
                word, kind = tokens[source].text, "existing_word"
                source_word = word
            slots = word_indices(new)
            slot = rng.randint(0, len(slots))  # before word `slot`, or right after the last word
            at = slots[slot] if slot < len(slots) else slots[-1] + 1
            cjk = tokens[source].cjk and kind == "existing_word"
            new = insert_before(new, at, word, cjk=cjk, is_word=True)
            edits.append({"position": slot, "word": word, "source": kind, "of": source_word})
        return new, edits

    def _rs(self, tokens: list[Token], synonyms: _Synonyms, rng: random.Random) -> _Edited:
        """Swap the words at two random positions, n times."""
        words = word_indices(tokens)
        if len(words) < 2:
            return None, []
        new, edits = list(tokens), []
        for _ in range(self._n("rs", len(words))):
            a, b = rng.sample(range(len(words)), 2)
            i, j = words[a], words[b]
            new[i], new[j] = (
                replace(new[i], text=new[j].text, cjk=new[j].cjk),
                replace(new[j], text=new[i].text, cjk=new[i].cjk),
            )
            edits.append([a, b])
        return new, edits

    def _rd(self, tokens: list[Token], synonyms: _Synonyms, rng: random.Random) -> _Edited:
        """Delete each word with probability p_rd; keep one random word when all would go."""
        words = word_indices(tokens)
        if len(words) < 2:
            return None, []
        gone = [k for k in range(len(words)) if rng.random() < self.rates["rd"]]
        if len(gone) == len(words):
            gone.remove(rng.choice(gone))
        if not gone:
            return None, []
        drop = {words[k] for k in gone}
        new = [tok for i, tok in enumerate(tokens) if i not in drop]
        if new and drop and min(drop) == 0:
            new[0] = replace(new[0], gap="")
        return new, [{"position": k, "word": tokens[words[k]].text} for k in gone]
