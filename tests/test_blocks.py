"""Blocks, conditions, repetitions and nested models (netspec/blocks): expansion, Keras's
names, located errors, the folded summary, nested models' freezing and weights."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

import netspec
from netspec.cli import main
from netspec.compiler import param_counts
from netspec.errors import SpecError
from netspec.summary import summary_dict
from netspec.training.spec.overrides import load_with_overrides

HERE = Path(__file__).resolve().parent / "blocks"
MINI = HERE / "mini_resnet.yaml"
ZOO_DIR = Path(__file__).resolve().parent.parent / "specs" / "applications"


def load_text(text: str, tmp_path: Path, name: str = "spec.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return netspec.load(path)


def errors_of(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_text(text, tmp_path)
    return [f"{d.line}: {d.path}: {d.message}" for d in info.value.diagnostics]


def test_mini_resnet_has_keras_names_connections_and_counts():
    """The block spec equals Keras's own resnet.residual_block_v1/stack_residual_blocks_v1."""
    import keras
    from keras.src.applications.resnet import stack_residual_blocks_v1

    keras.backend.clear_session()
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(16, 3, name="conv1_conv")(inputs)
    x = stack_residual_blocks_v1(x, 8, 3, stride1=1, name="conv2")
    x = stack_residual_blocks_v1(x, 16, 2, name="conv3")
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    kmodel = keras.Model(inputs, x)
    valid = netspec.load(MINI)
    names = [n.name for n in valid.graph.nodes]
    assert sorted(names) == sorted(layer.name for layer in kmodel.layers[1:])
    for node in valid.graph.nodes:
        klayer = kmodel.get_layer(node.name)
        parents = klayer._inbound_nodes[0].parent_nodes
        assert [str(r) for r in node.inputs] == [
            p.operation.name if p.operation.name != "input_layer" else "input" for p in parents
        ]
    counts = param_counts(valid.graph)
    assert sum(map(sum, counts.values())) == kmodel.count_params()
    from tests.zoo import assert_same_outputs, randomise_batchnorm

    randomise_batchnorm(kmodel)
    assert_same_outputs(valid, kmodel)


def test_repeat_index_names_and_left_out_entries(tmp_path):
    valid = load_text(
        """
        netspec: 1
        input_shape: [4]
        layers:
          - {type: Dense, units: "${2 * i}", name: "d${i}", repeat: 3}
          - {type: Dense, units: 5, name: skipped, if: false}
          - {type: Dense, units: 1, name: "e${letter(j)}", repeat: {count: 2, index: j}}
          - {type: Add, inputs: [skipped, eb], name: add}
          - {type: Dense, units: 1, repeat: 0}
          - {type: Dense, units: 1, name: "z${j}", repeat: {count: 0, index: j}}
        """,
        tmp_path,
    )
    nodes = {n.name: n for n in valid.graph.nodes}
    assert list(nodes) == ["d1", "d2", "d3", "ea", "eb", "add"]
    assert [nodes[f"d{i}"].output for i in (1, 2, 3)] == [(2,), (4,), (6,)]
    # a left-out entry's name means its input: the previous value, d3
    assert [str(r) for r in nodes["add"].inputs] == ["d3", "eb"]


def test_unnamed_instances_get_keras_automatic_names(tmp_path):
    """Keras's helpers called with name=None (InceptionV3's conv2d_bn): automatic names."""
    valid = load_text(
        """
        netspec: 1
        input_shape: [8, 8, 3]
        blocks:
          conv_bn:
            args: {filters: required, name: null}
            layers:
              - {type: Conv2D, filters: "${filters}", kernel_size: 1, name: "${name}_conv"}
              - {type: BatchNormalization, name: "${name}_bn"}
              - {type: Activation, activation: relu, name: "${name}"}
        layers:
          - {block: conv_bn, filters: 4}
          - {block: conv_bn, filters: 4}
          - {block: conv_bn, filters: 4, name: mixed}
        """,
        tmp_path,
    )
    assert [n.name for n in valid.graph.nodes] == [
        "conv2d", "batch_normalization", "activation",
        "conv2d_1", "batch_normalization_1", "activation_1",
        "mixed_conv", "mixed_bn", "mixed",
    ]  # fmt: skip


def test_blocks_with_two_inputs_and_named_outputs(tmp_path):
    valid = load_text(
        """
        netspec: 1
        inputs: {a: {shape: [4]}, b: {shape: [4]}}
        blocks:
          merge:
            inputs: [left, right]
            outputs: sum
            layers:
              - {type: Add, inputs: [left, right], name: sum}
              - {type: Dense, units: 2, name: unused, inputs: sum}
        layers:
          - {block: merge, inputs: [a, b], name: m}
          - {type: Dense, units: 3, inputs: [m], name: out}
        outputs: [out, m_unused]
        """,
        tmp_path,
    )
    nodes = {n.name: n for n in valid.graph.nodes}
    assert [str(r) for r in nodes["out"].inputs] == ["m_sum"]
    assert [str(r) for r in nodes["m_unused"].inputs] == ["m_sum"]


