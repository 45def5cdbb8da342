"""Where augment jobs run, behind one interface: a Redis/rq queue, or in this process (embedded).

Both run the same job function (`worker.jobs.augment`) and report the same statuses, moved by one
state machine (`service.queue.states`): queued -> running -> succeeded | failed | canceled. The
embedded backend exists so that one user on one machine needs no Redis.
"""

from service.queue.base import BackendUnavailable, IdempotencyConflict, JobBackend, JobSettings, QueueFull
from service.queue.embedded import EmbeddedBackend
from service.queue.redis_backend import RedisBackend

__all__ = [
    "BackendUnavailable",
    "EmbeddedBackend",
    "IdempotencyConflict",
    "JobBackend",
    "JobSettings",
    "QueueFull",
    "RedisBackend",
]
