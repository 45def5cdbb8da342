"""Faults an outside check found: secrets in the access log, the Allow header, empty warnings."""

from __future__ import annotations

import logging
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from service.redact import MASK, RedactingFilter, install_access_log_redaction, redact_url
from service.texts import text_pattern
from tests.service.conftest import client_for, make_settings

KEY = "k" * 8 + "secret-value-123"


def test_redact_url_masks_credential_parameters_and_the_key():
    assert redact_url("/info?api_key=abc&n=2") == f"/info?api_key={MASK}&n=2"
    assert redact_url("/x?Access_Token=t1&TOKEN=t2&q=ok") == f"/x?Access_Token={MASK}&TOKEN={MASK}&q=ok"
    assert redact_url("/x?sig=abc", extra_names=["SIG"]) == f"/x?sig={MASK}"
    assert redact_url(f"/jobs/{KEY}?a=1", secrets=[KEY]) == f"/jobs/{MASK}?a=1"
    assert redact_url("/x?flag&n=1") == "/x?flag&n=1"
    assert redact_url("/healthz") == "/healthz"


def test_access_log_records_are_redacted_as_uvicorn_writes_them(tiny_checkpoint, caplog):
    with client_for(make_settings(tiny_checkpoint, api_key=KEY), load_models=False):
        logger = logging.getLogger("uvicorn.access")
        assert any(isinstance(f, RedactingFilter) for f in logger.filters)
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            # uvicorn's access record: '%s - "%s %s HTTP/%s" %d' with (client, method, path, version, status)
            logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", f"/info?api_key={KEY}", "1.1", 401)
        assert KEY not in caplog.text and f"api_key={MASK}" in caplog.text
    install_access_log_redaction()  # leave a filter without this test's key


