"""EDA, AEDA and resampling behind the Augmenter interface: the distinctness rule, seeds, batching,
shortfalls, Chinese text, provenance, and the WordNet reader on a hand-made database folder."""

import logging
import re
from collections import Counter
from pathlib import Path

import pytest

from training.augmenters import eda as eda_module
from training.augmenters.aeda import FULL_WIDTH_MARKS, MARKS, AEDAAugmenter
from training.augmenters.base import same_text_key
from training.augmenters.eda import EDAAugmenter
from training.augmenters.resample import ResampleAugmenter
from training.augmenters.wordnet import DictSynonyms, WordNet, find_wordnet_folder
from training.augmenters.words import insert_before, render, segment, word_indices
from training.policies import augment_balanced

TEXTS = ["The movie was great today, honestly!", "Our team was rude again!", "My day was lonely tonight!"]
LABELS = ["joy", "anger", "sad"]
SYNONYMS = DictSynonyms(
    {
        "movie": ["film", "picture"],
        "great": ["outstanding", "good"],
        "rude": ["impolite"],
        "lonely": ["solitary", "lone"],
        "team": ["squad"],
        "day": ["daytime"],
    }
)
CHINESE = "这部电影很好，真的。"


def eda():
    return EDAAugmenter(synonyms=SYNONYMS)


def eda_plain():
    return EDAAugmenter(synonyms=None)


RULE_BASED = pytest.mark.parametrize(
    "make", [eda, eda_plain, AEDAAugmenter], ids=["eda", "eda-plain", "aeda"]
)


def key(text):
    return same_text_key(text, casefold=True)


def by_item(result):
    out = {}
    for a in result.augmentations:
        out.setdefault(a.source_index, []).append(a.text)
    return out


@RULE_BASED
def test_exactly_n_distinct_new_texts_with_provenance(make):
    result = make().augment(TEXTS, LABELS, [4, 4, 4], seed=1)
    assert not result.shortfalls and result.stats["produced"] == 12
    outputs = by_item(result)
    for i, text in enumerate(TEXTS):
        keys = {key(t) for t in outputs[i]}
        assert len(outputs[i]) == 4 and len(keys) == 4 and key(text) not in keys
    assert [a.label for a in result.augmentations] == [lbl for lbl in LABELS for _ in range(4)]
    for a in result.augmentations:
        p = a.provenance
        assert p["method"] == make().name and p["seed"] == 1 and isinstance(p["try"], int)
        assert ("operation" in p and "edits" in p) if p["method"] == "eda" else p["insertions"]


@RULE_BASED
def test_same_seed_same_outputs_other_seed_other_outputs(make):
    def run(seed):
        return [a.text for a in make().augment(TEXTS, LABELS, [3, 3, 3], seed=seed).augmentations]

    assert run(5) == run(5)
    assert run(5) != run(6)


@RULE_BASED
def test_an_output_does_not_depend_on_the_other_inputs(make):
    together = by_item(make().augment(TEXTS, LABELS, [3, 3, 3], seed=3))
    alone = by_item(make().augment(TEXTS[:1], LABELS[:1], [3], seed=3))
    others = by_item(
        make().augment(["Something else entirely.", "And more!", TEXTS[2]], LABELS, [5, 1, 3], seed=3)
    )
    assert together[0] == alone[0]
    assert together[2] == others[2]


@RULE_BASED
def test_exclude_keeps_new_outputs_apart_from_old_ones(make):
    first = make().augment(TEXTS, LABELS, [3, 3, 3], seed=0)
    old = by_item(first)
    second = make().augment(TEXTS, LABELS, [3, 3, 3], seed=0, exclude=[old[i] for i in range(3)])
    for i, texts in by_item(second).items():
        assert not {key(t) for t in texts} & {key(t) for t in old[i]}


def test_impossible_requests_are_shortfalls_never_copies():
    # One word, no synonyms: deletion and swap cannot act, insertion can only give "hello hello".
    result = eda_plain().augment(["hello", TEXTS[0]], ["x", "joy"], [3, 2], seed=0)
    assert [(s.source_index, s.requested, s.produced) for s in result.shortfalls] == [(0, 3, 1)]
    assert by_item(result)[0] == ["hello hello"] and len(by_item(result)[1]) == 2
    # AEDA: one word leaves one slot and six marks: six texts at most.
    result = AEDAAugmenter().augment(["hello"], ["x"], [10], seed=0)
    ((shortfall),) = result.shortfalls
    assert (shortfall.requested, shortfall.produced) == (10, 6)
    assert sorted(by_item(result)[0]) == sorted(f"{m} hello" for m in MARKS)
    for augmenter in (eda(), AEDAAugmenter()):
        result = augmenter.augment(["!!! ...", TEXTS[0]], ["x", "joy"], [2, 1], seed=0)
        assert [(s.source_index, s.produced, s.reason) for s in result.shortfalls] == [
            (0, 0, "the text has no words")
        ]


