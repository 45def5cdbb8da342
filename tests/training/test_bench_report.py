from tests.conftest import png_size
from training.bench.report import load_results, render, sweep_points


def _result(methods):
    summary = [
        {
            "method": m,
            "seeds": 3,
            "macro_f1": 0.7 + 0.01 * i,
            "macro_f1_std": 0.01,
            "accuracy": 0.71,
            "accuracy_std": 0.02,
            "seconds": 60.0,
            **({"delta_macro_f1": 0.01 * i, "delta_accuracy": 0.0} if i else {}),
        }
        for i, m in enumerate(methods)
    ]
    config = {
        "data_dir": "/x/india_covid_x",
        "setting": "full",
        "base": "b",
        "seeds": [0, 1, 2],
        "test_split": "test",
        "classifier": {"epochs": 4},
        "n": 4,
        "max_test": None,
    }
    return {
        "config": config,
        "summary": summary,
        "runs": [],
        "seconds": 600,
        "command": "python -m training bench quality --x",
    }


def test_report_has_tables_commands_and_a_sweep_plot(tmp_path):
    import json

    sweep = _result(["none"] + [f"diffusioncls-g{g}" for g in range(1, 9)])
    (tmp_path / "sweep.json").write_text(json.dumps(sweep))
    (tmp_path / "main.json").write_text(json.dumps(_result(["none", "diffusioncls"])))
    results = load_results([tmp_path / "main.json", tmp_path / "sweep.json"])
    assert [p[0] for p in sweep_points(results[1])] == list(range(1, 9))
    out = render(results, tmp_path / "docs" / "RESULTS.md", intro="Numbers from this CPU.")
    text = out.read_text()
    assert text.count("## india_covid_x, setting `full`") == 2
    assert "python -m training bench quality --x" in text and "Numbers from this CPU." in text
    assert "| diffusioncls | 71.00 ± 1.00 | 71.00 ± 2.00 | +1.00 |" in text
    assert "![step-group sweep](sweep-sweep.png)" in text
    width, height = png_size(tmp_path / "docs" / "sweep-sweep.png")
    assert width > height > 200


def test_sweep_figure_plots_both_scores_per_group_and_the_baseline():
    from training.plots import sweep_figure

    points = [(g, 0.6 + 0.01 * g, 0.02, 0.7, 0.01) for g in range(1, 9)]
    figure = sweep_figure(points, "india: step-group sweep", baseline=(0.65, 0.72))
    axes = figure.axes[0]
    labels = [t.get_text() for t in axes.get_xticklabels()]
    assert labels[0] == "1-4" and labels[3] == "13-16" and len(labels) == 8
    dashed = [line for line in axes.lines if line.get_linestyle() == "--" and len(line.get_ydata())]
    assert sorted(round(line.get_ydata()[0], 6) for line in dashed) == [65.0, 72.0]  # the none baseline
    f1 = next(bars for bars in axes.containers if bars.get_label() == "macro-F1 (%)").lines[0]
    assert list(f1.get_xdata()) == list(range(1, 9)) and round(f1.get_ydata()[3], 6) == 64.0


def test_report_marks_a_partial_run_and_how_the_epoch_was_chosen(tmp_path):
    import json

    partial = {**_result(["none", "diffusioncls"]), "complete": False, "seeds_done": [0, 1]}
    partial["config"]["classifier"]["patience"] = 0
    (tmp_path / "partial.json").write_text(json.dumps(partial))
    text = render(load_results([tmp_path / "partial.json"]), tmp_path / "R.md").read_text()
    assert "seeds 0, 1 (partial: the run was stopped before the rest of 0, 1, 2)" in text
    assert "every epoch trained, the last weights kept" in text


def test_commands_of_a_merged_result_are_listed_one_per_line():
    from training.bench.report import _commands

    assert _commands("python -m training bench quality --a") == ["python -m training bench quality --a"]
    assert _commands(["c1", ["c2", "c3"], None]) == ["c1", "c2", "c3"]


