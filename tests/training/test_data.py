import json
from collections import Counter

import pytest

from training.data import (
    DataError,
    LabelledData,
    apply_setting,
    fraction,
    imbalanced,
    kshot,
    read_labelled,
    read_texts,
    train_val_split,
)


def write(tmp_path, name, content, *, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_reads_csv_with_quotes_commas_and_newlines(tmp_path):
    path = write(tmp_path, "d.csv", 'text,label\n"a, quoted\nline",joy\nplain,sad\n\n  spaced  , joy \n')
    data = read_labelled(path)
    assert data.texts == ("a, quoted\nline", "plain", "spaced")
    assert data.labels == ("joy", "sad", "joy")
    assert data.label_names == ["joy", "sad"] and data.counts() == {"joy": 2, "sad": 1}


def test_reads_jsonl_and_tsv(tmp_path):
    rows = [{"text": "hello", "label": 1}, {"text": "你好", "label": 0}]
    data = read_labelled(
        write(tmp_path, "d.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    )
    assert data.texts == ("hello", "你好") and data.labels == ("1", "0")
    data = read_labelled(write(tmp_path, "d.tsv", "text\tlabel\nx, y\ta\nz\tb\n"))
    assert data.texts == ("x, y", "z")


def test_custom_column_names(tmp_path):
    data = read_labelled(
        write(tmp_path, "d.csv", "sentence,y\nhi,a\nho,b\n"), text_column="sentence", label_column="y"
    )
    assert data.texts == ("hi", "ho")


@pytest.mark.parametrize(
    ("name", "content", "line", "reason"),
    [
        ("d.csv", "sentence,label\nhi,a\n", 1, "missing column(s) ['text']"),
        ("d.csv", "text,label\nhi,a\n   ,b\n", 3, "empty text"),
        ("d.csv", "text,label\nhi,a\nho,\n", 3, "empty label"),
        ("d.csv", "text,label\nhi,a\nho\n", 3, "expected 2 fields"),
        ("d.csv", 'text,label\n"multi\nline",a\nx,\n', 4, "empty label"),
        ("d.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": \n', 2, "invalid JSON"),
        ("d.jsonl", '{"text": "a", "label": "x"}\n{"text": "b"}\n', 2, "missing key(s) ['label']"),
        ("d.jsonl", '{"text": ["a"], "label": "x"}\n', 1, "'text' must be a string"),
    ],
)
def test_errors_name_the_file_line_and_reason(tmp_path, name, content, line, reason):
    path = write(tmp_path, name, content)
    with pytest.raises(DataError) as err:
        read_labelled(path)
    assert err.value.line == line
    assert reason in err.value.reason
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_a_single_class_is_refused(tmp_path):
    with pytest.raises(DataError, match="only 1 class"):
        read_labelled(write(tmp_path, "d.csv", "text,label\na,x\nb,x\n"))
    assert len(read_labelled(write(tmp_path, "e.csv", "text,label\na,x\n"), min_classes=1)) == 1


def test_unreadable_encoding_reports_the_line(tmp_path):
    path = write(tmp_path, "d.csv", "text,label\nfine,a\ncaf\xe9,b\n".encode("latin-1"), mode="wb")
    with pytest.raises(DataError) as err:
        read_labelled(path)
    assert err.value.line == 3 and "not valid UTF-8" in err.value.reason


def test_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path, "d.csv", "\ufefftext,label\na,x\nb,y\n")
    assert read_labelled(path).texts == ("a", "b")


def test_missing_file_empty_file_and_unknown_type(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_labelled(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="empty"):
        read_labelled(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match="no rows"):
        read_labelled(write(tmp_path, "h.csv", "text,label\n"))
    with pytest.raises(DataError, match="unknown file type"):
        read_labelled(write(tmp_path, "d.xlsx", "x"))


def test_read_texts_from_txt_and_csv(tmp_path):
    assert read_texts(write(tmp_path, "u.txt", "one\n\n two \n")) == ["one", "two"]
    assert read_texts(write(tmp_path, "u.csv", "text,label\na,x\nb,y\n")) == ["a", "b"]


def _data(counts: dict[str, int]) -> LabelledData:
    pairs = [(f"{label} {i}", label) for label, n in counts.items() for i in range(n)]
    return LabelledData.from_pairs(pairs)


def test_train_val_split_is_stratified_disjoint_and_seeded():
    data = _data({"a": 50, "b": 10, "c": 1})
    train, val = train_val_split(data, 0.2, seed=3)
    assert Counter(val.labels) == {"a": 10, "b": 2}  # a class of one stays in training
    assert set(train.texts).isdisjoint(val.texts) and len(train) + len(val) == len(data)
    assert train_val_split(data, 0.2, seed=3)[1].texts == val.texts
    assert train_val_split(data, 0.2, seed=4)[1].texts != val.texts


def test_kshot_and_fraction():
    data = _data({"a": 50, "b": 20, "c": 3})
    assert Counter(kshot(data, 5, seed=0).labels) == {"a": 5, "b": 5, "c": 3}
    assert kshot(data, 5, seed=0).texts == kshot(data, 5, seed=0).texts
    assert kshot(data, 5, seed=0).texts != kshot(data, 5, seed=1).texts
    assert Counter(fraction(data, 0.2, seed=0).labels) == {"a": 10, "b": 4, "c": 1}


def test_imbalanced_subsample_decays_geometrically():
    data = _data({"a": 100, "b": 100, "c": 100})
    counts = Counter(imbalanced(data, 10, seed=0).labels)
    assert sorted(counts.values(), reverse=True) == [100, 31, 10]  # 100 * 10 ** (-r / 2)


def test_apply_setting_parses_the_benchmark_settings():
    data = _data({"a": 40, "b": 40})
    assert apply_setting(data, "full", 0) is data
    assert len(apply_setting(data, "kshot:3", 0)) == 6
    assert len(apply_setting(data, "fraction:0.25", 0)) == 20
    assert Counter(apply_setting(data, "imbalance:4", 0).labels)["b"] == 10
    chained = apply_setting(_data({"a": 200, "b": 200, "c": 200}), "fraction:0.5+imbalance:10", 0)
    assert sorted(Counter(chained.labels).values(), reverse=True) == [100, 31, 10]
    for bad in ("kshot:x", "fraction:2", "half", "full:1", "fraction:0.5+", "full+kshot:2"):
        with pytest.raises(ValueError):
            apply_setting(data, bad, 0)