def test_eda_splits_outputs_over_the_four_operations_and_keeps_casing():
    result = eda().augment([TEXTS[0]], ["joy"], [12], seed=0)
    ops = Counter(a.provenance["operation"] for a in result.augmentations)
    assert set(ops) == {"sr", "ri", "rs", "rd"} and max(ops.values()) - min(ops.values()) <= 2
    for a in result.augmentations:
        p = a.provenance
        assert p["synonym_source"] == "dict"
        if p["operation"] == "sr":
            for edit in p["edits"]:
                assert edit["synonym"] in SYNONYMS.synonyms(edit["word"])
        if p["operation"] == "ri":
            assert all(e["source"] == "synonym" for e in p["edits"])
        assert a.text.rstrip().endswith("!")  # punctuation never moves or goes
    # A replacement takes the casing of the word it replaces.
    result = EDAAugmenter(synonyms=SYNONYMS, operations=["sr"]).augment(
        ["MOVIE night. Movie time"], ["x"], [2], seed=0
    )
    assert sorted(a.text for a in result.augmentations) == [
        "FILM night. Film time",
        "PICTURE night. Picture time",
    ]


def test_eda_without_wordnet_falls_back_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(eda_module, "find_wordnet_folder", lambda path=None: None)
    monkeypatch.setattr(eda_module, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="training.augmenters.eda"):
        first, second = EDAAugmenter(), EDAAugmenter()
    warnings = [r for r in caplog.records if "WordNet not found" in r.getMessage()]
    assert len(warnings) == 1  # one warning, however many augmenters are built
    result = second.augment(TEXTS, LABELS, [6, 6, 6], seed=0)
    assert not result.shortfalls and first.source is None
    for a in result.augmentations:
        assert a.provenance["synonym_source"] is None and a.provenance["operation"] in ("ri", "rs", "rd")
        if a.provenance["operation"] == "ri":
            assert all(e["source"] == "existing_word" for e in a.provenance["edits"])


def test_eda_on_chinese_works_on_characters():
    result = EDAAugmenter(synonyms=SYNONYMS).augment([CHINESE], ["positive"], [6], seed=0)
    assert not result.shortfalls
    for a in result.augmentations:
        assert not re.search(r"\s", a.text)  # no spaces appear in CJK text
        assert a.provenance["operation"] != "sr"  # no synonym source for Chinese characters
        chars = Counter(a.text)
        assert set(chars) <= set(CHINESE)  # swaps, deletions and copies of its own characters
        assert a.text.endswith("。") and chars["，"] == 1  # punctuation stays put


def test_aeda_inserts_one_to_ratio_marks_before_words():
    text = "one two three four five six seven eight nine ten"
    result = AEDAAugmenter(ratio=0.3).augment([text], ["x"], [30], seed=0)
    assert len(result.augmentations) == 30
    for a in result.augmentations:
        insertions = a.provenance["insertions"]
        assert 1 <= len(insertions) <= 4  # int(0.3 * 10) + 1
        assert [w for w in a.text.split() if w not in MARKS] == text.split()
        assert sum(w in MARKS for w in a.text.split()) == len(insertions)


def test_aeda_never_puts_a_mark_inside_a_whitespace_separated_chunk():
    text = "see pic twitter com/uvb8tlchmh (great) day"
    result = AEDAAugmenter(ratio=1.0).augment([text], ["x"], [20], seed=0)
    assert len(result.augmentations) == 20
    for a in result.augmentations:
        assert [w for w in a.text.split() if w not in MARKS] == text.split()


def test_aeda_puts_full_width_marks_between_chinese_characters():
    result = AEDAAugmenter().augment([CHINESE, "我爱你"], ["positive", "positive"], [5, 5], seed=0)
    assert not result.shortfalls
    for a in result.augmentations:
        source = [CHINESE, "我爱你"][a.source_index]
        assert not re.search(r"\s", a.text) and not set(a.text) & set(MARKS)
        inserted = a.provenance["insertions"]
        assert all(i["mark"] in FULL_WIDTH_MARKS for i in inserted)
        # Removing the inserted marks, in order, gives the source back.
        pattern = "".join(
            f"[{''.join(FULL_WIDTH_MARKS)}]?" + re.escape(c) if c not in FULL_WIDTH_MARKS else re.escape(c)
            for c in source
        )
        assert re.fullmatch(pattern, a.text), (source, a.text)
        assert len(a.text) == len(source) + len(inserted)


def test_resample_copies_by_design_and_says_so():
    result = ResampleAugmenter().augment(TEXTS, LABELS, [2, 0, 1], seed=9, exclude=[[TEXTS[0]], [], []])
    assert [a.text for a in result.augmentations] == [TEXTS[0], TEXTS[0], TEXTS[2]]
    assert not result.shortfalls
    for a in result.augmentations:
        assert a.provenance["copy_of_input"] is True and a.provenance["method"] == "resample"
        assert a.provenance["seed"] == 9 and "exempt" in a.provenance["note"]
    assert [a.provenance["try"] for a in result.augmentations] == [0, 1, 0]


