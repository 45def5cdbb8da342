"""Word-LM fusion: a word trigram model's say in which token fills a masked position.

The generator is a small masked LM; its commonest fault is a word that fits neither neighbour
("we keeps lay was said"). A word trigram model (training.fluency.NgramLM) trained on plain English
text knows which words follow which. In every decoding round the best `CANDIDATES` tokens of each
masked position get `weight * log q(candidate)` added to their logits (shallow fusion), where q is
what the trigram model says of the text with that candidate in place, counting only the terms that
involve the candidate and words already written:

    q(c) = P(c | w-2, w-1) * P(w+1 | w-1, c) * P(w+2 | c, w+1)

A context word that is still masked drops out: the term backs off to a lower order (P(c | w-1),
P(c)), and a right-hand term whose word is masked is left out. Tokens outside the candidates are
dropped (an implicit top-k), so every token that can be sampled has been scored.

Words are the trigram model's (lower-cased, punctuation split off); a word of several word pieces is
looked up whole. A candidate that is a word piece continuing the word before it, or a whole-word
candidate followed by a written continuation piece, is scored as the unknown word: the trigram model
cannot say which longer word it makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from training.fluency import BOS, EOS, UNK, NgramLM

CANDIDATES = 64  # tokens of each masked position scored by the word model
MASKED = -1  # a context word not yet written


@dataclass
class WordContext:
    """The words around each predicted position, as trigram-model ids (or MASKED): (P,) arrays each.

    left2, left1: the two words before the position; right1, right2: the two after it.
    glued: the token right after the position is a written continuation piece (the candidate would
    only start a longer word)."""

    left2: np.ndarray
    left1: np.ndarray
    right1: np.ndarray
    right2: np.ndarray
    glued: np.ndarray


class WordFusion:
    """Shallow fusion of a word trigram model into masked-token decoding (see the module docstring)."""

    @classmethod
    def for_codec(cls, lm: NgramLM, codec, *, text_start: int, vocab_size: int) -> WordFusion:
        """The fusion for a generator with this TextCodec and `vocab_size` output ids (ids past the
        tokenizer's own read as empty tokens: they are banned from sampling anyway)."""
        if "##" not in {p[:2] for p in codec.pieces}:
            raise ValueError("word-LM fusion needs a WordPiece vocabulary (continuation pieces '##...')")
        vocab = list(codec.pieces) + [""] * max(0, vocab_size - len(codec.pieces))
        return cls(lm, vocab, text_start=text_start, special_ids=[codec.sep_id, codec.pad_id])

    def __init__(self, lm: NgramLM, vocab: Sequence[str], *, text_start: int, special_ids: Sequence[int]):
        """vocab: the generator's tokens by id (WordPiece: continuation pieces start with "##");
        text_start: the first text position of a prompt (the positions before it read as the
        sentence start); special_ids: tokens that end the text ([SEP], [PAD])."""
        self.lm = lm
        self.text_start = text_start
        self.pieces = list(vocab)
        self.is_piece = np.array([t.startswith("##") and len(t) > 2 for t in vocab], dtype=bool)
        self.ends_text = np.zeros(len(vocab), dtype=bool)
        self.ends_text[list(special_ids)] = True
        self.word_of = np.array(
            [lm.vocab.get((t[2:] if p else t).lower(), UNK) for t, p in zip(vocab, self.is_piece, strict=True)],
            dtype=np.int64,
        )

    # ------------------------------------------------------------------------------------------
    def _row_words(self, tokens: list[int], masked: list[bool]) -> tuple[list[int], list[int]]:
        """The words of one prompt row: (word id of each word, index of the word each text token
        belongs to). A masked token is a word of its own, MASKED."""
        words: list[int] = []
        word_index = [-1] * len(tokens)
        text: list[str] = []
        for j in range(self.text_start, len(tokens)):
            token = tokens[j]
            if masked[j]:
                words.append(MASKED)
                text = []
            elif self.ends_text[token]:
                break
            elif self.is_piece[token] and words and words[-1] != MASKED and text:
                text.append(self.pieces[token][2:])
                words[-1] = self.lm.vocab.get("".join(text).lower(), UNK)
            else:
                text = [self.pieces[token][2:] if self.is_piece[token] else self.pieces[token]]
                words.append(int(self.word_of[token]))
            word_index[j] = len(words) - 1
        return words, word_index

    def context(self, ids: torch.Tensor, still: torch.Tensor, positions: torch.Tensor) -> WordContext:
        """Word context of each predicted position; ids, still (B, L), positions (P, 2)."""
        rows = ids.tolist()
        masks = still.tolist()
        per_row = {}
        out = np.zeros((5, len(positions)), dtype=np.int64)
        for p, (b, i) in enumerate(positions.tolist()):
            if b not in per_row:
                per_row[b] = self._row_words(rows[b], masks[b])
            words, word_index = per_row[b]
            k = word_index[i]
            padded = [BOS, BOS, *words, EOS]  # words[k] sits at padded[k + 2]
            glued = i + 1 < len(rows[b]) and not masks[b][i + 1] and bool(self.is_piece[rows[b][i + 1]])
            # the candidate replaces word k; right words after k (EOS ends them, nothing follows it)
            right1 = padded[k + 3]
            right2 = padded[k + 4] if right1 != EOS else MASKED
            out[:, p] = (padded[k], padded[k + 1], right1, right2, int(glued))
        return WordContext(out[0], out[1], out[2], out[3], out[4].astype(bool))

    # ------------------------------------------------------------------------------------------
    def candidate_scores(self, context: WordContext, candidates: np.ndarray) -> np.ndarray:
        """ln q(c) for candidate token ids (P, C): the module docstring's product."""
        lm = self.lm
        width = candidates.shape[1]
        word = self.word_of[candidates]  # (P, C)
        unknown = self.is_piece[candidates] | context.glued[:, None]
        word = np.where(unknown, UNK, word)

        def spread(a: np.ndarray) -> np.ndarray:
            return np.repeat(a[:, None], width, axis=1)

        left2, left1 = spread(context.left2), spread(context.left1)
        right1, right2 = spread(context.right1), spread(context.right2)
        score = np.log(lm.probs_known(left2, left1, word))
        has_right1 = right1 != MASKED
        score += np.where(has_right1, np.log(lm.probs_known(left1, word, np.where(has_right1, right1, UNK))), 0.0)
        has_right2 = has_right1 & (right2 != MASKED)
        score += np.where(has_right2, np.log(lm.probs_known(word, right1, np.where(has_right2, right2, UNK))), 0.0)
        return score

    def apply(
        self, logits: torch.Tensor, ids: torch.Tensor, still: torch.Tensor, positions: torch.Tensor, weight: float
    ) -> None:
        """Add `weight * ln q` to the best CANDIDATES logits of each row of `logits` (P, V), in place,
        and drop the other tokens."""
        if weight == 0 or logits.shape[0] == 0:
            return
        values, candidates = logits.topk(min(CANDIDATES, logits.shape[-1]), dim=-1)  # (P, C)
        scores = self.candidate_scores(self.context(ids, still, positions), candidates.cpu().numpy())
        fused = values + weight * torch.from_numpy(scores).to(values)
        logits.fill_(-torch.inf)
        logits.scatter_(-1, candidates, fused)
