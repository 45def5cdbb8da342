"""The pure helpers of tools/service_bench/ (the load test itself needs a whole deployment)."""

from tools.service_bench.rss import second_half_growth_pct, thin


def test_thin_keeps_every_kth_value_and_the_last():
    assert thin(list(range(10)), 4) == [0, 3, 6, 9]
    assert thin(list(range(11)), 4) == [0, 3, 6, 9, 10]  # the last reading is never dropped
    assert thin([1, 2], 5) == [1, 2]


def test_second_half_growth_compares_median_readings_of_the_middle_and_the_end():
    # 0-10 s: rises from 100 to 110 MiB, then flat at 110 with one low reading (a job's buffers freed)
    levelled = [(float(t), min(110.0, 100.0 + t)) for t in range(11)] + [
        (float(t), 110.0) for t in range(11, 21)
    ]
    levelled[19] = (19.0, 90.0)
    assert second_half_growth_pct(levelled, 20.0) == 0.0  # medians of 8-12 s and 18-20 s: 110 and 110
    growing = [(float(t), 100.0 + 2 * t) for t in range(21)]
    assert second_half_growth_pct(growing, 20.0) == 15.0  # medians 120 (8-12 s) -> 138 (18-20 s)
    assert second_half_growth_pct([], 10.0) is None and second_half_growth_pct(growing, None) is None