def test_405_names_every_method_of_the_path(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        for method in ("PUT", "PATCH", "POST", "DELETE"):
            response = client.request(method, "/jobs/" + "0" * 32)
            assert response.status_code == 405
            assert response.headers["allow"] == "GET", response.headers
            assert response.json()["error"]["details"]["allowed"] == ["GET"]
        for method in ("GET", "DELETE"):
            assert client.request(method, "/jobs/" + "0" * 32 + "/cancel").headers["allow"] == "POST"
        assert client.put("/augment").headers["allow"] == "POST"


def test_progress_warning_names_the_error_even_when_its_text_is_empty(caplog):
    from worker.control import RqJobContext

    class Connection:
        def eval(self, *args):
            raise TimeoutError()

    class Job:
        id = "job-1"
        key = "rq:job:job-1"
        meta: dict = {}
        timeout = None
        connection = Connection()

        class serializer:  # noqa: N801 (rq's attribute name)
            dumps = staticmethod(repr)

    context = RqJobContext(Job())
    with caplog.at_level(logging.WARNING, logger="worker.control"):
        context.report_progress(1, 2)
    assert "progress of job job-1 not saved: TimeoutError" in caplog.text


def test_operation_ids_are_the_names_a_generated_client_should_have(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        schema = client.get("/openapi.json").json()
    ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert ids == {"augment", "get_job", "cancel_job", "classify", "healthz", "readyz", "info", "metrics"}


def test_a_404_does_not_echo_a_huge_id_back(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        response = client.get("/jobs/" + "a" * 10_000)
        assert response.status_code == 404
        message = response.json()["error"]["message"]
        assert len(message) < 300 and "a" * 40 + "..." in message, message
        assert (
            "0" * 32 in client.get("/jobs/" + "0" * 32).json()["error"]["message"]
        )  # a real id is shown whole


def test_the_schema_carries_the_checkpoints_labels_the_methods_and_the_limits(tiny_checkpoint):
    settings = make_settings(tiny_checkpoint, max_items=7, max_text_chars=99, max_n=5, max_classify_texts=3)
    with client_for(settings, load_models=False) as client:
        schema = client.get("/openapi.json").json()
        info = client.get("/info").json()
    models = schema["components"]["schemas"]
    rules = {
        rule["if"]["properties"].get("method", {}).get("const"): rule["then"]["properties"]
        for rule in models["AugmentRequest"]["allOf"]
    }
    diffusion_labels = rules["diffusioncls"]["items"]["items"]["properties"]["label"]["enum"]
    assert diffusion_labels == info["model"]["labels"] == ["anger", "joy", "sad"]
    assert "enum" not in models["Item"]["properties"]["label"]  # classic methods take any label
    assert rules["eda"]["steps"] == {"type": "null"} and rules["eda"]["min_label_prob"] == {"enum": [0, None]}
    assert rules["aeda"]["params"]["properties"]["ratio"]["exclusiveMinimum"] == 0
    assert rules["diffusioncls"]["params"]["additionalProperties"] is False
    assert rules[None]["n"] == {"type": "null"}  # policy bd
    assert models["Item"]["properties"]["text"]["maxLength"] == 99
    augment = models["AugmentRequest"]["properties"]
    assert (
        set(augment["method"]["enum"]) == set(info["methods"]) and "diffusioncls" in augment["method"]["enum"]
    )
    assert augment["items"]["maxItems"] == 7
    assert any(b.get("maximum") == 5 for b in augment["n"]["anyOf"])
    texts = models["ClassifyRequest"]["properties"]["texts"]
    assert texts["maxItems"] == 3 and texts["items"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 99,
        "pattern": text_pattern(),
    }


def test_no_route_declares_the_frameworks_validation_error_body(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        schema = client.get("/openapi.json").json()
    assert (
        "HTTPValidationError" not in str(schema) and "ValidationError" not in schema["components"]["schemas"]
    )
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            declared = operation["responses"].get("422")
            if declared:  # only where the project's error body answers it
                assert declared["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), path
    assert "422" not in schema["paths"]["/jobs/{job_id}"]["get"]["responses"]


def test_info_readyz_and_healthz_are_typed_in_the_schema(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        schema = client.get("/openapi.json").json()
        info = client.get("/info").json()

    def body(path):
        return schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    assert body("/info")["$ref"].endswith("/Info")
    assert body("/readyz")["$ref"].endswith("/Readiness")
    assert body("/healthz")["$ref"].endswith("/Liveness")
    fields = schema["components"]["schemas"]["Info"]["properties"]
    assert set(fields) == set(info)  # the document names every field the route answers with


def test_provenance_and_stats_are_typed_in_the_schema(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        schema = client.get("/openapi.json").json()
        info = client.get("/info").json()
    models = schema["components"]["schemas"]
    provenance = models["Output"]["properties"]["provenance"]
    mapping = provenance["discriminator"]["mapping"]
    assert provenance["discriminator"]["propertyName"] == "method"
    assert set(mapping) == set(info["methods"])  # one typed provenance per method the service offers
    for ref in mapping.values():
        model = models[ref.rsplit("/", 1)[-1]]
        assert model["additionalProperties"] is False and {"method", "seed"} <= set(model["required"])
    assert "try" in models["EdaProvenance"]["properties"]  # the wire name, not the Python one
    stats = models["AugmentJobResult"]["properties"]["stats"]
    assert stats["$ref"].endswith("/JobStats")
    assert set(models["JobStats"]["required"]) == {"requested", "produced"}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12))
def test_the_schemas_text_pattern_accepts_exactly_what_the_service_accepts(text):
    """The `pattern` in the OpenAPI document and `check_texts` are one rule (length aside)."""
    from service.errors import ApiError
    from service.texts import check_texts, text_pattern

    try:
        check_texts([text], what="texts", max_chars=None, field="texts")
        accepted = True
    except ApiError:
        accepted = False
    assert bool(re.fullmatch(text_pattern(), text)) == accepted


def test_the_text_pattern_by_hand():
    from service.texts import text_pattern

    pattern = re.compile(text_pattern())
    accepted = ["a", "\tline one\nline two\r", "שלום", "family 👨\u200d👩\u200d👧", "x\U000e0020"]
    refused = ["", "   ", "\u200b", "\ufeff\u00a0", "\U000e0020", "a\x00b", "bell\x07", "\x9b31m"]
    assert all(pattern.fullmatch(t) for t in accepted)
    assert not any(pattern.fullmatch(t) for t in refused)


def test_a_whole_number_written_with_a_point_is_an_integer_and_a_string_is_not(tiny_checkpoint):
    """JSON Schema's `integer` admits 2.0; the service agrees, and still refuses "2" and 2.5."""
    with client_for(make_settings(tiny_checkpoint), load_models=False) as client:
        body = {"items": [{"text": "What a day", "label": "joy"}], "seed": 3.0, "decoding": {"rounds": 2.0}}
        for n, status in ((2.0, 202), ("2", 422), (2.5, 422)):
            response = client.post("/augment", json={**body, "n": n})
            assert response.status_code in ((202, 503) if status == 202 else (status,)), response.text
