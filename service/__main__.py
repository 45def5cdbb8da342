"""`python -m service`: serve the API with uvicorn on HOST:PORT (embedded mode without REDIS_URL)."""

from __future__ import annotations

import sys

USAGE = """usage: python -m service [--help]

Serves the API (/augment, /jobs, /classify, the playground at /) with uvicorn on HOST:PORT: embedded
mode (jobs run in this process) without REDIS_URL, Redis mode (jobs go to `python -m worker`) with it.
`bash scripts/run.sh` fits a checkpoint first and starts this."""


def main(argv: list[str] | None = None) -> int:
    from service.settings import Settings
    from worker.checkpoint_info import CheckpointInfoError, read_checkpoint_info
    from worker.settings import settings_from_environment

    settings, code = settings_from_environment(
        Settings, "service", USAGE, sys.argv[1:] if argv is None else argv
    )
    if settings is None:
        return code
    try:
        read_checkpoint_info(settings.checkpoint_dir)
    except CheckpointInfoError as err:
        print(f"service: {err}", file=sys.stderr)
        return 2
    import uvicorn

    from service.http_protocol import with_request_deadline
    from worker.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        http=with_request_deadline(settings.request_read_timeout_s, settings.http_parser),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Behind docker/a proxy the client address comes from X-Forwarded-For only when trusted.
        proxy_headers=False,
        # JSON logs: uvicorn's own lines (access log included) go through the root handler above;
        # plain logs keep uvicorn's familiar format.
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
