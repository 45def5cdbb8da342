"""Worker entry point: `python -m worker` (or `python -m worker.main`).

Loads the checkpoint once, then runs the rq work loop on the queue named by QUEUE_NAME at REDIS_URL.
SIGTERM/SIGINT finish the current job first (rq's warm shutdown); a second one stops at once.
"""

from __future__ import annotations

import importlib
import logging
import sys

USAGE = """usage: python -m worker [--help]

Loads the checkpoint once, then runs augmentation jobs from the Redis queue QUEUE_NAME at REDIS_URL
(started by the API in Redis mode; embedded mode needs no worker)."""


def main(argv: list[str] | None = None) -> int:
    from worker.settings import WorkerSettings, settings_from_environment

    settings, code = settings_from_environment(
        WorkerSettings, "worker", USAGE, sys.argv[1:] if argv is None else argv
    )
    if settings is None:
        return code
    from worker.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    if not settings.redis_url:
        print(
            "worker: REDIS_URL is not set; the worker serves a Redis queue (embedded mode needs no worker)",
            file=sys.stderr,
        )
        return 2

    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue
    from rq.serializers import JSONSerializer

    from worker import runtime
    from worker.checkpoint_info import CheckpointInfoError
    from worker.rq_worker import serve

    connection = Redis.from_url(settings.redis_url)
    try:
        connection.ping()  # fail fast on a wrong URL, before spending time on the model
        loaded = runtime.ModelRuntime.load(
            settings.checkpoint_dir,
            device=settings.device,
            purpose="augment",
            torch_threads=settings.torch_threads,
            classify_quantize=settings.classify_quantize,
        )
    except RedisConnectionError as err:
        print(f"worker: cannot reach Redis at REDIS_URL: {err}", file=sys.stderr)
        return 2
    except (CheckpointInfoError, OSError, ValueError) as err:
        print(f"worker: cannot load the checkpoint: {err}", file=sys.stderr)
        return 2
    runtime.install(loaded)
    importlib.import_module("worker.jobs")  # imported now, not by the first job: it starts at once
    if settings.metrics_port:
        from worker.metrics import serve_metrics

        serve_metrics(settings.metrics_port)
    queue = Queue(settings.queue_name, connection=connection, serializer=JSONSerializer)
    return serve(lambda: _make_worker(queue, connection, settings), connection, settings.log_level.upper())


def _make_worker(queue, connection, settings):
    from rq.serializers import JSONSerializer

    from worker.rq_worker import ModelWorker

    worker = ModelWorker(
        [queue],
        connection=connection,
        serializer=JSONSerializer,
        heartbeat_s=settings.heartbeat_s,
        # An idle worker wakes every ~60 s to clean the registries (abandoned jobs of dead workers).
        worker_ttl=75,
        maintenance_interval=60,
    )
    logging.getLogger(__name__).info("worker %s ready on queue %r", worker.name, settings.queue_name)
    return worker


if __name__ == "__main__":
    sys.exit(main())
