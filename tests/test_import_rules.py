"""Data flows one way: training -> worker -> service. Checked on the source, and on a live process."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# Torch-free and self-contained, so the torch-free side of the worker (and through it the API) can read
# them: the method's default numbers and decoding knobs (imports nothing), the step-range grammar and
# the checkpoint settings file's reader (the standard library and each other only).
LEAF_MODULES = {
    "training.defaults",
    "training.steps",
    "training.checkpoint_format",
    "training.pretrain_config",
}


def imports(path: Path, module_level_only: bool = False) -> set[str]:
    """Top-level package names a file imports (anywhere, or at module level only); the leaf modules
    above are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names if alias.name not in LEAF_MODULES)
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module not in LEAF_MODULES
        ):
            found.add(node.module.split(".")[0])
    return found


def test_the_leaf_modules_import_only_the_standard_library_and_each_other():
    for name in LEAF_MODULES:
        tree = ast.parse((REPO / (name.replace(".", "/") + ".py")).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for module in names:
                top = module.split(".")[0]
                assert module in LEAF_MODULES or top in sys.stdlib_module_names, f"{name} imports {module}"
    defaults = ast.parse((REPO / "training/defaults.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(defaults) if isinstance(n, ast.Import | ast.ImportFrom)]


def files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("training", {"worker", "service"}), ("worker", {"service"}), ("service", {"training"})],
)
def test_one_way_imports(package, forbidden):
    offenders = {
        str(path.relative_to(REPO)): sorted(imports(path) & forbidden)
        for path in files(package)
        if imports(path) & forbidden
    }
    assert not offenders, f"{package} must not import {sorted(forbidden)}: {offenders}"


@pytest.mark.parametrize(
    "module",
    [
        "worker/contracts.py",
        "worker/checkpoint_info.py",
        "worker/control.py",
        "worker/methods.py",
        "worker/settings.py",
    ],
)
def test_what_the_service_reads_imports_no_torch(module):
    assert not imports(REPO / module, module_level_only=True) & {"torch", "transformers", "training"}


@pytest.mark.parametrize(
    "module",
    [p for p in files("service") if p.name != "model_loader.py"],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_service_modules_import_no_torch_at_load(module):
    """Only service/model_loader.py reaches torch (through worker.runtime, inside a function)."""
    assert not imports(module, module_level_only=True) & {"torch", "transformers", "training"}
    assert "worker.runtime" not in module.read_text(encoding="utf-8")
