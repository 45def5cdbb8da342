"""A client generated from the live OpenAPI document by `openapi-python-client`, used end to end.

The document is read from a running `python -m service` (uvicorn, API key on), the client generated
into a temporary package, and then used as a user would: submit a job, wait for it, read typed
outputs (provenance and stats included) and read typed errors. One `isinstance` per call tells
success from the error body; nothing else needs a cast.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import ApiProcess

KEY = "generated-client-key-0123456789"
PACKAGE = "dcls_generated_client"


def test_a_generated_client_submits_waits_and_reads_typed_results_and_errors(tiny_checkpoint, tmp_path):
    generator = shutil.which("openapi-python-client") or str(
        Path(sys.executable).with_name("openapi-python-client")
    )
    if not Path(generator).exists():
        pytest.fail("openapi-python-client is not installed (it comes with the dev extras)")
    api = ApiProcess(tiny_checkpoint, tmp_path / "api.log", API_KEY=KEY)
    try:
        api.wait_ready()
        schema = tmp_path / "openapi.json"
        schema.write_bytes(httpx.get(f"{api.url}/openapi.json", timeout=30).content)
        subprocess.run(
            [generator, "generate", "--path", str(schema), "--meta", "none",
             "--output-path", str(tmp_path / PACKAGE)],
            cwd=tmp_path, check=True, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        sys.path.insert(0, str(tmp_path))
        try:
            _use_the_client(api.url)
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
                del sys.modules[name]
    finally:
        api.stop()


def _use_the_client(url: str) -> None:
    client_module = importlib.import_module(PACKAGE)
    models = importlib.import_module(f"{PACKAGE}.models")
    augment = importlib.import_module(f"{PACKAGE}.api.augment.augment")
    get_job = importlib.import_module(f"{PACKAGE}.api.jobs.get_job")
    classify = importlib.import_module(f"{PACKAGE}.api.classify.classify")
    client = client_module.AuthenticatedClient(
        base_url=url, token=KEY, prefix="", auth_header_name="X-API-Key", raise_on_unexpected_status=True
    )
    with client:
        request = models.AugmentRequest(
            items=[
                models.Item(text="What a lovely sunny day", label="joy"),
                models.Item(text="I am so angry about the delay", label="anger"),
            ],
            n=2,
            seed=3,
        )
        accepted = augment.sync(client=client, body=request)
        assert isinstance(accepted, models.JobAccepted), accepted
        deadline = time.monotonic() + 120
        view = get_job.sync(accepted.id, client=client)
        while isinstance(view, models.JobView) and view.status.value not in (
            "succeeded",
            "failed",
            "canceled",
        ):
            assert time.monotonic() < deadline, view
            time.sleep(0.2)
            view = get_job.sync(accepted.id, client=client)
        assert isinstance(view, models.JobView) and view.status == models.JobViewStatus.SUCCEEDED, view
        result = view.result
        assert isinstance(result, models.AugmentJobResult)
        assert result.stats.requested == 4 and result.stats.produced == len(result.outputs)
        for output in result.outputs:
            assert isinstance(output.provenance, models.DiffusionProvenance)  # the method asked for
            assert output.provenance.seed == 3 and 1 <= output.provenance.step <= 32
            assert 0.0 <= output.label_prob <= 1.0 and output.label in ("joy", "anger")
        # typed errors: a label the checkpoint does not know, a job that does not exist
        refused = augment.sync(
            client=client,
            body=models.AugmentRequest(items=[models.Item(text="Some text", label="nonexistent")]),
        )
        assert isinstance(refused, models.ErrorBody) and refused.error.type_ == "invalid_request"
        assert "nonexistent" in refused.error.message
        missing = get_job.sync("0" * 32, client=client)
        assert isinstance(missing, models.ErrorBody) and missing.error.type_ == "not_found"
        labelled = classify.sync(client=client, body=models.ClassifyRequest(texts=["What a lovely day"]))
        assert isinstance(labelled, models.ClassifyResponse)
        assert labelled.results[0].label in ("joy", "anger", "sad")
