"""The per-label inserted-word figures of tools.inserted_words, on hand-made outputs."""

from tools.inserted_words import label_rows


def test_label_rows_pool_inserted_words_per_label():
    originals = ["The storm hit the roof.", "We won the cup.", "Rain fell all night."]
    outputs = [
        (0, "The rain hit the house.", "fear", "fear"),  # inserts rain, house
        (2, "Rain hit the house all night.", "fear", "joy"),  # inserts hit, house ("the" is a function word)
        (1, "We loved the cup.", "joy", "joy"),  # inserts loved
    ]
    rows = label_rows(originals, outputs)
    assert list(rows) == ["fear", "joy"]
    fear = rows["fear"]
    assert fear["outputs"] == 2 and fear["classifier_agrees"] == 0.5
    assert fear["top_inserted"][0] == ("house", 2)  # in both fear outputs
    assert fear["stock_share"] == 1.0
    assert rows["joy"]["top_inserted"] == [("loved", 1)] and rows["joy"]["classifier_agrees"] == 1.0
    # distinct-2 of the fear outputs: 5 + 6 bigrams (the full stop is a token, case folded), of which
    # "rain hit", "hit the" and "the house" come twice: 8 distinct of 11
    assert abs(fear["distinct_2"] - 8 / 11) < 1e-9
