from training.model_card import curves_svg, model_card


def settings(histories):
    return {"labels": ["a", "b"], "components": ["generator"], "data": {}, "sampler": {}, **histories}


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
    svg = curves_svg(body)
    assert svg.startswith("<svg") and svg.count("<polyline") == 4 and svg.count("<circle") == 2 * 2 + 3 * 2
    assert "train loss: 5.000 → 4.000" in svg and "val macro-F1: 0.100 → 0.300" in svg


def test_no_history_no_curves_and_the_card_says_so():
    body = settings({"generator": {"history": []}})
    assert curves_svg(body) == ""
    card = model_card(body, "mine")
    assert "# mine" in card and "training-curves.svg" not in card
