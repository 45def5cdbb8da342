"""schemathesis's own CLI against a live service, as an outside user would run it.

A real `python -m service` (uvicorn) in Redis mode with an API key, one real `python -m worker`, the
schema read from the running server and used unpatched. Every check schemathesis has, and every
phase: examples, coverage, fuzzing and the stateful phase, which follows the OpenAPI links of
`POST /augment` (GetJob, CancelJob) from accepted jobs to their routes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.conftest import ApiProcess

KEY = "schemathesis-live-key-0123456789"
# CI runs a bounded pass (about 600 requests in 20 s); SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_SEED=...
# runs a longer one against the same live setup
EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "15")
SEED = os.environ.get("SCHEMATHESIS_SEED", "7")


def test_schemathesis_cli_finds_nothing_against_a_live_redis_service(
    tiny_checkpoint, redis_url, queue_name, start_worker, tmp_path
):
    cli = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(cli).exists():
        pytest.fail("the schemathesis CLI is not installed (it comes with the dev extras)")
    worker = start_worker(queue_name)
    api = ApiProcess(
        tiny_checkpoint, tmp_path / "api.log", REDIS_URL=redis_url, QUEUE_NAME=queue_name, API_KEY=KEY
    )
    report = tmp_path / "report.json"
    try:
        api.wait_ready()
        worker.wait_registered()
        proc = subprocess.run(
            [
                cli, "run", f"{api.url}/openapi.json",
                "--checks", "all",
                "-H", f"X-API-Key: {KEY}",
                "--max-examples", EXAMPLES,
                "--seed", SEED,
                "--generation-database", "none",
                "--request-timeout", "30",
                "--workers", "1",
                "--report", "json", "--report-json-path", str(report),
                "--no-color",
            ],
            cwd=tmp_path,  # schemathesis keeps a cache folder in its working directory
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"},
        )  # fmt: skip
    finally:
        api.stop()
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    body = json.loads(report.read_text())
    assert body["complete"] and not body["failures"] and not body["errors"], output[-6000:]
    assert {name: phase["status"] for name, phase in body["phases"].items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    assert not any(body["warnings"].values()), body["warnings"]  # e.g. a pattern it could not use
    assert body["operations"]["tested"] == body["operations"]["total"] == 8
    # requests that got through to a job (the rest were rightly refused or rate-limited)
    assert body["valid_rates"]["POST /augment"]["fuzzing"]["accepted"] > 0
    links = re.search(r"API Links:\s+(\d+) covered / \d+ selected / (\d+) total", output)
    assert links and links.group(1) == links.group(2) and int(links.group(2)) >= 2, output[-3000:]
