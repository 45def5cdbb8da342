"""The augment path of the API never loads torch: a live process with a Redis queue and /classify off."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.service.conftest import REPO


def test_augment_path_loads_no_torch(tiny_checkpoint, redis_url):
    """A live API with a Redis queue and /classify off accepts a job without importing torch."""
    script = f"""
import sys
from fastapi.testclient import TestClient
from service.app import create_app
from service.settings import Settings
settings = Settings(_env_file=None, checkpoint_dir={str(tiny_checkpoint)!r}, redis_url={redis_url!r},
                    queue_name="no-torch-check", classify_enabled=False)
with TestClient(create_app(settings)) as client:
    assert client.get("/readyz").status_code == 200, client.get("/readyz").text
    r = client.post("/augment", json={{"items": [{{"text": "What a lovely day", "label": "joy"}}], "n": 1}})
    assert r.status_code == 202, r.text
    assert client.get("/jobs/" + r.json()["id"]).json()["status"] == "queued"
    assert client.post("/jobs/" + r.json()["id"] + "/cancel").status_code == 200
loaded = sorted(m for m in ("torch", "transformers") if m in sys.modules)
print("loaded:", loaded)
sys.exit(1 if loaded else 0)
"""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