def test_examples_show_the_first_seed_that_kept_some_each_rewrite_under_its_original():
    from training.bench.summary import format_examples

    def record(seed, method, examples):
        return {"seed": seed, "method": method, "samples": {"examples": examples}}

    ex = [{"label": "joy", "original": f"line {i}\n  spread", "text": f"new {i}"} for i in range(5)]
    runs = [
        {"seed": 0, "method": "none"},  # no pseudo samples, no examples
        record(2, "eda", ex),
        record(1, "diffusioncls", ex[:1]),
        record(1, "eda", ex),
    ]
    text = format_examples(runs, per_method=2)
    assert text.startswith("Pseudo samples beside their originals (seed 1, the first 2 kept per method):")
    assert text.count("```") == 4  # one block per method of seed 1, none for seed 2
    assert "`diffusioncls`\n\n```\njoy: line 0 spread\n  ->  new 0\n```" in text
    assert "new 1" in text and "new 2" not in text
    assert format_examples([{"seed": 0, "method": "none"}]) == ""


def test_a_quality_result_page_has_the_table_the_verdict_and_the_samples(tmp_path):
    from training.bench.summary import summarise
    from training.cli.bench import _write_quality

    def record(seed, method, f1, examples=()):
        gold = [0, 1, 0, 1]
        return {
            "seed": seed,
            "method": method,
            "macro_f1": f1,
            "accuracy": f1,
            "n_classes": 2,
            "gold": gold,
            # none says 0 throughout (macro-F1 (2/3 + 0) / 2), diffusioncls gets every one right
            "predictions": [0, 0, 0, 0] if method == "none" else gold,
            "seconds": 1.0,
            **({"samples": {"examples": list(examples)}} if examples else {}),
        }

    example = {"label": "pos", "original": "a fine film", "text": "a lovely film"}
    runs = [
        record(s, m, f1, [example] if m == "diffusioncls" else ())
        for s in (0, 1)
        for m, f1 in (("none", 1 / 3), ("diffusioncls", 1.0))
    ]
    config = {
        "data_dir": "/x/sst2",
        "setting": "kshot:10",
        "seeds": [0, 1],
        "base": "b",
        "test_split": "dev",
        **{"proxy": {"epochs": 30}, "generator": {"epochs": 10}, "classifier": {"epochs": 30}},
        **{"n": 4, "regenerate_every": 5},
    }
    out = tmp_path / "r.json"
    _write_quality(
        {
            "config": config,
            "runs": runs,
            "summary": summarise(runs, ["none", "diffusioncls"]),
            "seconds": 60.0,
        },
        str(out),
    )
    page = (tmp_path / "r.md").read_text()
    assert page.startswith(
        "sst2, setting kshot:10, seeds 0,1, base b, evaluated on dev.csv (1.0 min); budget: proxy 30 "
        "epochs, generator 10, classifier 30, 4 pseudo samples per original regenerated every 5 epoch(s)\n"
    )
    assert "| kshot:10 | 2 | +66.67 [" in page  # the verdict row: diffusioncls - none, paired by seed
    assert "pos: a fine film\n  ->  a lovely film" in page


def test_generations_are_summed_per_method_with_shares_of_the_requested():
    from training.bench.summary import format_generations

    def generation(requested, decoded, flagged, kept):
        return {
            "epoch": 1,
            "requested": requested,
            "decoded": decoded,
            "returned": requested,
            "flagged": flagged,
            "kept": kept,
        }

    runs = [
        {"seed": 0, "method": "none"},
        {"seed": 0, "method": "topup", "generations": [generation(10, 14, 1, 10), generation(10, 12, 0, 10)]},
        {"seed": 1, "method": "topup", "generations": [generation(20, 30, 3, 20)]},
        {"seed": 0, "method": "filter", "generations": [generation(40, 40, 0, 30)]},
    ]
    text = format_generations(runs)
    # topup: 40 requested, 14 + 12 + 30 = 56 decoded (140%), 4 flagged (10%), 40 kept (100%)
    assert "| topup | 40 | 56 (140%) | 4 (10%) | 40 (100%) |" in text
    assert "| filter | 40 | 40 (100%) | 0 (0%) | 30 (75%) |" in text
    assert "| none |" not in text
    assert format_generations([{"seed": 0, "method": "none"}]) == ""
