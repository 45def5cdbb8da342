"""`python -m training augment --method ...` end to end for the classic methods (separate processes)."""

import json

from tests.training.test_cli import read_rows, run_cli

IMBALANCED = (
    "text,label\nThe movie was great today!,joy\nThe show was lovely again!,joy\n"
    "The trip was happy tonight!,joy\nOur team was rude again!,anger\n"
)


def test_eda_without_a_checkpoint(english_csv, tmp_path):
    out = tmp_path / "eda.csv"
    proc = run_cli(
        "augment", "--method", "eda", "--param", "alpha=0.2", "--param", "wordnet=none",
        "--input", english_csv, "--out", out, "--n", "2", "--limit", "10", "--seed", "3", "--quiet",
    )  # fmt: skip
    summary = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])
    assert summary["method"] == "eda" and summary["requested"] == summary["produced"] == 20
    rows = read_rows(out)
    sources = read_rows(english_csv)[:10]
    assert len(rows) == 20
    for row in rows:
        source = sources[int(row["source_index"])]
        assert row["method"] == "eda" and row["seed"] == "3" and row["try"].isdigit()
        assert row["source_text"] == source["text"] and row["label"] == source["label"]
        assert row["text"] != source["text"]
        details = json.loads(row["details"])
        assert details["operation"] in ("ri", "rs", "rd") and details["synonym_source"] is None
        assert row["label_prob"] == "" and row["step"] == ""  # what does not apply stays empty


def test_mlm_substitution_with_the_balanced_policy(tiny_mlm, tmp_path):
    data = tmp_path / "imbalanced.csv"
    data.write_text(IMBALANCED)
    out = tmp_path / "mlm.jsonl"
    run_cli(
        "augment", "--method", "mlm_substitution", "--base", tiny_mlm, "--top-k", "5",
        "--input", data, "--out", out, "--policy", "bd", "--quiet",
    )  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["label"] for r in rows] == ["anger", "anger"]
    for r in rows:
        assert r["method"] == "mlm_substitution" and r["text"] != r["source_text"]
        assert r["masked_positions"] and 0 < r["mask_ratio"] <= 1 and r["details"]["top_k"] == 5


def test_method_errors_exit_2_with_a_reason(english_csv, tmp_path):
    proc = run_cli(
        "augment", "--method", "aeda", "--param", "ratio=2", "--steps", "13-16",
        "--input", english_csv, "--out", tmp_path / "o.csv", check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "--steps does not apply to method 'aeda'" in proc.stderr
    proc = run_cli(
        "augment",
        "--method",
        "mlm_substitution",
        "--input",
        english_csv,
        "--out",
        tmp_path / "o.csv",
        check=False,
    )
    assert proc.returncode == 2 and "mlm_substitution needs --base" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_a_checkpoint_scores_the_outputs_of_a_classic_method(tiny_checkpoint, english_csv, tmp_path):
    out = tmp_path / "aeda.csv"
    proc = run_cli(
        "augment", "--method", "aeda", "--checkpoint", tiny_checkpoint,
        "--input", english_csv, "--out", out, "--n", "1", "--limit", "6", "--quiet",
    )  # fmt: skip
    summary = json.loads(proc.stdout[: proc.stdout.rindex("}") + 1])
    assert summary["produced"] == 6 and 0 <= summary["label_agreement"] <= 1
    for row in read_rows(out):
        assert row["method"] == "aeda" and 0 <= float(row["label_prob"]) <= 1 and row["predicted_label"]
