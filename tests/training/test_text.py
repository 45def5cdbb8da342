from pathlib import Path

import pytest

from tests.conftest import CHINESE_VOCAB, SHARED
from training.text import DROPPED, TextCodec, ensure_special_tokens, join_cjk

ME5 = SHARED / "models" / "me5-small-mlm-zh"


def _ids(codec: TextCodec, *tokens: str) -> list[int]:
    vocab = codec.tokenizer.get_vocab()
    return [vocab[t] for t in tokens]


def _replace(codec: TextCodec, text: str, replacements: dict[int, str]) -> str:
    encoded = codec.encode([text], 100)[0]
    new = list(encoded.ids)
    for position, token in replacements.items():
        new[position] = _ids(codec, token)[0]
    return codec.splice(encoded, new)


@pytest.fixture(scope="module")
def en(english_tokenizer):
    return TextCodec(english_tokenizer)


@pytest.fixture(scope="module")
def zh(chinese_tokenizer):
    return TextCodec(chinese_tokenizer)


def test_encode_gives_content_ids_offsets_and_maskable_flags(en):
    e = en.encode(["The movie was great today!"], 100)[0]
    assert en.tokenizer.convert_ids_to_tokens(list(e.ids)) == ["the", "movie", "was", "great", "today", "!"]
    assert e.offsets[1] == (4, 9) and all(e.maskable) and not e.truncated


def test_encode_truncates_to_the_window_and_says_so(en):
    e = en.encode(["the movie was great today and the show was lovely again"], 4)[0]
    assert len(e) == 4 and e.truncated


def test_unknown_pieces_are_not_maskable(en):
    e = en.encode(["the zyxw movie"], 100)[0]
    assert e.maskable == (True, False, True)


def test_unchanged_ids_give_the_original_text_exactly(en):
    text = "The  MOVIE was great today!"
    e = en.encode([text], 100)[0]
    assert en.splice(e, list(e.ids)) == text


def test_splice_keeps_untouched_text_as_written(en):
    assert _replace(en, "The MOVIE was great today!", {3: "awful"}) == "The MOVIE was awful today!"
    assert _replace(en, "The MOVIE was great today!", {0: "our", 4: "again"}) == "Our MOVIE was great again!"
    assert (
        _replace(en, "The MOVIE was great today!", {3: "happy", 4: "again"}) == "The MOVIE was happy again!"
    )


def test_splice_glues_continuation_pieces_and_closing_punctuation(en):
    assert _replace(en, "The movie was great today!", {4: "##s"}) == "The movie was greats!"
    assert _replace(en, "The movie was great today!", {3: "##ly"}) == "The movie wasly today!"
    assert _replace(en, "The movie was great today!", {4: ","}) == "The movie was great,!"


def test_splice_separates_a_new_word_written_after_a_word_piece(en):
    # 'show ##s' -> 'show' + new word 'again' must not fuse into 'showagain'.
    assert _replace(en, "the shows was lovely", {2: "again"}) == "the show again was lovely"


def test_splice_removes_dropped_pieces(en):
    # 'the show ##s was lovely': the word 'shows' rewritten as one word, its tail dropped
    encoded = en.encode(["the shows was lovely"], 100)[0]
    new = list(encoded.ids)
    new[1], new[2] = _ids(en, "film")[0], DROPPED
    assert en.splice(encoded, new) == "the film was lovely"
    new[1] = encoded.ids[1]  # the first piece written again unchanged: only the tail goes
    assert en.splice(encoded, new) == "the show was lovely"
    new = list(encoded.ids)
    new[3] = DROPPED
    assert en.splice(encoded, new) == "the shows lovely"


def test_splice_separates_a_new_word_from_a_word_glued_after_it(en):
    # "(sigh)": '(' rewritten as a word must not fuse with 'lovely'; a new '##s' still may.
    assert _replace(en, "the show (lovely)", {2: "happy"}) == "the show happy lovely)"
    assert _replace(en, "the show (lovely)", {2: "##s"}) == "the shows lovely)"


def test_chinese_characters_are_spliced_without_spaces(zh):
    assert _replace(zh, "这部电影很好。", {5: "差"}) == "这部电影很差。"
    assert _replace(zh, "这部电影很好。", {4: "太", 5: "差"}) == "这部电影太差。"
    assert _replace(zh, "这部电影很好，我喜欢。", {5: "差", 8: "讨", 9: "厌"}) == "这部电影很差，我讨厌。"


def test_join_cjk_only_removes_spaces_between_cjk_characters():
    assert join_cjk("这 部 电 影 good movie 。") == "这部电影 good movie。"