@pytest.mark.parametrize(
    "make", [eda_plain, AEDAAugmenter, ResampleAugmenter], ids=["eda", "aeda", "resample"]
)
def test_balanced_policy_works_for_classic_methods(make):
    texts = [TEXTS[0], "The show was lovely again!", "The trip was happy tonight!", TEXTS[1]]
    labels = ["joy", "joy", "joy", "anger"]
    result = augment_balanced(make(), texts, labels, seed=0)
    assert not result.shortfalls and Counter(a.label for a in result.augmentations) == {"anger": 2}


def test_words_keep_spacing_and_never_fuse():
    for text in ["Don't stop, covid-19 is here!", "这部电影很好，真的。", "我爱NLP 和 deep learning!"]:
        assert render(segment(text)) == text
    tokens = segment("The movie was great!")
    assert [t.text for t in tokens] == ["The", "movie", "was", "great", "!"] and word_indices(tokens) == [
        0,
        1,
        2,
        3,
    ]
    assert (
        render(insert_before(tokens, 4, "indeed", cjk=False, is_word=True)) == "The movie was great indeed!"
    )
    assert render(insert_before(tokens, 0, "Wow", cjk=False, is_word=True)) == "Wow The movie was great!"
    assert render(insert_before(segment("很好"), 1, "很", cjk=True, is_word=True)) == "很很好"


# -- the WordNet reader, on a hand-made database folder ----------------------------------------------
def write_wordnet(folder: Path, synsets: dict[str, list[list[str]]]) -> Path:
    """index.* / data.* files in WordNet's format: synsets[pos] = lemma lists; byte offsets are real."""
    folder.mkdir(parents=True, exist_ok=True)
    for pos in ("noun", "verb", "adj", "adv"):
        header = "  1 a licence header line  \n"
        data, offsets = header, []
        for lemmas in synsets.get(pos, []):
            offsets.append(len(data.encode()))
            words = " ".join(f"{w} 0" for w in lemmas)
            data += f"{offsets[-1]:08d} 05 {pos[0]} {len(lemmas):02x} {words} 000 | a gloss  \n"
        (folder / f"data.{pos}").write_text(data)
        index: dict[str, list[int]] = {}
        for offset, lemmas in zip(offsets, synsets.get(pos, []), strict=True):
            for lemma in lemmas:
                index.setdefault(lemma.lower(), []).append(offset)
        lines = [
            f"{lemma} {pos[0]} {len(offs)} 0 {len(offs)} 0 " + " ".join(f"{o:08d}" for o in offs) + "  \n"
            for lemma, offs in sorted(index.items())
        ]
        (folder / f"index.{pos}").write_text(header + "".join(lines))
    (folder / "noun.exc").write_text("mice mouse\n")
    return folder


def test_wordnet_reader_follows_morphology_and_skips_proper_names(tmp_path):
    folder = write_wordnet(
        tmp_path / "wn",
        {
            "noun": [
                ["movie", "film", "picture", "motion_picture"],
                ["mouse", "Mickey"],
                ["film", "plastic_wrap"],
            ],
            "verb": [["film", "shoot"]],
            "adj": [["happy", "glad"]],
        },
    )
    assert find_wordnet_folder(folder) == folder and find_wordnet_folder(tmp_path) is None
    wn = WordNet(folder)
    assert list(wn.synonyms("movies")) == ["film", "picture", "motion picture"]  # noun rule s -> ''
    assert list(wn.synonyms("Film")) == ["movie", "picture", "motion picture", "plastic wrap", "shoot"]
    assert list(wn.synonyms("filming")) == ["shoot"]  # verb rule ing -> ''; no noun reads 'filming'

    assert list(wn.synonyms("mice")) == []  # 'Mickey' is a proper name; 'mouse' is the word itself
    assert list(wn.synonyms("unknown")) == []
    augmenter = EDAAugmenter(synonyms=str(folder), operations=["sr"])
    result = augmenter.augment(["I saw a movie."], ["x"], [3], seed=0)
    assert sorted(a.text for a in result.augmentations) == [
        "I saw a film.",
        "I saw a motion picture.",
        "I saw a picture.",
    ]
    assert all(a.provenance["synonym_source"] == f"wordnet:{folder}" for a in result.augmentations)


@pytest.mark.skipif(
    find_wordnet_folder() is None, reason="no WordNet installed (apt-get install wordnet-base)"
)
def test_installed_wordnet_gives_english_synonyms():
    wn = WordNet(find_wordnet_folder())
    assert "glad" in wn.synonyms("happy") and "film" in wn.synonyms("movies")
    result = EDAAugmenter(operations=["sr"]).augment(["The movie was great!"], ["joy"], [3], seed=0)
    assert len(result.augmentations) == 3
    assert all(a.provenance["synonym_source"].startswith("wordnet:") for a in result.augmentations)
