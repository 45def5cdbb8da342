"""The REST API: validates requests, enqueues augment jobs, reads job state, classifies texts.

Imports `worker` (contracts, runtime), never `training`; the augment path loads no torch.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("diffusioncls-augment")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
