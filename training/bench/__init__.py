"""Benchmarks of the augmenters: diversity and label-consistency metrics (pure functions)."""
