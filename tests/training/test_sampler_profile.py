"""tools/sampler_profile.py on a tiny MLM: it decodes under the profiler and prints the operator table."""

from tools.sampler_profile import main


def test_profile_prints_the_operators_of_a_decoding_call(tiny_mlm, english_csv, capsys):
    code = main(
        ["--base", str(tiny_mlm), "--texts", str(english_csv), "--device", "cpu", "--batch", "8"]
        + ["--rounds", "2", "--seq-len", "16", "--calls", "1", "--rows", "5"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "sampler on cpu: batch 8, K = 2, 1 calls profiled" in out
    assert "Self CPU" in out and "aten::" in out  # the table, with real operators in it
