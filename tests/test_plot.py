"""`netspec plot`: every layer of every example spec in the DOT with its shape and parameter
count, shared layers drawn once, `name:k` edges, blocks folded or expanded into clusters, the
pictures Graphviz draws (SVG, PNG, PDF), errors; README's picture up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.compiler import param_counts
from netspec.review.dot import PlotOptions, keras_shape, to_dot
from netspec.review.plot import drawing
from netspec.review.render import graphviz

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
APPLICATIONS = sorted((ROOT / "specs" / "applications").glob("*.yaml"))
runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def boxes(dot: str) -> dict[str, str]:
    """Each box's id -> its label, from the DOT text."""
    found = re.findall(r'^\s*"([^"]+)" \[label=<(.*)>(?:, peripheries=2)?\];$', dot, re.M)
    return dict(found)


def edges(dot: str) -> list[tuple[str, str, str | None]]:
    found = re.findall(r'^\s*"([^"]+)" -> "([^"]+)"(?: \[label=" (.*) "\])?;$', dot, re.M)
    return [(a, b, label or None) for a, b, label in found]


def check_every_layer(path: Path) -> None:
    valid = netspec.load(path)
    dot = to_dot(drawing(valid, expand_nested=True), PlotOptions(expand_nested=True))
    found = boxes(dot)
    counts = param_counts(valid.graph)
    for i in valid.graph.inputs:
        assert f"Output shape: <b>{keras_shape(i.shape)}</b>" in found[i.name]
    for node in valid.graph.nodes:
        shared = node.layer.layer if node.type == "Shared" else None  # type: ignore[union-attr]
        owner = valid.graph.by_name[shared] if shared else node
        label = found[owner.name]  # a shared layer's further calls are in its box
        assert f"<b>{owner.name}</b> ({owner.type})" in label
        assert keras_shape(node.output) in label
        assert f"Params: <b>{sum(counts[owner.name]):,}</b>" in label
    layers = sum(n.type != "Shared" for n in valid.graph.nodes)
    assert len(found) == len(valid.graph.inputs) + layers


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_layer_of_every_example_spec_appears_with_its_shape(path):
    check_every_layer(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", APPLICATIONS, ids=[p.stem for p in APPLICATIONS])
def test_every_layer_of_every_zoo_spec_appears_expanded(path):
    check_every_layer(path)


def test_skip_connections_are_edges_of_the_resnet_graph():
    dot = to_dot(drawing(netspec.load(ROOT / "specs" / "resnet_blocks.yaml")), PlotOptions())
    found = set(edges(dot))
    assert ("stem", "block1_add", None) in found  # identity skip
    assert ("block1_out", "block2_projection", None) in found  # projected skip
    assert ("block2_projection_bn", "block2_add", None) in found
    assert ("input", "stem", None) in found
    assert len(found) == 21  # one per input of the 19 layers, two for each Add
    assert "peripheries=2" in dot.split('"classes" [')[1].split("\n")[0]  # the output


def test_a_shared_layer_is_one_box_and_its_calls_label_their_edges():
    dot = to_dot(drawing(netspec.load(ROOT / "specs" / "siamese.yaml")), PlotOptions())
    found = boxes(dot)
    assert "encoder_right" not in found and "encoder_hidden_right" not in found
    assert "×2 calls" in found["encoder"] and "×2 calls" in found["encoder_hidden"]
    assert "Params: <b>528</b>" in found["encoder"]  # counted once, as Keras counts it
    assert set(edges(dot)) >= {
        ("left", "encoder_hidden", None),
        ("right", "encoder_hidden", None),
        ("encoder_hidden", "encoder", "encoder_hidden"),
        ("encoder_hidden", "encoder", "encoder_hidden_right"),
        ("encoder", "difference", "encoder"),
        ("encoder", "difference", "encoder_right"),
        ("encoder", "cosine", "encoder_right"),
    }


MULTI = """
netspec: 1
name: states
input_shape: [10, 4]
layers:
  - {type: LSTM, units: 8, return_state: true, name: lstm}
  - {type: Concatenate, inputs: ["lstm:1", "lstm:2"], name: states}
  - {type: Dense, units: 3, inputs: "lstm:0", name: head}
outputs: [head, states]
"""


def test_edges_from_a_multi_output_layer_are_labelled_name_k():
    dot = to_dot(drawing(netspec.loads(MULTI)), PlotOptions())
    assert set(edges(dot)) == {
        ("input", "lstm", None),
        ("lstm", "states", "lstm:1"),
        ("lstm", "states", "lstm:2"),
        ("lstm", "head", "lstm:0"),
    }
    assert "Output shape: <b>[(None, 8), (None, 8), (None, 8)]</b>" in boxes(dot)["lstm"]
    assert "splines=spline" in dot


def test_blocks_fold_into_one_box_or_expand_into_nested_clusters():
    valid = netspec.load(ROOT / "specs" / "applications" / "resnet50.yaml")
    folded = boxes(to_dot(drawing(valid), PlotOptions()))
    names = [b.split("</b>")[0].split("<b>")[-1] for b in folded.values()]
    assert names[:8] == ["input", "conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu",
                         "pool1_pad", "pool1_pool", "conv2"]  # fmt: skip
    assert "(stack_residual_blocks_v1)" in folded["instance0"]
    assert "Params: <b>220,032</b>" in folded["instance0"]  # as `netspec build --depth 0`
    assert "Output shape: <b>(None, 56, 56, 256)</b>" in folded["instance0"]
    assert len(folded) == 13
    expanded = to_dot(drawing(valid, expand_nested=True), PlotOptions())
    assert len(boxes(expanded)) == len(valid.graph.nodes) + 1
    assert 'label="conv2 (stack_residual_blocks_v1)"' in expanded
    inner = expanded.split('label="conv2_block1 (residual_block_v1)";')[1].split("}")[0]
    assert '"conv2_block1_1_conv"' in inner and '"conv3_block1_1_conv"' not in inner


def test_options_change_the_labels_as_keras_options_do():
    valid = netspec.load(ROOT / "specs" / "finetune_mobilenetv2.yaml")
    opts = PlotOptions(show_shapes=False, show_dtype=True, show_layer_names=False,
                       show_layer_activations=True, show_trainable=True, show_params=False,
                       rankdir="LR")  # fmt: skip
    dot = to_dot(drawing(valid), opts)
    found = boxes(dot)
    assert "rankdir=LR;" in dot and "dpi=200;" in dot
    assert "shape" not in found["predictions"] and "Params" not in found["predictions"]
    assert "<b>Dense</b>" in found["predictions"] and "predictions" not in found["predictions"]
    assert "Activation: <b>softmax</b>" in found["predictions"]
    assert "Output dtype: <b>float32</b>" in found["predictions"]
    assert ">Trainable<" in found["predictions"]
    assert found["predictions"].count("<tr>") == 4  # left to right: one cell a row
    assert ">Non-trainable<" in found["instance0"]  # the frozen MobileNetV2 base
    assert "Trainable" not in found["head_dropout"]  # no weights: no cell, as in Keras


def test_cli_draws_svg_png_and_pdf_and_prints_dot(tmp_path):
    spec = str(ROOT / "specs" / "resnet_blocks.yaml")
    valid = netspec.load(spec)
    for suffix in ("svg", "png", "pdf"):
        out = tmp_path / f"m.{suffix}"
        result = cli("plot", spec, "-o", str(out), "--dpi", "40")
        assert result.exit_code == 0, result.output
        assert result.stdout == f"wrote {out} (19 layers)\n"
    svg = (tmp_path / "m.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for node in valid.graph.nodes:
        assert f">{node.name}</text>" in svg
    assert "<title>stem&#45;&gt;block1_add</title>" in svg  # the skip connection
    with Image.open(tmp_path / "m.png") as png:
        assert png.format == "PNG" and png.size[1] > png.size[0] > 200  # top to bottom
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    result = cli("plot", spec, "--format", "dot")
    assert result.exit_code == 0 and result.stdout.startswith('digraph "resnet_blocks" {')
    assert "dpi=" not in result.stdout  # a DOT or SVG is vector: no dpi scaling
    result = cli("plot", spec, "--format", "dot", "-o", str(tmp_path / "m.gv"))
    assert result.exit_code == 0 and (tmp_path / "m.gv").read_text().startswith("digraph")


def test_dpi_sets_the_png_resolution(tmp_path):
    spec = str(ROOT / "specs" / "two_tower.yaml")
    sizes = []
    for dpi in ("36", "72"):
        assert cli("plot", spec, "-o", str(tmp_path / f"{dpi}.png"), "--dpi", dpi).exit_code == 0
        with Image.open(tmp_path / f"{dpi}.png") as png:
            sizes.append(png.size)
    assert abs(sizes[1][0] - 2 * sizes[0][0]) <= 2


def test_user_errors_exit_1_with_a_message(tmp_path):
    spec = str(ROOT / "specs" / "siamese.yaml")
    result = cli("plot", spec, "-o", str(tmp_path / "m.gif"))
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"{tmp_path / 'm.gif'}: cannot draw 'gif': the formats are svg, png, pdf, dot\n"
    )
    assert cli("plot", spec).exit_code == 1
    result = cli("plot", spec, "-o", str(tmp_path / "m.svg"), "--rankdir", "XY")
    assert result.exit_code == 1
    assert result.stderr == "--rankdir: should be one of TB, LR, BT, RL (got XY)\n"
    result = cli("plot", spec, "-o", str(tmp_path / "m.svg"), "--splines", "spline; x=1")
    assert result.exit_code == 1 and result.stderr.startswith("--splines: should be one of")
    result = cli("plot", spec, "-o", str(tmp_path / "m.svg"), "--rankdir", "lr")
    assert result.exit_code == 0  # as Graphviz reads it
    bad = tmp_path / "bad.yaml"
    bad.write_text("netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 0}\n")
    result = cli("plot", str(bad), "-o", str(tmp_path / "m.svg"))
    assert result.exit_code == 1
    assert f"{bad}:4:26: layers[0].units" in result.stderr and "Traceback" not in result.output


def test_readme_picture_is_what_plot_draws(tmp_path):
    """docs/resnet_blocks.svg, shown in README, is the current drawing (graphviz-pure writes
    the same bytes on every platform; a system Graphviz may lay out differently)."""
    program, real = graphviz()
    out = tmp_path / "resnet_blocks.svg"
    assert cli("plot", str(ROOT / "specs" / "resnet_blocks.yaml"), "-o", str(out)).exit_code == 0
    if not real:
        assert out.read_text() == (ROOT / "docs" / "resnet_blocks.svg").read_text()
    assert "](docs/resnet_blocks.svg)" in (ROOT / "README.md").read_text()


SIAMESE_NO_LAMBDA = """
netspec: 1
name: siamese
inputs:
  left: {shape: [64]}
  right: {shape: [64]}
layers:
  - {type: Dense, units: 32, activation: relu, inputs: left, name: encoder_hidden}
  - {type: Dense, units: 16, name: encoder}
  - {type: Shared, layer: encoder_hidden, inputs: right, name: encoder_hidden_right}
  - {type: Shared, layer: encoder, name: encoder_right}
  - {type: Subtract, inputs: [encoder, encoder_right], name: difference}
  - {type: Dense, units: 1, activation: sigmoid, name: same}
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet_blocks", "two_tower", "siamese_no_lambda"])
def test_boxes_edges_shapes_and_params_are_keras_plot_models(name):
    """The boxes and arrows Keras's `model_to_dot` draws for the same model (its layer objects,
    and an arrow per (source layer, destination layer) of each call), with each box's output
    shape and Keras's `count_params`."""
    from keras_oracle import keras_model  # imports Keras (KERAS_BACKEND=torch, conftest)

    valid = (
        netspec.loads(SIAMESE_NO_LAMBDA)
        if name == "siamese_no_lambda"
        else netspec.load(ROOT / "specs" / f"{name}.yaml")
    )
    model = keras_model(valid)
    dot = to_dot(drawing(valid), PlotOptions())
    found = boxes(dot)
    assert set(found) == {layer.name for layer in model._operations}
    keras_edges = set()
    for layer in model._operations:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                keras_edges.add((tensor._keras_history.operation.name, layer.name))
    assert {(a, b) for a, b, _ in edges(dot)} == keras_edges
    for layer in model._operations:
        if len(layer._inbound_nodes) <= 1:  # Keras shows "?" for a layer called twice
            assert f"Output shape: <b>{tuple(layer.output.shape)}</b>" in found[layer.name]
        if layer.__class__.__name__ != "InputLayer":
            assert f"Params: <b>{layer.count_params():,}</b>" in found[layer.name]
