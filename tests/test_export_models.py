"""`netspec export` of the issue's three models (a CNN with BatchNormalization and
SeparableConv2D, a stacked LSTM/GRU, a two-input graph) against `netspec predict`, the files read
back independently by onnxruntime and `torch.export.load` at batch 1 and 5 with the spec's input
names; a `null` axis left dynamic; the opset; and README's "Exporting" section as written."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.export import export_spec
from netspec.export.common import TOLERANCE, difference
from netspec.export.onnx_format import DEFAULT_OPSET
from netspec.training.output.runs import save_weights

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("onnx", "torch-export")
SUFFIX = {"onnx": ".onnx", "torch-export": ".pt2"}
runner = CliRunner()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


# ------------------------------------------- the three models, against netspec predict

CNN = """\
netspec: 1
name: cnn
inputs:
  image: {shape: [12, 12, 3]}
layers:
  - {type: Conv2D, filters: 8, kernel_size: 3, padding: same, inputs: image}
  - {type: BatchNormalization}
  - {type: Activation, activation: relu}
  - {type: SeparableConv2D, filters: 16, kernel_size: 3, depth_multiplier: 2}
  - {type: BatchNormalization}
  - {type: MaxPooling2D}
  - {type: GlobalAveragePooling2D}
  - {type: Dense, units: 5, activation: softmax, name: classes}
"""
STACKED_RNN = """\
netspec: 1
name: stacked
inputs:
  series: {shape: [6, 3]}
layers:
  - {type: LSTM, units: 12, return_sequences: true, inputs: series}
  - {type: GRU, units: 8, return_sequences: true}
  - {type: LSTM, units: 6}
  - {type: Dense, units: 2, name: forecast}
"""
TWO_INPUTS = """\
netspec: 1
name: two_inputs
inputs:
  tokens: {shape: [7], dtype: int64}
  features: {shape: [4]}
layers:
  - {type: Embedding, input_dim: 20, output_dim: 6, inputs: tokens}
  - {type: GlobalAveragePooling1D, name: pooled}
  - {type: Dense, units: 6, activation: tanh, inputs: features, name: projected}
  - {type: Concatenate, inputs: [pooled, projected]}
  - {type: Dense, units: 3, activation: softmax, name: label}
  - {type: Dense, units: 1, inputs: projected, name: score}
outputs: [label, score]
"""


def trained_like(spec_path: Path, weights: Path) -> None:
    """Weights unlike the initial ones: kernels scaled at random, biases, shifts and
    BatchNormalization's moving statistics away from 0 and 1 (so the export must carry them)."""
    model = netspec.build(netspec.load(spec_path), seed=1)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.is_floating_point():
                continue
            noise = torch.randn(value.shape, generator=gen)
            if key.endswith(("moving_variance", "gamma")):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            elif key.endswith(("moving_mean", "beta", "bias")):
                value.copy_(noise * 0.1)
            else:
                value.mul_(1 + 0.3 * noise)
    save_weights(weights, model)


def predicted(spec_path: Path, weights: Path, inputs: dict[str, np.ndarray], where: Path):
    """`netspec predict` of the inputs: one array per output, in the spec's order."""
    graph = netspec.load(spec_path).graph
    names = list(inputs)
    data = where / "x.npz"
    keys = ["x"] if len(names) == 1 else [f"x_{n}" for n in names]
    np.savez(data, **dict(zip(keys, inputs.values(), strict=True)))
    out = where / "predicted.npz"
    result = cli("predict", spec_path, "--weights", weights, "--data", data, "-o", out)
    assert result.exit_code == 0, result.output
    saved = np.load(out)
    outputs = [str(r) for r in graph.outputs]
    keys = ["y"] if len(outputs) == 1 else [f"y_{n}" for n in outputs]
    return [saved[k] for k in keys]


