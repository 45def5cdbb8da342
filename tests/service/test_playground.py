"""GET / serves the playground page: self-contained, and working in a real (headless) browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.service.conftest import ApiProcess, client_for, make_settings


def test_the_page_is_self_contained_and_calls_only_the_api(tiny_checkpoint):
    with client_for(make_settings(tiny_checkpoint, api_key="k" * 24), load_models=False) as client:
        response = client.get("/")  # public, like /healthz: the page holds no data
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert client.get("/info").status_code == 401  # what it calls still needs the key
        schema = client.get("/openapi.json", headers={"X-API-Key": "k" * 24}).json()
    page = response.text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no asset from elsewhere
    assert not re.search(r"@import|url\(", page)
    called = set(re.findall(r"""call\("(?:GET|POST|DELETE)", [`"](/[a-z]+)""", page))
    assert called == {"/info", "/augment", "/jobs", "/classify"}
    assert "/" not in schema["paths"]  # the page is not part of the API contract


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def dump_dom(url: str) -> str:
    """The page's DOM once its scripts are done. Virtual time runs the page's polling timers at once,
    but waits on the network, so a job that runs on the server is waited for."""
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000000"]
    done = subprocess.run([*command, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    return done.stdout


@pytest.mark.skipif(chromium() is None, reason="no Chromium to drive the page with")
def test_the_page_augments_and_classifies_in_a_real_browser(tiny_checkpoint, tmp_path):
    api = ApiProcess(tiny_checkpoint, tmp_path / "api.log")
    try:
        api.wait_ready()
        dom = dump_dom(f"{api.url}/#example")  # fills in the example, augments, classifies
    finally:
        api.stop()
    body = dom.split("<script>")[0]  # what the page shows, without its own source
    assert "labels anger, joy, sad" in body, body[:2000]
    status = re.search(r'id="status">([^<]*)', body)
    assert status and "9 new texts" in status.group(1), status  # 3 labels x n = 3
    assert re.search(r"new texts in \d+\.\d s$", status.group(1)), status  # job time to a tenth
    results = body.split('id="results">')[1]
    assert results.count('<div class="out">') == 9 and "<mark>" in results  # rewritten words marked
    assert len(re.findall(r"p\((anger|joy|sad)\) [01]\.\d\d", results)) == 9  # label probabilities
    classified = body.split('id="classify-results">')[1]
    assert re.search(r"→ <b>(anger|joy|sad)</b>", classified)  # the classify box answered


@pytest.mark.skipif(chromium() is None, reason="no Chromium to drive the page with")
def test_the_page_says_when_the_key_is_missing(tiny_checkpoint, tmp_path):
    api = ApiProcess(tiny_checkpoint, tmp_path / "api.log", API_KEY="k" * 24)
    try:
        api.wait_ready()
        dom = dump_dom(f"{api.url}/")
    finally:
        api.stop()
    model_line = re.search(r'id="model">([^<]*)', dom.split("<script>")[0])
    assert model_line and "401" in model_line.group(1), model_line
