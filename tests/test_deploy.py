"""docker-compose.yml and the Dockerfiles: valid, and every command points at a real entry point.

There is no Docker engine here; `docker compose config` (client only) validates the file when the
compose plugin (or the standalone docker-compose) is installed, and the rest is checked by reading.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"


def compose_file() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def assert_entry_point(command: list[str]) -> None:
    """`python -m pkg` must name a runnable module of this repository; anything else is refused."""
    assert command[:2] == ["python", "-m"], f"unexpected command {command}"
    module = command[2]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not importable"
    assert Path(spec.origin).resolve().is_relative_to(REPO), f"{module} is not part of this repository"
    if spec.submodule_search_locations:  # a package: needs __main__.py
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} has no __main__"


def test_compose_services_and_their_promises():
    services = compose_file()["services"]
    assert set(services) == {"redis", "api", "worker"}
    redis = services["redis"]
    assert redis["command"][:1] == ["redis-server"]
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert redis["command"][redis["command"].index("--maxmemory-policy") + 1] == "noeviction"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    for name in ("api", "worker"):
        service = services[name]
        assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
        assert any(v.endswith(":/checkpoint:ro") for v in service["volumes"]), "checkpoint must be read-only"
        assert service["environment"]["HF_HUB_OFFLINE"] == "1"
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:6379")
    assert "deploy" not in services["worker"]  # the base runs anywhere: the GPU is the override's


def test_compose_commands_and_dockerfiles_point_at_real_files():
    for name, service in compose_file()["services"].items():
        if "build" not in service:
            continue
        dockerfile = REPO / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        assert_entry_point(service["command"])
        text = dockerfile.read_text()
        for line in re.findall(r"^COPY\s+(.+)$", text, flags=re.MULTILINE):
            *sources, _ = line.split()
            for source in sources:
                assert (REPO / service["build"]["context"] / source).exists(), (
                    f"{dockerfile.name}: COPY {source}"
                )
        cmd = re.findall(r"^CMD\s+(\[.*\])\s*$", text, flags=re.MULTILINE)
        assert cmd, f"{dockerfile.name} has no exec-form CMD"
        assert_entry_point(yaml.safe_load(cmd[-1]))
        assert 'torch==2.13.0"' in text or "BASE_IMAGE=pytorch/pytorch" in text  # never a bare torch


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker/compose.gpu.yml"]])
def test_docker_compose_config(files):
    command = compose_command()
    if command is None:
        pytest.skip("neither the docker compose plugin nor docker-compose is installed")
    args = [part for f in files for part in ("-f", f)]
    done = subprocess.run([*command, *args, "config"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    worker = yaml.safe_load(done.stdout)["services"]["worker"]
    gpu = "docker/compose.gpu.yml" in files
    assert ("deploy" in worker) == gpu
    args = worker["build"].get("args", {})  # none in the base: the Dockerfile's slim CPU defaults
    assert args.get("BASE_IMAGE", "python:3.12-slim").startswith("pytorch/pytorch:" if gpu else "python:")


def test_scripts_exist_and_parse():
    for script in ("scripts/run.sh", "scripts/setup.sh", "scripts/test.sh", ".ci/run"):
        path = REPO / script
        assert path.is_file(), script
        assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0, script


def test_the_worker_builds_slim_with_cpu_torch_and_the_gpu_override_only_adds():
    dockerfile = (REPO / "docker/worker.Dockerfile").read_text()
    assert "ARG BASE_IMAGE=python:3.12-slim" in dockerfile
    assert "ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu" in dockerfile
    assert '--index-url "$TORCH_INDEX" "torch==2.13.0"' in dockerfile
    text = (REPO / "docker/compose.gpu.yml").read_text()
    assert "!reset" not in text and "!override" not in text  # tags that Compose v1 cannot read
    worker = yaml.safe_load(text)["services"]["worker"]
    assert worker["build"]["args"] == {
        "BASE_IMAGE": "pytorch/pytorch:2.7.1-cuda12.6-cudnn9-runtime",
        "TORCH_INDEX": "",
    }
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_setup_refuses_a_python_older_than_the_project_needs_before_making_the_venv(tmp_path):
    """pyproject asks for 3.11+; setup.sh says so at once (exit 2) instead of failing inside pip."""
    fake = tmp_path / "python3.10"
    fake.write_text(  # answers the version probe as a 3.10 would, fails the 3.11 check
        '#!/bin/sh\ncase "$2" in *platform*) echo "Python 3.10.12";; *) exit 1;; esac\n'
    )
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": str(fake), "VENV": str(venv)}
    done = subprocess.run(
        ["bash", str(REPO / "scripts/setup.sh")], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert "is Python 3.10.12; this project needs Python 3.11 or newer" in done.stderr
    assert not venv.exists()