def test_args_are_set_from_the_command_line():
    valid = load_with_overrides(MINI, ["args.classes=3"])
    assert valid.graph.output_shapes() == [(3,)]
    assert valid.expansion is not None and valid.expansion.args["classes"] == 3


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{block: nope}", "unknown block 'nope'"),
        ("{block: b}", "block 'b' needs argument 'units'"),
        ("{block: b, units: 2, unit: 3}", "has no argument 'unit'; did you mean 'units'?"),
        ("{block: b, units: '${units}'}", "unknown name 'units'"),
        ("{block: b, units: '${1 / 0}'}", "division by zero"),
        ("{block: b, units: '${open(1)}'}", "unknown function 'open'"),
        ("{block: b, units: '${x.__class__}'}", "Attribute is not allowed"),
        ("{block: b, units: '${[n for n in [1]]}'}", "ListComp is not allowed"),
        ("{block: b, units: '${9 ** 99}'}", "power out of range"),
        ("{block: b, units: 2, repeat: -1}", "repeat is a count from 0 to 1000"),
        ("{block: b, units: 2, if: 'yes'}", "if needs true or false"),
        ("{block: b, units: 2, inputs: [input, input]}", "takes 1 input(s) (x), got 2"),
        ("{model: no_such_model}", "no spec 'no_such_model'"),
    ],
)
def test_expansion_errors_are_located(tmp_path, entry, message):
    text = f"""
        netspec: 1
        input_shape: [4]
        blocks:
          b:
            args: {{units: required}}
            layers: [{{type: Dense, units: "${{units}}"}}]
        layers:
          - {entry}
        """
    found = errors_of(text, tmp_path)
    assert any(message in f for f in found), found
    assert all(f.split(":")[0] in ("7", "9") for f in found), found  # the entry or the block


def test_an_error_inside_a_block_names_every_use_site(tmp_path):
    found = errors_of(
        """
        netspec: 1
        input_shape: [4]
        blocks:
          inner:
            layers: [{type: Dense, units: -1, name: d}]
          outer:
            layers: [{block: inner, name: i}]
        layers:
          - {block: outer, name: o}
        """,
        tmp_path,
    )
    assert len(found) == 1
    assert "blocks.inner.layers[0].units" in found[0]
    assert "in block 'inner' used at " in found[0] and ":8:" in found[0] and "as 'o_i'" in found[0]
    assert "in block 'outer' used at " in found[0] and ":10:" in found[0]


def test_build_depth_folds_block_instances(capsys):
    with pytest.raises(SystemExit) as info:
        main(["build", str(MINI), "--json", "--depth", "0"])
    assert info.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["type"]) for r in data["layers"]] == [
        ("conv1_conv", "Conv2D"), ("conv2", "stack"), ("conv3", "stack"),
        ("avg_pool", "GlobalAveragePooling2D"), ("predictions", "Dense"),
    ]  # fmt: skip
    full = summary_dict(netspec.load(MINI).graph)
    assert data["total_params"] == full["total_params"]
    assert sum(r["params"] for r in data["layers"]) == full["total_params"]
    assert data["layers"][2]["inputs"] == ["conv2"]  # a folded instance by its name


def test_nested_model_is_frozen_and_takes_its_input_shape():
    valid = netspec.load(HERE / "finetune.yaml")
    assert valid.graph.inputs[0].shape == (20, 20, 3)
    nodes = {n.name: n for n in valid.graph.nodes}
    assert list(nodes) == ["conv1", "bn1", "pool", "head"]  # the base's own names
    assert not nodes["conv1"].layer.trainable and nodes["head"].layer.trainable
    model = netspec.build(valid, seed=0)
    model.train()
    bn = model.layers["bn1"]
    before = [b.clone() for b in bn.buffers()]
    import torch

    model(torch.randn(4, 20, 20, 3))  # a frozen BatchNormalization runs in inference mode
    assert all(torch.equal(a, b) for a, b in zip(before, bn.buffers(), strict=True))
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        "layers.head.kernel",
        "layers.head.bias",
    ] or all(not p.requires_grad for n, p in model.named_parameters() if "head" not in n)


def test_trainable_from_freezes_the_layers_before_it(tmp_path):
    (tmp_path / "base.yaml").write_text((HERE / "base.yaml").read_text())
    valid = load_text(
        """
        netspec: 1
        layers:
          - {model: base.yaml, trainable_from: bn1}
        """,
        tmp_path,
        "top.yaml",
    )
    trainable = {n.name: n.layer.trainable for n in valid.graph.nodes}
    assert trainable == {"conv1": False, "bn1": True, "pool": True, "predictions": True}


