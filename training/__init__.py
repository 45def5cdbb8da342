"""DiffusionCLS training package: data, noise schedule, generator, sampler, classifier, checkpoints."""

__version__ = "0.1.0"
