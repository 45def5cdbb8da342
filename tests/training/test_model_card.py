from training.model_card import has_curves, model_card
from training.plots import curves_figure


def settings(histories):
    return {"labels": ["a", "b"], "components": ["generator"], "data": {}, "sampler": {}, **histories}


def _lines(figure):
    """(legend label, x values, y values) of every plotted line, on every axis of the figure."""
    return [
        (line.get_label(), list(line.get_xdata()), list(line.get_ydata()))
        for ax in figure.axes
        for line in ax.lines
    ]


def test_curves_draw_one_line_per_series_with_one_point_per_epoch():
    body = settings(
        {
            "generator": {
                "history": [
                    {"epoch": 1, "train_loss": 5.0, "val_loss": 5.5},
                    {"epoch": 2, "train_loss": 4.0, "val_loss": 5.2},
                ]
            },
            "proxy": {
                "history": [{"epoch": e, "train_loss": 1.0 / e, "val_macro_f1": 0.1 * e} for e in (1, 2, 3)]
            },
        }
    )
    figure = curves_figure(body)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["proxy", "generator"]
    lines = _lines(figure)
    assert len(lines) == 4  # two components x two series, each on its own y axis
    assert ("train loss: 5.000 → 4.000", [1, 2], [5.0, 4.0]) in lines
    assert ("val macro-F1: 0.100 → 0.300", [1, 2, 3], [0.1, 0.2, 0.30000000000000004]) in lines


def test_no_history_no_curves_and_the_card_says_so():
    body = settings({"generator": {"history": []}})
    assert curves_figure(body) is None and not has_curves(body)
    card = model_card(body, "mine")
    assert "# mine" in card and "training-curves" not in card


def test_confusion_figure_shades_rows_and_labels_every_cell_with_its_count():
    from training.plots import confusion_figure

    figure = confusion_figure(["anger", "joy"], [[3, 1], [0, 4]], "classifier on test.csv")
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.texts] == ["3", "1", "0", "4"]  # row by row
    shares = axes.images[0].get_array()
    assert shares.tolist() == [[0.75, 0.25], [0.0, 1.0]]  # each cell's share of its gold row
    assert axes.get_xlabel() == "predicted" and axes.get_ylabel() == "gold"


def test_the_card_says_which_rounds_are_guided():
    def card(sampler):
        return model_card({**settings({}), "sampler": {"guidance_scale": 5.0, **sampler}}, "m")

    assert "guidance 5.0 (every round)" in card({})  # fitted before the knob: every round
    assert "guidance 5.0 (the first 2 rounds)" in card({"guided_rounds": 2})
    assert "no guidance" in card({"guidance_scale": 1.0, "guided_rounds": 2})
    assert "every round" not in card({"guidance_scale": 1.0})


def test_the_card_says_which_classifier_validation_chose():
    candidates = [
        {"name": "pseudo samples + originals, cross-entropy + 1 x Lc", "val_macro_f1": 0.5},
        {"name": "originals only, cross-entropy alone", "val_macro_f1": 0.75},
    ]
    choice = {"candidates": candidates, "kept": 1}
    card = model_card(settings({"classifier": {"classifier_choice": choice}}), "m")
    assert (
        "- Classifier, chosen on validation macro-F1 (pseudo samples + originals, cross-entropy + 1 x Lc "
        "0.5000; originals only, cross-entropy alone 0.7500): originals only, cross-entropy alone\n"
    ) in card
    assert "chosen on validation" not in model_card(settings({"classifier": {}}), "m")  # no choice made


def test_the_card_gives_the_temperature_of_the_judge_that_scores():
    cal = {"temperature": 3.1623, "nll": [1.5, 0.75], "ece": [0.3, 0.05]}
    line = (
        "- Probabilities (/classify, `label_prob`): logits divided by 3.16, fitted on validation "
        "(NLL 1.500 -> 0.750, ECE 0.300 -> 0.050)\n"
    )
    assert line in model_card(settings({"classifier": {"calibration": cal}}), "m")
    assert line in model_card(settings({"proxy": {"calibration": cal}}), "m")  # no classifier: the proxy's
    assert "logits divided" not in model_card(settings({"classifier": {}}), "m")  # written before calibration
