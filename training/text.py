"""Tokenisation around the models: content ids with character offsets, and writing new ids back.

Nothing here assumes English or whitespace-separated words. A new text is made by splicing the
decoded replacement of each changed run of tokens into the *original* string at that run's character
offsets, so untouched text keeps its casing, spacing and punctuation (uncased tokenizers lower-case,
and some normalisers map full-width marks to half-width), and CJK text gets no spurious spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

# Ideographs, kana, hangul, CJK punctuation and full-width forms: scripts written without spaces.
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31c0-\u31ef"
    "\u3200-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])|\s+(?=[{_CJK_PUNCT}])|(?<=[{_CJK_PUNCT}])\s+")
_CJK_CHAR = re.compile(rf"[{_CJK}]")
# English function words: the stop words of the EDA paper's code (NLTK's English list). EDA never
# replaces them; decoding may write them twice (content_word_mask leaves them out).
_STOP_WORDS = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her
hers herself it its itself they them their theirs themselves what which who whom this that these
those am is are was were be been being have has had having do does did doing a an the and but if
or because as until while of at by for with about against between into through during before after
above below to from up down in out on off over under again further then once here there when where
why how all any both each few more most other some such no nor not only own same so than too very s
t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
_UNUSED = re.compile(r"^\[unused\d+\]$|^<unused\d+>$")
# Punctuation that attaches to the word before it in space-separated scripts.
_CLOSING = set(".,!?;:%)]}'\"")

_SPECIAL_DEFAULTS = {
    "cls_token": ("[CLS]", "<s>"),
    "sep_token": ("[SEP]", "</s>"),
    "pad_token": ("[PAD]", "<pad>"),
    "mask_token": ("[MASK]", "<mask>"),
    "unk_token": ("[UNK]", "<unk>"),
}


def is_cjk(char: str) -> bool:
    return bool(_CJK_CHAR.match(char))


def join_cjk(text: str) -> str:
    """Remove whitespace between CJK characters and around CJK punctuation (character-level
    tokenizers decode with a space between every character)."""
    return _CJK_GAP.sub("", text)


def ensure_special_tokens(tokenizer) -> None:
    """Fill in [CLS]/[SEP]/[PAD]/[MASK]/[UNK] from the vocabulary when a tokenizer config omits them.

    (A bare `vocab.txt` such as the bert-base-chinese copy loads with no special tokens set.)
    """
    vocab = tokenizer.get_vocab()
    for attribute, candidates in _SPECIAL_DEFAULTS.items():
        if getattr(tokenizer, attribute, None) is not None:
            continue
        found = next((c for c in candidates if c in vocab), None)
        if found is None:
            raise ValueError(f"the tokenizer has no {attribute} and its vocabulary has none of {candidates}")
        setattr(tokenizer, attribute, found)


# In the new ids given to TextCodec.splice: a piece removed (a word rewritten with fewer pieces).
DROPPED = -1


@dataclass(frozen=True)
class EncodedText:
    """A text's content tokens (no special tokens), within the model's window."""

    text: str
    ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    maskable: tuple[bool, ...]  # False for special pieces ([UNK]) and bare word markers ('▁')
    truncated: bool  # the text continues past the window; the rest is kept unchanged
    units: tuple[int, ...] = ()  # mask unit of each token: its word (a CJK piece is a unit of its own)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_units(self) -> int:
        return (self.units[-1] + 1) if self.units else len(self.ids)

    def unit_index(self) -> torch.Tensor:
        """(n,) mask unit of each token (each token its own unit when the encoding has none)."""
        return torch.tensor(self.units or range(len(self.ids)), dtype=torch.long)


class TextCodec:
    """Encodes texts to content ids and writes sampled ids back into the original strings.

    Built on the base tokenizer (the generator's tokenizer plus label tokens would turn a literal
    '[LABEL=joy]' inside a user's text into a label token). Every id at or above the base vocabulary
    size (label tokens, padding rows of the embedding) is banned from sampling.
    """

    def __init__(self, tokenizer):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("a fast (Rust) tokenizer is required: character offsets come from it")
        ensure_special_tokens(tokenizer)
        self.tokenizer = tokenizer
        self.vocab_size = len(tokenizer)
        # An id with no token (a gap in a hand-made vocabulary) reads as '' and is banned.
        self.pieces: list[str] = [
            p or "" for p in tokenizer.convert_ids_to_tokens(list(range(self.vocab_size)))
        ]
        self.special_ids = frozenset(tokenizer.all_special_ids) | frozenset(tokenizer.added_tokens_decoder)
        self._marker, self._marker_means_start = self._word_marker()
        self.lowercases = self._lowercases()

    # -- tokenizer conventions ------------------------------------------------------------------
    def _word_marker(self) -> tuple[str, bool]:
        """(marker, True) when a marker starts a word ('▁', 'Ġ'); (marker, False) when it continues one ('##')."""
        backend = self.tokenizer.backend_tokenizer
        model_type = type(backend.model).__name__
        if model_type == "WordPiece":
            return backend.model.continuing_subword_prefix or "##", False
        decoder = type(backend.decoder).__name__ if backend.decoder is not None else ""
        if decoder == "ByteLevel":
            return "\u0120", True  # 'Ġ'
        return "\u2581", True  # '▁' (Metaspace / SentencePiece)

    def _lowercases(self) -> bool:
        probe = self.tokenizer("Aa", add_special_tokens=False)["input_ids"]
        return probe == self.tokenizer("aa", add_special_tokens=False)["input_ids"]

    def is_word_start(self, token_id: int) -> bool:
        piece = self.pieces[token_id]
        return (
            piece.startswith(self._marker) if self._marker_means_start else not piece.startswith(self._marker)
        )

    def _is_bare_marker(self, piece: str) -> bool:
        return piece in (self._marker, "\u2581", "\u0120")

    @property
    def cls_id(self) -> int:
        return int(self.tokenizer.cls_token_id)

    @property
    def sep_id(self) -> int:
        return int(self.tokenizer.sep_token_id)

    @property
    def pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id)

    @property
    def mask_id(self) -> int:
        return int(self.tokenizer.mask_token_id)

    def banned_mask(self, model_vocab_size: int) -> torch.Tensor:
        """(V,) True for ids the sampler must never write: specials, label tokens, unused and bare markers."""
        banned = torch.zeros(max(model_vocab_size, self.vocab_size), dtype=torch.bool)
        banned[self.vocab_size :] = True
        for i in self.special_ids:
            banned[i] = True
        for i, piece in enumerate(self.pieces):
            if not piece or _UNUSED.match(piece) or self._is_bare_marker(piece):
                banned[i] = True
        return banned

    def continuation_mask(self, model_vocab_size: int) -> torch.Tensor:
        """(V,) True for the pieces that continue a word ("##virus") in a WordPiece vocabulary.

        Banned where a masked word is rewritten, every piece written there starts a word of its own:
        otherwise a word is glued from a new start and the old word's tail ("the" + "##virus" ->
        "thevirus"), a fault blind readers cited often. Vocabularies whose marker starts a word
        (SentencePiece, byte-level BPE) also write punctuation without the marker, so they get no
        such ban (all False)."""
        mask = torch.zeros(max(model_vocab_size, self.vocab_size), dtype=torch.bool)
        if not self._marker_means_start:
            for i, piece in enumerate(self.pieces):
                if piece.startswith(self._marker) and len(piece) > len(self._marker):
                    mask[i] = True
        return mask

    def content_word_mask(self, model_vocab_size: int) -> torch.Tensor:
        """(V,) True for pieces that start a content word: three letters or more, all letters, not a
        function word (STOP_WORDS). Decoding never writes one the text already holds
        (DecodeConfig.ban_content_repeats)."""
        mask = torch.zeros(max(model_vocab_size, self.vocab_size), dtype=torch.bool)
        for i, piece in enumerate(self.pieces):
            if i in self.special_ids or not self.is_word_start(i):
                continue
            word = piece[len(self._marker) :] if self._marker_means_start else piece  # '▁house' -> 'house'
            if len(word) >= 3 and word.isalpha() and word.casefold() not in STOP_WORDS:
                mask[i] = True
        return mask

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str], max_content: int) -> list[EncodedText]:
        """Content tokens of each text, cut to the first `max_content` tokens."""
        if not texts:
            return []
        batch = self.tokenizer(
            list(texts), add_special_tokens=False, return_offsets_mapping=True, truncation=False
        )
        out = []
        for text, ids, offsets in zip(texts, batch["input_ids"], batch["offset_mapping"], strict=True):
            truncated = len(ids) > max_content
            ids, offsets = ids[:max_content], offsets[:max_content]
            maskable = tuple(
                i not in self.special_ids and not self._is_bare_marker(self.pieces[i]) for i in ids
            )
            units = tuple(self.mask_units(ids))
            out.append(EncodedText(text, tuple(ids), tuple(map(tuple, offsets)), maskable, truncated, units))
        return out

    def mask_units(self, ids: Sequence[int]) -> list[int]:
        """Unit index of each token: a new unit starts at every word-start piece and at every piece
        with a CJK character, so the pieces of a word are masked together and never rebuilt half-way
        (a new word written between two kept pieces of the old one would fuse with them)."""
        units: list[int] = []
        previous_cjk = False
        for i, token in enumerate(ids):
            piece = self.pieces[token]
            cjk = bool(_CJK_CHAR.search(piece))
            starts = i == 0 or self.is_word_start(token) or cjk or previous_cjk or token in self.special_ids
            units.append(units[-1] + 1 if units and starts else (units[-1] if units else 0))
            previous_cjk = cjk
        return units

    def decode_run(self, ids: Sequence[int]) -> str:
        text = self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=True)
        text = text.strip()
        # The WordPiece decoder keeps the '##' of a run's first piece (it only joins later pieces).
        if not self._marker_means_start and text.startswith(self._marker):
            text = text[len(self._marker) :]
        return join_cjk(text)

    # -- writing new ids back --------------------------------------------------------------------
    def splice(self, encoded: EncodedText, new_ids: Sequence[int]) -> str:
        """The original text with every changed run of tokens replaced by its decoded new tokens
        (DROPPED ids are removed pieces: they write nothing)."""
        if len(new_ids) != len(encoded.ids):
            raise ValueError("new_ids must have the same length as the encoded text")
        changed = [i for i, (a, b) in enumerate(zip(encoded.ids, new_ids, strict=True)) if a != b]
        if not changed:
            return encoded.text
        runs: list[list[int]] = [[changed[0]]]
        for i in changed[1:]:
            if i == runs[-1][-1] + 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        text, cursor = encoded.text, 0
        pieces: list[str] = []
        # An uncased tokenizer writes lower case; where the user's text uses capitals, new words
        # follow its conventions (sentence-initial capitals, "I"). All-lower-case texts stay so.
        cased = any(c.isupper() for c in text)
        for run in runs:
            first, last = run[0], run[-1]
            start, end = encoded.offsets[first][0], encoded.offsets[last][1]
            start = max(start, cursor)  # offsets of bare markers can overlap the next piece
            prefix = text[cursor:start]
            written = [new_ids[i] for i in run if new_ids[i] != DROPPED]
            replacement = self.decode_run(written) if written else ""
            if not written and text[end : end + 1].isspace():
                prefix = prefix.rstrip()  # a whole word removed: one space stays, the one after it
            if first > 0 and replacement:
                glue = not self.is_word_start(written[0]) or replacement[0] in _CLOSING
                if glue:
                    prefix = prefix.rstrip()
                elif start == encoded.offsets[first - 1][1] and _needs_space(
                    prefix[-1:] or text[start - 1 : start], replacement[0]
                ):
                    prefix += " "
            # An unchanged word that followed the run with no space (after punctuation, say) must not
            # fuse with a new word written before it.
            after = last + 1
            if (
                replacement
                and after < len(encoded.ids)
                and self.is_word_start(encoded.ids[after])
                and encoded.offsets[after][0] == end
                and _needs_space(replacement[-1], text[end : end + 1])
            ):
                replacement += " "
            if self.lowercases and cased and replacement:
                replacement = restore_case(replacement, sentence_start("".join(pieces) + prefix))
            pieces.append(prefix)
            pieces.append(replacement)
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def normalise(self, text: str) -> str:
        """The form under which two texts count as the same output."""
        text = " ".join(text.split())
        return text.casefold() if self.lowercases else text


_SENTENCE_END_CHARS = ".!?\u2026"
_OPENING = "\"'([{\u201c\u2018"
_PRONOUN_I = re.compile(r"\bi(?=$|[\s'\u2019,!?;:]|\.(?!\w))")


def sentence_start(before: str) -> bool:
    """Whether text written right after `before` begins a sentence: nothing but opening quotes or
    brackets before it, or a sentence end (. ! ? ...) then whitespace."""
    stripped = before.rstrip(_OPENING + " \t\n\r")
    if not stripped:
        return True
    return stripped[-1] in _SENTENCE_END_CHARS and before != stripped and before[len(stripped)].isspace()


def restore_case(replacement: str, at_sentence_start: bool) -> str:
    """Lower-case words written by an uncased model, in a cased text: capitalise the first letter at
    a sentence start, the pronoun "i" (and "i'm", "i've", ...) everywhere."""
    replacement = _PRONOUN_I.sub("I", replacement)
    if at_sentence_start:
        for k, char in enumerate(replacement):
            if char.isalpha():
                return replacement[:k] + char.upper() + replacement[k + 1 :]
            if not (char in _OPENING or char.isspace()):
                break
    return replacement


def _needs_space(before: str, after: str) -> bool:
    """A new word written right after a letter or digit of a space-separated script needs a space."""
    return bool(before) and before.isalnum() and after.isalnum() and not is_cjk(before) and not is_cjk(after)