def test_nested_model_weights_load_into_its_layers(tmp_path):
    """`weights:` of a used spec (a Keras file written by Keras) load into its layers only."""
    import keras

    keras.backend.clear_session()
    inputs = keras.Input((20, 20, 3))
    x = keras.layers.Conv2D(4, 3, name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    base = keras.Model(inputs, x)
    from tests.zoo import randomise_batchnorm

    randomise_batchnorm(base)
    base.save_weights(tmp_path / "base.weights.h5")  # beside the spec that names it
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.yaml").write_text((HERE / "base.yaml").read_text())
    valid = load_text(
        """
        netspec: 1
        layers:
          - {model: models/base.yaml, include_top: false, input_shape: [20, 20, 3],
             weights: base.weights.h5, trainable: false}
          - {type: Dense, units: 2}
        """,
        tmp_path,
        "top.yaml",
    )
    model = netspec.build(valid, seed=0)
    model.eval()
    import torch

    x = np.random.default_rng(0).normal(size=(2, 20, 20, 3)).astype("float32")
    features = base.predict(x, verbose=0)
    captured = {}
    model.layers["pool"].register_forward_hook(lambda m, i, o: captured.update(out=o))
    with torch.no_grad():
        model(torch.from_numpy(x))
    np.testing.assert_allclose(captured["out"].numpy(), features, rtol=1e-5, atol=1e-6)


def test_a_spec_without_blocks_is_validated_as_written():
    valid = netspec.load(Path(__file__).resolve().parent.parent / "specs" / "mnist_mlp.yaml")
    assert valid.expansion is None


def test_nested_model_weights_from_a_safetensors_file(tmp_path):
    """A nested model's `weights:` may be a netspec weights file of that spec (its layers'
    tensors; strict: a file of another spec is refused)."""
    import torch

    from netspec.training.output.runs import save_weights

    (tmp_path / "base.yaml").write_text((HERE / "base.yaml").read_text())
    base = netspec.build(load_with_overrides(tmp_path / "base.yaml",
                                             ["args.include_top=false"]), seed=3)  # fmt: skip
    save_weights(tmp_path / "base.safetensors", base)
    text = """
        netspec: 1
        layers:
          - {model: base.yaml, include_top: false, weights: base.safetensors}
          - {type: Dense, units: 2, name: head}
        """
    model = netspec.build(load_text(text, tmp_path, "top.yaml"), seed=0)
    for key, value in base.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    save_weights(tmp_path / "base.safetensors", netspec.build(tmp_path / "base.yaml", seed=3))
    with pytest.raises(netspec.NetspecError, match="predictions"):
        netspec.build(load_text(text, tmp_path, "top.yaml"), seed=0)


def test_a_mistake_in_resnet50s_block_is_reported_at_both_lines(tmp_path):
    """The zoo's ResNet50 with one typo inside residual_block_v1: one diagnostic, at the line
    in the block and naming the use sites (the stack's line and the model's line)."""
    text = (ZOO_DIR / "resnet50.yaml").read_text()
    bad = text.replace("padding: same, name: 2_conv", "padding: sane, name: 2_conv")
    assert bad != text
    lines = bad.splitlines()
    block_line = next(i for i, s in enumerate(lines, 1) if "padding: sane" in s)
    stack_line = next(i for i, s in enumerate(lines, 1) if "name: block1}" in s)
    use_line = next(i for i, s in enumerate(lines, 1) if "name: conv2}" in s)
    (tmp_path / "resnet50.yaml").write_text(bad)
    with pytest.raises(SpecError) as info:
        netspec.load(tmp_path / "resnet50.yaml")
    (d,) = info.value.diagnostics
    assert d.line == block_line and d.path == "blocks.residual_block_v1.layers[5].padding"
    assert f"resnet50.yaml:{stack_line}:" in d.message and f"resnet50.yaml:{use_line}:" in d.message
    assert "as 'conv2_block1'" in d.message and "as 'conv2'" in d.message


def test_build_json_of_the_zoo_resnet50(capsys):
    """The issue's check: `netspec build specs/applications/resnet50.yaml --json`."""
    with pytest.raises(SystemExit) as info:
        main(["build", str(ZOO_DIR / "resnet50.yaml"), "--json"])
    assert info.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total_params"], data["trainable_params"]) == (25_636_712, 25_583_592)
    names = {row["name"] for row in data["layers"]}
    assert {"conv1_conv", "conv2_block1_0_conv", "conv5_block3_3_bn", "predictions"} <= names
    assert len(data["layers"]) == 176  # Keras's ResNet50: 177 layers with its InputLayer


def test_declared_weights_that_fail_name_where_they_were_declared(tmp_path):
    (tmp_path / "base.yaml").write_text((HERE / "base.yaml").read_text())
    valid = load_text(
        """
        netspec: 1
        layers:
          - {model: base.yaml, include_top: false, input_shape: [8, 8, 3], weights: nope.h5}
          - {type: Dense, units: 2}
        """,
        tmp_path,
        "top.yaml",
    )
    with pytest.raises(netspec.NetspecError) as info:
        netspec.build(valid, seed=0)
    assert str(info.value) == f"{tmp_path / 'top.yaml'}:4:5: layers[0].weights: " + (
        f"{tmp_path / 'nope.h5'}: no such weights file"
    )
