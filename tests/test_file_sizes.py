"""The house limits on module size: a layer module (netspec/layers/*.py) stays under 200 lines,
every other module under netspec/ under 400. The generated layer index is exempt."""

from __future__ import annotations

from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "netspec"
LAYERS = PACKAGE / "layers"
GENERATED = {LAYERS / "_index.py"}  # written by `python -m netspec.layers.index`
LAYER_LIMIT, MODULE_LIMIT = 200, 400

MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path not in GENERATED)


def limit_of(path: Path) -> int:
    return LAYER_LIMIT if path.parent == LAYERS else MODULE_LIMIT


def test_the_walk_finds_the_package():
    assert PACKAGE / "spec.py" in MODULES
    assert LAYERS / "dense.py" in MODULES
    assert not GENERATED & set(MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_module_is_under_its_line_limit(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    limit = limit_of(path)
    name = path.relative_to(PACKAGE.parent)
    assert lines < limit, f"{name}: {lines} lines, over the limit of {limit}: split it"
