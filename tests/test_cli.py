"""The CLI through typer's runner and as a real subprocess: output, JSON, exit codes."""

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netspec.cli import app

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("spec", SPECS, ids=[p.stem for p in SPECS])
def test_every_example_spec_validates(spec):
    result = run("validate", str(spec))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("layers)")


def test_validate_reports_all_files_and_exits_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 0}\n")
    result = run("validate", str(SPECS[0]), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:4:26: layers[0].units: should be greater than 0 (got 0)" in result.stderr
    assert "ok" in result.stdout
    assert "Traceback" not in result.output


def test_validate_missing_file_is_a_clean_error(tmp_path):
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert "cannot read spec" in result.stderr


def test_build_json_document():
    result = run("build", str(ROOT / "specs" / "mnist_mlp.yaml"), "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {
        "name",
        "total_params",
        "trainable_params",
        "non_trainable_params",
        "inputs",
        "outputs",
        "layers",
    }
    assert doc["name"] == "mnist_mlp"
    assert doc["inputs"] == [{"name": "input", "shape": [784], "dtype": "float32"}]
    assert doc["outputs"] == ["dense_2"]
    assert doc["total_params"] == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert doc["layers"][0] == {
        "name": "dense",
        "type": "Dense",
        "inputs": ["input"],
        "output_shape": [512],
        "params": 784 * 512 + 512,
    }
    assert doc["layers"][1]["type"] == "Dropout"


def test_build_summary_table():
    result = run("build", str(ROOT / "specs" / "mnist_mlp.yaml"))
    assert result.exit_code == 0, result.output
    assert 'Model: "mnist_mlp"' in result.stdout
    assert "dense_1 (Dense)" in result.stdout
    assert "(None, 512)" in result.stdout
    assert "Total params: 669,706" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-memory", "1KB"], "over the memory budget"),
        (["--max-memory", "lots"], "invalid size 'lots'"),
        (["--device", "tpu"], "invalid device 'tpu'"),
    ],
)
def test_build_user_errors_exit_1(args, message):
    result = run("build", str(ROOT / "specs" / "mnist_mlp.yaml"), *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr


def test_build_on_a_missing_cuda_device_is_a_clean_error():
    import torch

    has_cuda = torch.cuda.is_available()
    device = "cuda:99" if has_cuda else "cuda"  # a device this machine does not have
    result = run("build", str(ROOT / "specs" / "mnist_mlp.yaml"), "--device", device)
    assert result.exit_code == 1
    assert ("does not exist" if has_cuda else "CUDA is not available") in result.stderr


@pytest.mark.parametrize(
    "args",
    [["validate"], ["build"], ["build", "x.yaml", "--bogus"], ["nonsense"], ["list", "widgets"]],
)
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_list_kinds():
    result = run("list")
    assert result.exit_code == 0
    for kind in ("layers:", "initializers:", "regularizers:", "constraints:", "activations:"):
        assert kind in result.stdout
    only = run("list", "initializers").stdout
    assert "GlorotUniform  (also: glorot_uniform)" in only
    assert "Dense" not in only


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow  # a fresh interpreter
def test_python_cli_py_help_works_from_a_checkout():
    result = _subprocess("cli.py", "--help")
    assert result.returncode == 0
    assert "validate" in result.stdout and "build" in result.stdout


@pytest.mark.slow  # a fresh interpreter
def test_subprocess_invalid_spec_exit_1_without_traceback():
    result = _subprocess("cli.py", "validate", "tests/golden/typos.yaml")
    assert result.returncode == 1
    assert result.stderr.startswith("tests/golden/typos.yaml:")
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # a fresh interpreter
def test_subprocess_build_prints_summary():
    result = _subprocess("cli.py", "build", "specs/two_tower.yaml", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["outputs"] == ["cosine", "score"]
    assert doc["inputs"][1] == {"name": "item", "shape": [24], "dtype": "float32"}


@pytest.mark.slow  # a fresh interpreter
def test_validate_never_imports_torch():
    code = (
        "import sys; sys.argv = ['netspec', 'validate', *sys.argv[1:]]\n"
        "from netspec import cli\n"
        "try:\n    cli.app()\nexcept SystemExit as e:\n    assert e.code in (0, None), e\n"
        "print('torch' in sys.modules)"
    )
    result = _subprocess("-c", code, *[str(s) for s in SPECS])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.slow  # fresh interpreters
def test_nothing_named_cli_is_installed_and_python_m_netspec_works(tmp_path):
    """The console script is `netspec.cli:main`; the checkout's thin `cli.py` is not installed
    at the top of site-packages (a module named `cli` there would shadow users' own)."""
    outside = subprocess.run(
        [sys.executable, "-c", "import cli"], cwd=tmp_path, capture_output=True, text=True
    )
    assert outside.returncode == 1 and "No module named 'cli'" in outside.stderr
    result = subprocess.run(
        [sys.executable, "-m", "netspec", "validate", str(ROOT / "specs/two_tower.yaml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("two_tower.yaml: ok (9 layers)")
    script = Path(sysconfig.get_path("scripts")) / "netspec"  # the console script pip wrote
    assert "from netspec.cli import main" in script.read_text()


def test_validate_checks_set_overrides_as_train_applies_them(capsys):
    """`netspec validate --set` refuses what `netspec train --set` would, naming the --set."""
    from netspec.cli import main

    spec = str(ROOT / "specs/diabetes_mlp.yaml")
    with pytest.raises(SystemExit) as info:
        main(["validate", spec, "--set", "train.early_stopping.monitor=val_mea"])
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        "--set train.early_stopping.monitor=val_mea: train.early_stopping.monitor: 'val_mea' "
        "is not reported by this training; did you mean 'val_mae'? (reported: loss, mae, "
        "val_loss, val_mae)\n"
    )
    with pytest.raises(SystemExit) as info:
        main(["validate", "-q", spec, "--set", "train.early_stopping.monitor=val_mae"])
    assert info.value.code == 0
