"""The pure helpers of tools/service_bench.py (the load test itself needs a whole deployment)."""

from tools.service_bench import second_half_growth_pct, thin


def test_thin_keeps_every_kth_value_and_the_last():
    assert thin(list(range(10)), 4) == [0, 3, 6, 9]
    assert thin(list(range(11)), 4) == [0, 3, 6, 9, 10]  # the last reading is never dropped
    assert thin([1, 2], 5) == [1, 2]


def test_second_half_growth_is_measured_from_the_middle_of_the_burst_to_its_end():
    levelled = [(0.0, 100.0), (4.9, 110.0), (10.0, 110.0)]
    growing = [(0.0, 100.0), (5.0, 200.0), (10.0, 206.0)]
    assert second_half_growth_pct(levelled, 10.0) == 0.0  # rose early, then flat
    assert second_half_growth_pct(growing, 10.0) == 3.0  # 200 -> 206 MiB
    assert second_half_growth_pct([], 10.0) is None and second_half_growth_pct(growing, None) is None