def test_sentencepiece_tokenizer_keeps_full_width_punctuation_and_word_breaks():
    from transformers import AutoTokenizer

    codec = TextCodec(AutoTokenizer.from_pretrained(str(ME5), local_files_only=True))
    text = "这家酒店的服务太差了，真的。"
    e = codec.encode([text], 100)[0]
    pieces = codec.tokenizer.convert_ids_to_tokens(list(e.ids))
    assert pieces[0] == "\u2581" and not e.maskable[0]  # a bare word marker is never rewritten
    position = pieces.index("差")
    new = list(e.ids)
    new[position] = _ids(codec, "好")[0]
    assert codec.splice(e, new) == "这家酒店的服务太好了，真的。"  # the normaliser's ',' is not written back
    e = codec.encode(["hello world"], 100)[0]
    assert codec.tokenizer.convert_ids_to_tokens(list(e.ids))[-3:] == ["wor", "l", "d"]
    new = list(e.ids)
    new[-1] = _ids(codec, "\u2581there")[0]  # a word-start piece written over a word's last piece
    assert codec.splice(e, new) == "hello worl there"
    new[-1] = _ids(codec, "k")[0]  # a continuation piece stays inside the word
    assert codec.splice(e, new) == "hello worlk"


def test_banned_mask_covers_specials_unused_and_rows_past_the_vocabulary(en):
    banned = en.banned_mask(len(en.tokenizer) + 3)
    vocab = en.tokenizer.get_vocab()
    for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"):
        assert banned[vocab[token]]
    assert banned[len(en.tokenizer) :].all()
    assert not banned[vocab["great"]] and not banned[vocab["##s"]]


def test_continuation_mask_marks_wordpiece_tails_only(en):
    mask = en.continuation_mask(len(en.tokenizer) + 3)
    vocab = en.tokenizer.get_vocab()
    assert mask[vocab["##s"]] and not mask[vocab["great"]] and not mask[vocab[","]]
    assert not mask[vocab["[CLS]"]] and not mask[len(en.tokenizer) :].any()
    assert int(mask.sum()) == sum(t.startswith("##") and len(t) > 2 for t in vocab)


def test_content_word_mask_marks_word_starts_of_three_letters_or_more_that_are_not_function_words(en):
    mask = en.content_word_mask(len(en.tokenizer) + 3)
    vocab = en.tokenizer.get_vocab()
    assert mask[vocab["great"]] and mask[vocab["movie"]]
    for token in ("the", "and", "was", "it", "my", ",", "##s", "[CLS]", "[MASK]"):
        assert not mask[vocab[token]], token
    assert not mask[len(en.tokenizer) :].any()


def test_continuation_mask_is_empty_where_the_marker_starts_words():
    from transformers import AutoTokenizer

    codec = TextCodec(AutoTokenizer.from_pretrained(str(ME5), local_files_only=True))
    assert not codec.continuation_mask(len(codec.tokenizer)).any()


def test_missing_special_tokens_are_taken_from_the_vocabulary():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(Path(CHINESE_VOCAB).parent), local_files_only=True)
    ensure_special_tokens(tokenizer)
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.mask_token) == ("[CLS]", "[SEP]", "[MASK]")


def test_normalise_folds_case_only_for_uncased_tokenizers(en, zh):
    assert en.normalise(" The  Movie ") == "the movie"
    assert en.lowercases and not zh.lowercases


def test_mask_units_group_word_pieces_and_keep_cjk_characters_apart(en, zh):
    e = en.encode(["the shows was lovely!"], 100)[0]
    assert en.tokenizer.convert_ids_to_tokens(list(e.ids)) == ["the", "show", "##s", "was", "lovely", "!"]
    assert e.units == (0, 1, 1, 2, 3, 4) and e.n_units == 5
    assert zh.encode(["这部电影很好"], 100)[0].units == (0, 1, 2, 3, 4, 5)


def test_restore_case_rules():
    from training.text import restore_case, sentence_start

    assert restore_case("i think i'm fine, i.e. ok", True) == "I think I'm fine, i.e. ok"
    assert restore_case('"so good', True) == '"So good'
    assert restore_case("so good", False) == "so good"
    assert sentence_start("") and sentence_start("Fine. ") and sentence_start('Wow! "')
    assert not sentence_start("We went ") and not sentence_start("3.5") and not sentence_start("Fine.")


def test_splice_restores_case_only_in_cased_texts(english_tokenizer):
    from training.text import TextCodec

    codec = TextCodec(english_tokenizer)
    vocab = english_tokenizer.get_vocab()
    cased = codec.encode(["The movie was great today!"], 32)[0]
    new = list(cased.ids)
    new[0] = vocab["this"]  # "The" -> "this" at the sentence start
    assert codec.splice(cased, new) == "This movie was great today!"
    lower = codec.encode(["the movie was great today!"], 32)[0]
    assert codec.splice(lower, [vocab["this"], *lower.ids[1:]]) == "this movie was great today!"
