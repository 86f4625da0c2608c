"""Bad input is a located SpecError, never another exception: every value of every example spec
is replaced in turn by odd values, and every key removed, and validation must either pass or
raise SpecError (with positions inside the file)."""

import copy
from pathlib import Path

import pytest
import yaml

import netspec
from netspec.errors import NetspecError, SpecError
from netspec.loader import from_data

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
ODD = [
    None,
    [],
    {},
    "x",
    "",
    -1,
    0,
    10**30,
    1e300,
    True,
    [None],
    {"type": None},
    [[1]],
    {"type": "Dense"},
    "dense:9",
]


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


def replaced(data, path, value, delete=False):
    out = copy.deepcopy(data)
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def check(data, build=False):
    try:
        spec = from_data(data)
    except SpecError as exc:
        assert exc.diagnostics
        assert all(d.message for d in exc.diagnostics)
        return
    if build:  # a spec that validates builds, or is refused as a user error (the budget)
        try:
            netspec.build(spec, max_memory=64 * 2**20)
        except NetspecError:
            pass


QUICK = {"mnist_mlp", "tutorial_layers"}  # the quick tier's sample; the others are slow
CASES = [
    pytest.param(p, id=p.stem, marks=() if p.stem in QUICK else pytest.mark.slow) for p in SPECS
]


@pytest.mark.parametrize("spec", CASES)
def test_mutations_give_spec_errors_only(spec):
    data = yaml.safe_load(spec.read_text())
    for path in list(paths(data))[1:]:
        for value in ODD:
            check(replaced(data, path, value), build=True)
        check(replaced(data, path, None, delete=True))
    for value in ODD:
        check(value)
