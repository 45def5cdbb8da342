"""The test split of a quality run: a file of the dataset folder, or a held-out share of train.csv
(`--test-split holdout:0.2`, for data that comes without a test file)."""

HOLDOUT_PREFIX = "holdout:"
HOLDOUT_SEED = 0  # one test split for every seed of a run, so that seeds pair on the same texts


def holdout_share(test_split: str) -> float | None:
    """The share of train.csv that `--test-split holdout:<share>` holds out, or None for a file name."""
    if not test_split.startswith(HOLDOUT_PREFIX):
        return None
    try:
        share = float(test_split[len(HOLDOUT_PREFIX) :])
    except ValueError:
        share = float("nan")
    if not 0.0 < share < 1.0:
        raise ValueError(f"--test-split {test_split!r}: the held-out share must be a number in (0, 1)")
    return share


def test_split_name(test_split: str) -> str:
    """What a result page calls the data it was scored on: a file, or the held-out share of train.csv."""
    share = holdout_share(test_split)
    return f"{test_split}.csv" if share is None else f"{share:.0%} of train.csv held out (stratified)"