def sample(graph, batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    return {
        i.name: rng.integers(0, 20, (batch, *i.shape)).astype(i.dtype)
        if i.dtype.startswith("int")
        else rng.normal(size=(batch, *i.shape)).astype(np.float32)
        for i in graph.inputs
    }


@pytest.mark.slow
@pytest.mark.parametrize("text", [CNN, STACKED_RNN, TWO_INPUTS], ids=["cnn", "rnn", "graph"])
def test_exported_files_equal_netspec_predict(text, tmp_path):
    spec_path, weights = tmp_path / "spec.yaml", tmp_path / "w.safetensors"
    spec_path.write_text(text)
    trained_like(spec_path, weights)
    graph = netspec.load(spec_path).graph
    onnx_file, pt2_file = tmp_path / "model.onnx", tmp_path / "model.pt2"
    for fmt, out in (("onnx", onnx_file), ("torch-export", pt2_file)):
        result = cli("export", spec_path, "-o", out, "--format", fmt, "--weights", weights)
        assert result.exit_code == 0, result.output
        assert f"wrote {out}" in result.output
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [i.name for i in graph.inputs]
    assert [o.name for o in session.get_outputs()] == [str(r) for r in graph.outputs]
    program = torch.export.load(str(pt2_file)).module()
    for batch in (1, 5):
        inputs = sample(graph, batch)
        want = predicted(spec_path, weights, inputs, tmp_path)
        from_onnx = session.run(None, inputs)
        out = program(*(torch.from_numpy(x) for x in inputs.values()))
        from_pt2 = [o.detach().numpy() for o in (out if isinstance(out, tuple | list) else [out])]
        names = [str(r) for r in graph.outputs]
        assert difference(from_onnx, want, names) <= TOLERANCE
        assert difference(from_pt2, want, names) <= TOLERANCE


# ------------------------------------------------------------------------ axes and opset

VARIABLE_TIME = """\
netspec: 1
name: variable
inputs:
  frames: {shape: [null, 4]}
layers:
  - {type: Conv1D, filters: 5, kernel_size: 3, inputs: frames}
  - {type: Dense, units: 3, name: per_step}
"""


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_null_axis_stays_dynamic(fmt, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(VARIABLE_TIME)
    result = export_spec(spec, tmp_path / f"m{SUFFIX[fmt]}", fmt, seed=0)
    assert result.inputs == {"frames": ("batch", "frames_1", 4)}
    assert result.outputs["per_step"][0] == "batch"
    assert isinstance(result.outputs["per_step"][1], str)  # time - 2, symbolic
    report = result.report()
    assert "input frames: (batch, frames_1, 4)" in report
    assert "checked at batch 1 and 5" in report


@pytest.mark.slow
def test_opset_is_chosen_and_recorded(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(VARIABLE_TIME)
    out = tmp_path / "m.onnx"
    result = cli("export", spec, "-o", out, "--opset", "17", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "opset 17, dynamo exporter" in result.output
    proto = onnx.load(str(out))
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["netspec.opset"] == "17" and meta["netspec.exporter"] == "dynamo"
    default = export_spec(spec, tmp_path / "d.onnx", "onnx", seed=3)
    assert default.opset == DEFAULT_OPSET and f"opset {DEFAULT_OPSET}" in default.report()


# ----------------------------------------------------------------- README, "Exporting"

TITLE = "## Exporting"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(TITLE, 1)[1].split("\n## ", 1)[0]


def block(kind: str) -> str:
    return section().split(f"```{kind}\n")[1].split("```", 1)[0]


@pytest.mark.slow
def test_readme_commands_and_snippet_run(tmp_path, monkeypatch):
    """The section's commands, in a folder with the specs and a run's weights file; then its
    Python lines serve the ONNX file by a fresh interpreter."""
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    commands = [line[2:] for line in block("console").splitlines() if line.startswith("$ ")]
    assert len(commands) == 2
    weights = re.search(r"--weights (\S+)", commands[0]).group(1)
    (tmp_path / weights).parent.mkdir(parents=True)
    trained_like(ROOT / "specs" / "digits_cnn.yaml", tmp_path / weights)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "netspec"
        result = cli(*argv[1:])
        assert result.exit_code == 0, result.output
        out = argv[argv.index("-o") + 1]
        assert result.output.startswith(f"wrote {out} (")
        assert (tmp_path / out).is_file()
    code = block("python")
    assert len([line for line in code.splitlines() if line.strip()]) == 5
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(5, 10)"


def test_readme_lists_the_formats_and_the_command():
    text = (ROOT / "README.md").read_text()
    assert "| `netspec export SPEC -o FILE [--format onnx\\|torch-export]" in text
    for fmt in FORMATS:
        assert f"| `{fmt}`" in section()
    assert text.index("## Importing Keras models") < text.index(TITLE)
    assert text.index(TITLE) < text.index("## Reliability")
