"""Fuzzing: schemathesis generates requests from the app's own OpenAPI schema, valid and invalid.

No answer may be a 5xx, and every answer must match the schema: a documented status, the documented
content type and a body that validates (the error shape included). Bounded and deterministic: a fixed
number of examples per operation, derandomized, no example database; about 600 requests in all.

What runs: every operation of the schema (schema-valid requests for each; schema-violating ones for the
four that take input), in embedded mode on the tiny checkpoint, with the API key on and sent. /classify
runs the real classifier. Augment jobs go to a stand-in job function that only checks the payload
against the worker's contract (`AugmentPayload`): a fuzzed request that got through would otherwise
start a real job of up to 256 items. Random labels are unknown to the checkpoint, so the schema fuzz
seldom gets that far; `test_any_text_with_a_known_label_is_refused_clearly_or_served` (hypothesis,
real job function) covers accepted requests with arbitrary Unicode texts.

Checks left out here, and why: `positive_data_acceptance` and the checks that re-send requests on
their own (`ignored_auth`, `use_after_free`, `ensure_resource_availability`) need schemathesis's own
transport, which would start a second lifespan of the app. All of them run, with every other check,
in `test_schemathesis_live.py`: schemathesis's CLI against a live service.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from tests.service.conftest import client_for, finished, make_settings, wait_ready, wait_status
from worker.contracts import AugmentPayload

KEY = "fuzz-test-key-0123456789"
EXAMPLES = 50  # per operation and mode (12 runs, at most 600 requests)
OPERATIONS = [
    "POST /augment",
    "GET /jobs/{job_id}",
    "POST /jobs/{job_id}/cancel",
    "POST /classify",
    "GET /healthz",
    "GET /readyz",
    "GET /info",
    "GET /metrics",
]


def negative_data_rejection(ctx, response, case):
    """schemathesis's check, with 413 counted as a refusal too: the API answers a request over a
    count limit written in the schema (maxItems from MAX_ITEMS / MAX_CLASSIFY_TEXTS) with 413, as it
    answers a body over MAX_BODY_BYTES."""
    if response.status_code == 413:
        return None
    return checks.negative_data_rejection(ctx, response, case)


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    negative_data_rejection,
]


def contract_only(payload: dict[str, Any]) -> dict[str, Any]:
    request = AugmentPayload.model_validate(payload)
    return {
        "method": request.method,
        "outputs": [],
        "shortfalls": [],
        "stats": {"requested": 0, "produced": 0},
    }


@pytest.fixture(scope="module")
def fuzz_client(tiny_checkpoint):
    settings_ = make_settings(tiny_checkpoint, api_key=KEY)
    with client_for(settings_, job_function=contract_only) as client:
        wait_ready(client)
        yield client


@pytest.fixture(scope="module")
def operations(fuzz_client) -> dict[str, Any]:
    schema = schemathesis.openapi.from_dict(fuzz_client.get("/openapi.json").json())
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


def test_every_operation_is_fuzzed(operations):
    assert sorted(operations) == sorted(OPERATIONS)


# Invalid requests only where there is an input to get wrong: the other routes take none.
RUNS = [(label, GenerationMode.POSITIVE) for label in OPERATIONS] + [
    (label, GenerationMode.NEGATIVE) for label in OPERATIONS[:4]
]


@pytest.mark.parametrize(("label", "mode"), RUNS, ids=[f"{label} {mode}" for label, mode in RUNS])
def test_no_server_errors_and_answers_match_the_schema(fuzz_client, operations, label, mode):
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    # With the right key, so the fuzz reaches past auth; the key itself: test_bad_input.py.
    @given(case=operations[label].as_strategy(generation_mode=mode, headers={"X-API-Key": KEY}))
    def fuzz(case):
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        response = fuzz_client.request(**_httpx(kwargs))
        case.validate_response(response, checks=CHECKS)

    fuzz()


@pytest.fixture(scope="module")
def real_jobs(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, max_text_chars=200)) as client:
        wait_ready(client)
        yield client


LABELS = ["anger", "joy", "sad"]  # the tiny checkpoint's


@settings(
    max_examples=20, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    # Any code point but controls (refused, test_bad_input.py) and surrogates (not encodable): other
    # scripts, emoji, combining marks, zero-width and private-use characters, odd whitespace.
    texts=st.lists(
        st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=60),
        min_size=1,
        max_size=6,
    ),
    method=st.sampled_from(["diffusioncls", "eda", "aeda", "mlm_substitution"]),
)
def test_any_text_with_a_known_label_is_refused_clearly_or_served(real_jobs, texts, method):
    """Arbitrary Unicode texts (any code point but surrogates) with known labels, through the real job
    function: a 422 saying which texts break the text rules, or a job that succeeds with n new texts
    or a reported shortfall per item. The schema fuzz above seldom gets this far (random labels)."""
    items = [{"text": text, "label": LABELS[i % 3]} for i, text in enumerate(texts)]
    response = real_jobs.post("/augment", json={"items": items, "n": 1, "method": method, "seed": 2})
    if response.status_code == 422:
        details = response.json()["error"]["details"]
        assert details["reason"] == "empty", response.text  # nothing visible: whitespace or format characters
        return
    assert response.status_code == 202, response.text
    view = wait_status(real_jobs, response.json()["id"], finished)
    assert view["status"] == "succeeded", view
    result = view["result"]
    assert len(result["outputs"]) + sum(s["requested"] - s["produced"] for s in result["shortfalls"]) == len(
        texts
    )


def _httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """requests-style keyword arguments -> httpx's."""
    out = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params", "cookies", "json")}
    if kwargs.get("data") is not None:
        data = kwargs["data"]
        out["content" if isinstance(data, bytes | str) else "data"] = data
    unknown = set(kwargs) - {"method", "url", "headers", "params", "cookies", "json", "data"}
    assert not unknown or all(kwargs[k] in (None, {}, False) for k in unknown), unknown
    return out
