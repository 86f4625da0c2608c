"""Layer plugins: a real package, installed with pip, registers a layer through entry points."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = """netspec: 1
input_shape: [4]
layers:
  - {type: Dense, units: 3}
  - {type: Scale, scale_initializer: {type: Constant, value: 2.0}}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT / "tests" / "plugin_pkg"),
        ],
        check=True,
        timeout=300,
        cwd=tmp_path_factory.mktemp("build"),
    )
    return target


def with_plugin(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python ARGS` in a process where the plugin package is installed (on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def netspec_cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return with_plugin(site, str(ROOT / "cli.py"), *args, cwd=cwd)


@pytest.mark.slow  # pip install, fresh interpreters
def test_plugin_layer_validates_builds_and_is_listed(site, tmp_path):
    (tmp_path / "m.yaml").write_text(SPEC)
    result = netspec_cli(site, "build", "m.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["layers"][1] == {
        "name": "scale",
        "type": "Scale",
        "inputs": ["dense"],
        "output_shape": [3],
        "params": 3,
    }
    listed = netspec_cli(site, "list", "layers", cwd=tmp_path)
    assert "  Scale" in listed.stdout


@pytest.mark.slow  # pip install, a fresh interpreter
def test_plugin_layer_errors_are_located_with_hints(site, tmp_path):
    (tmp_path / "bad.yaml").write_text(
        SPEC.replace("type: Scale,", "type: Scal,").replace("scale_initializer", "scale_init")
    )
    result = netspec_cli(site, "validate", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "bad.yaml:5:12: layers[1].type: unknown layer type 'Scal'; did you mean 'Scale' or "
        "'Rescaling'?" in result.stderr
    )


@pytest.mark.slow  # pip install, a fresh interpreter
def test_plugin_layer_forward_and_schema(site, tmp_path):
    code = (
        "import netspec, torch, json\n"
        "from netspec.schema import json_schema\n"
        "m = netspec.build(netspec.loads(open('m.yaml').read()), seed=0)\n"
        "x = torch.randn(2, 4)\n"
        "d = m.layers['dense']\n"
        "assert torch.allclose(m(x), 2 * d(x))\n"
        "print('Scale' in json.dumps(json_schema()))\n"
    )
    (tmp_path / "m.yaml").write_text(SPEC)
    result = with_plugin(site, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_plugin_is_absent_without_the_package():
    from netspec.layers import LAYERS

    assert "Scale" not in LAYERS


MULTI = """netspec: 1
input_shape: [6]
layers:
  - {type: Dense, units: 4}
  - {type: Split}
  - {type: Dense, units: 3, inputs: "split:1", name: head}
  - {type: Add, inputs: ["split:0", "split:1"], name: both}
outputs: [head, both, "split:0"]
"""


@pytest.mark.slow  # pip install, fresh interpreters
def test_multi_output_layer_refs_and_outputs(site, tmp_path):
    (tmp_path / "m.yaml").write_text(MULTI)
    result = netspec_cli(site, "build", "m.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["layers"][1]["output_shape"] == [[2], [2]]
    assert doc["layers"][2]["inputs"] == ["split:1"]
    assert doc["outputs"] == ["head", "both", "split:0"]
    code = (
        "import netspec, torch\n"
        "m = netspec.build(netspec.load('m.yaml'), seed=0)\n"
        "x = torch.randn(5, 6)\n"
        "head, both, first = m(x)\n"
        "a, b = m.layers['dense'](x).chunk(2, dim=-1)\n"
        "assert torch.allclose(both, a + b) and torch.allclose(first, a)\n"
        "assert torch.allclose(head, m.layers['head'](b))\n"
    )
    ran = with_plugin(site, "-c", code, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    (tmp_path / "bad.yaml").write_text(
        MULTI.replace('inputs: "split:1", name', "name").replace('"split:0"]\n', '"split:2"]\n')
    )
    bad = netspec_cli(site, "validate", "bad.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    assert (
        "bad.yaml:6:5: layers[2]: 'split' has 2 outputs: pick one as 'split:0' ... "
        "'split:1'" in bad.stderr
    )
    assert "outputs[2]: 'split' has 2 output(s); 'split:2' does not exist" in bad.stderr
