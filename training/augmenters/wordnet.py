"""English synonyms from a local WordNet 3.0 database folder (offline), for EDA.

The folder is the one Debian's `wordnet-base` package installs (/usr/share/wordnet: index.noun,
data.noun, ..., noun.exc, ...) or an nltk_data `corpora/wordnet` folder, which has the same files.
It is read directly: nltk's reader refuses folders outside its data path unless nltk's global
`nltk.data.path` is changed, and it also wants a `lexnames` file that Debian's package does not
ship; the four index files and a seek into the data files are all EDA needs (0.2 s to index).

`synonyms(word)` follows what EDA's `wordnet.synsets(word)` does: WordNet's morphology (exception
lists, then suffix rules) maps the word to its base forms, and every lemma of every synset of those
forms, in all four parts of speech, is a synonym. Lemmas with capitals or digits (proper names,
abbreviations) are skipped, as EDA's character filter does, and so are the word's own base forms
('movie' is no synonym of 'movies'); underscores become spaces.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

POS = ("noun", "verb", "adj", "adv")
# WordNet's detachment rules (morph.c / nltk's MORPHOLOGICAL_SUBSTITUTIONS).
_RULES = {
    "noun": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
             ("men", "man"), ("ies", "y")],
    "verb": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"),
             ("ing", "")],
    "adj": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "adv": [],
}  # fmt: skip
ENV_VAR = "DIFFUSIONCLS_WORDNET"
CANDIDATE_FOLDERS = (
    "/usr/share/wordnet",  # Debian/Ubuntu: apt-get install wordnet-base
    "~/nltk_data/corpora/wordnet",
    "/usr/share/nltk_data/corpora/wordnet",
    "/usr/local/share/nltk_data/corpora/wordnet",
)


class SynonymSource(Protocol):
    """Anything that maps a word to its synonyms (EDA's synonym replacement and insertion)."""

    @property
    def name(self) -> str: ...

    def synonyms(self, word: str) -> Sequence[str]: ...


class DictSynonyms:
    """Synonyms from a mapping word -> synonyms (tests, or a user's own thesaurus)."""

    def __init__(self, mapping: dict[str, Sequence[str]], name: str = "dict"):
        self.mapping = {k.casefold(): list(v) for k, v in mapping.items()}
        self.name = name

    def synonyms(self, word: str) -> Sequence[str]:
        return self.mapping.get(word.casefold(), [])


def is_wordnet_folder(folder: Path) -> bool:
    return all((folder / f"{kind}.{pos}").is_file() for pos in POS for kind in ("index", "data"))


def find_wordnet_folder(path: str | Path | None = None) -> Path | None:
    """`path`, else $DIFFUSIONCLS_WORDNET, else the first of CANDIDATE_FOLDERS that holds WordNet."""
    if path is not None:
        candidates: Sequence[str | Path] = [path]
    elif os.environ.get(ENV_VAR):
        candidates = [os.environ[ENV_VAR]]
    else:
        candidates = CANDIDATE_FOLDERS
    for candidate in candidates:
        folder = Path(candidate).expanduser()
        if is_wordnet_folder(folder):
            return folder
    return None


class WordNet:
    """Read-only access to the synonym sets of a WordNet database folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        if not is_wordnet_folder(self.folder):
            raise FileNotFoundError(
                f"{self.folder} is not a WordNet database folder (needs index.* and data.* for {POS})"
            )
        self.name = f"wordnet:{self.folder}"
        self._index: dict[str, dict[str, list[int]]] | None = None
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, list[int]]]:
        with self._lock:
            if self._index is None:
                index: dict[str, dict[str, list[int]]] = {}
                for pos in POS:
                    with open(self.folder / f"index.{pos}", encoding="utf-8") as fh:
                        for line in fh:
                            if line.startswith(" "):  # the licence header
                                continue
                            parts = line.split()
                            synset_count = int(parts[2])
                            offsets = [int(p) for p in parts[len(parts) - synset_count :]]
                            index.setdefault(parts[0], {})[pos] = offsets
                    exc = self.folder / f"{pos}.exc"
                    table: dict[str, list[str]] = {}
                    if exc.is_file():
                        for line in exc.read_text(encoding="utf-8").splitlines():
                            parts = line.split()
                            if len(parts) >= 2:
                                table[parts[0]] = parts[1:]
                    self._exceptions[pos] = table
                self._index = index
            return self._index

    def base_forms(self, word: str, pos: str) -> list[str]:
        """WordNet's morphology: the forms of `word` that the index holds for this part of speech."""
        index = self._load()
        forms = list(self._exceptions[pos].get(word, []))
        for candidate in [word] + [word[: -len(old)] + new for old, new in _RULES[pos] if word.endswith(old)]:
            if candidate and candidate not in forms:
                forms.append(candidate)
        return [f for f in forms if pos in index.get(f, {})]

    def synonyms(self, word: str) -> Sequence[str]:
        key = word.casefold().replace(" ", "_")
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        index = self._load()
        found: list[str] = []
        forms = {pos: self.base_forms(key, pos) for pos in POS}
        own = {key} | {form for pos_forms in forms.values() for form in pos_forms}
        for pos in POS:
            offsets = [o for form in forms[pos] for o in index[form][pos]]
            if not offsets:
                continue
            with open(self.folder / f"data.{pos}", encoding="utf-8") as fh:
                for offset in offsets:
                    fh.seek(offset)
                    for lemma in _lemmas(fh.readline()):
                        if lemma.casefold() in own or any(c.isupper() or c.isdigit() for c in lemma):
                            continue
                        synonym = lemma.replace("_", " ")
                        if synonym not in found:
                            found.append(synonym)
        result = tuple(found)
        with self._lock:
            self._cache[key] = result
        return result


def _lemmas(line: str) -> list[str]:
    """Lemma names of one data-file line: offset lex_filenum ss_type w_cnt(hex) word lex_id ..."""
    parts = line.split()
    count = int(parts[3], 16)
    words = parts[4 : 4 + 2 * count : 2]
    return [w.split("(")[0] for w in words]  # adjectives may carry a marker: 'galore(ip)'
