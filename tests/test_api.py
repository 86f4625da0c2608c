"""The Python API: load, build, names, seeds, forward conventions, penalties, torch.compile."""

from pathlib import Path

import pytest
import torch
from helpers import python_output

import netspec
from netspec.errors import SpecError

MLP = """
netspec: 1
name: mlp
input_shape: [8]
layers:
  - {type: Dense, units: 16, activation: relu}
  - {type: Dense, units: 16, activation: relu, name: dense_1}
  - {type: Dense, units: 4}
"""


def test_load_gives_the_validated_spec_without_building():
    spec = netspec.loads(MLP)
    assert spec.name == "mlp"
    assert spec.layers[0].units == 16
    assert spec.layers[0].kernel_initializer.type == "GlorotUniform"
    assert spec.layers[0].bias_initializer.type == "Zeros"


def test_automatic_names_skip_names_already_taken():
    graph = netspec.loads(MLP).graph
    assert [n.name for n in graph.nodes] == ["dense", "dense_1", "dense_2"]


def test_state_dict_keys_are_spec_names():
    model = netspec.build(netspec.loads(MLP), seed=0)
    assert list(model.state_dict()) == [
        "layers.dense.kernel",
        "layers.dense.bias",
        "layers.dense_1.kernel",
        "layers.dense_1.bias",
        "layers.dense_2.kernel",
        "layers.dense_2.bias",
    ]
    assert model.layers["dense_1"].kernel.shape == (16, 16)


def test_same_seed_same_weights_other_seed_other_weights():
    a = netspec.build(netspec.loads(MLP), seed=1).state_dict()
    b = netspec.build(netspec.loads(MLP), seed=1).state_dict()
    c = netspec.build(netspec.loads(MLP), seed=2).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["layers.dense.kernel"], c["layers.dense.kernel"])


def test_build_accepts_a_path_and_a_dict(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MLP)
    assert netspec.build(path, seed=0)(torch.zeros(2, 8)).shape == (2, 4)
    data = {"netspec": 1, "input_shape": [3], "layers": [{"type": "Dense", "units": 2}]}
    assert netspec.build(data)(torch.zeros(5, 3)).shape == (5, 2)


def test_biases_default_to_zeros_and_kernels_to_glorot_uniform():
    model = netspec.build(
        {"netspec": 1, "input_shape": [300], "layers": [{"type": "Dense", "units": 500}]}, seed=0
    )
    dense = model.layers["dense"]
    assert torch.count_nonzero(dense.bias) == 0
    limit = (6 / (300 + 500)) ** 0.5
    assert dense.kernel.abs().max() <= limit
    assert dense.kernel.abs().max() > 0.95 * limit


def test_first_layer_input_shape_as_in_keras_tutorial():
    spec = netspec.loads(
        "netspec: 1\nlayers:\n  - {type: Dense, units: 32, input_shape: [16]}\n"
        "  - {type: Dense, units: 8}\n"
    )
    assert spec.graph.inputs[0].shape == (16,)
    assert netspec.build(spec)(torch.zeros(2, 16)).shape == (2, 8)


def test_input_shape_given_twice_is_located():
    with pytest.raises(SpecError) as info:
        netspec.loads(
            "netspec: 1\ninput_shape: [4]\nlayers:\n  - {type: Dense, units: 2, input_shape: [4]}\n"
        )
    (d,) = info.value.diagnostics
    assert (d.line, d.path) == (4, "layers[0].input_shape")
    assert "given twice" in d.message


def test_trainable_false_freezes_and_counts_as_non_trainable():
    from netspec.summary import summary_dict

    spec = netspec.loads(
        "netspec: 1\ninput_shape: [4]\nlayers:\n"
        "  - {type: Dense, units: 3, trainable: false}\n"
        "  - {type: Dense, units: 2}\n"
    )
    model = netspec.build(spec)
    assert not any(p.requires_grad for p in model.layers["dense"].parameters())
    assert all(p.requires_grad for p in model.layers["dense_1"].parameters())
    info = summary_dict(spec.graph)
    assert (info["trainable_params"], info["non_trainable_params"]) == (8, 15)


def test_dense_applies_to_the_last_axis_of_any_rank():
    model = netspec.build(
        {"netspec": 1, "input_shape": [5, 7, 3], "layers": [{"type": "Dense", "units": 2}]}
    )
    assert model(torch.zeros(4, 5, 7, 3)).shape == (4, 5, 7, 2)


def test_forward_rejects_wrong_inputs():
    model = netspec.build(netspec.loads(MLP))
    with pytest.raises(TypeError):
        model(torch.zeros(1, 8), torch.zeros(1, 8))
    with pytest.raises(TypeError):
        model(wrong=torch.zeros(1, 8))
    assert model(input=torch.zeros(1, 8)).shape == (1, 4)


def test_penalties_and_constraints_are_exposed():
    model = netspec.build(
        {
            "netspec": 1,
            "input_shape": [6],
            "layers": [
                {
                    "type": "Dense",
                    "units": 3,
                    "kernel_regularizer": {"type": "L2", "l2": 0.5},
                    "activity_regularizer": "l1",
                    "kernel_constraint": "non_neg",
                }
            ],
        },
        seed=0,
    )
    kernel = model.layers["dense"].kernel
    assert torch.allclose(model.regularization_loss(), 0.5 * kernel.square().sum())
    out = model(torch.ones(4, 6))
    assert torch.allclose(model.activity_loss(), 0.01 * out.abs().sum() / 4)
    model.apply_constraints()
    assert (kernel >= 0).all()


def test_memory_budget_refuses_before_allocating():
    from netspec.errors import BudgetError

    spec = {"netspec": 1, "input_shape": [100000], "layers": [{"type": "Dense", "units": 100000}]}
    with pytest.raises(BudgetError, match="needs about 37.3 GiB"):
        netspec.build(spec, max_memory=2**30)


@pytest.mark.slow  # torch.compile
def test_torch_compile_runs_the_model_and_records_activity_penalties():
    model = netspec.build(
        {
            "netspec": 1,
            "input_shape": [8],
            "layers": [
                {"type": "Dense", "units": 16, "activation": "relu", "activity_regularizer": "l2"},
                {"type": "Dropout", "rate": 0.5},
                {"type": "Dense", "units": 4},
            ],
        },
        seed=0,
    ).eval()
    x = torch.randn(3, 8)
    compiled = torch.compile(model)
    assert torch.allclose(compiled(x), model(x), atol=1e-6)
    eager = model.activity_loss().detach()
    compiled(2 * x)
    assert not torch.allclose(model.activity_loss(), eager)
    compiled(x)
    assert torch.allclose(model.activity_loss(), eager, atol=1e-6)


def test_a_model_deep_copies_after_a_forward_with_activity_penalties():
    import copy

    model = netspec.build(
        {
            "netspec": 1,
            "input_shape": [4],
            "layers": [{"type": "Dense", "units": 3, "activity_regularizer": "l2"}],
        },
        seed=0,
    )
    model(torch.randn(2, 4))
    twin = copy.deepcopy(model)
    assert torch.equal(twin.layers["dense"].kernel, model.layers["dense"].kernel)
    x = torch.randn(5, 4)
    assert torch.allclose(twin(x), model(x))
    assert torch.allclose(twin.activity_loss(), model.activity_loss())


COMPILE_BREAKS = """netspec: 1
input_shape: [5, 3]
layers:
  - {type: LSTM, units: 4, return_sequences: true}
  - {type: Dropout, rate: 0.5, seed: 3}
  - {type: GaussianNoise, stddev: 0.1, seed: 2}
  - {type: GRU, units: 2}
"""


@pytest.mark.slow  # torch.compile
def test_compile_breaks_around_seeded_masks_and_fused_rnns_without_eager_cost():
    """The fused RNN kernels and seeded masks run outside a compiled graph (as
    torch.compiler.disable), equal to eager; eager use never imports torch._dynamo (a second
    of start-up that a short training run would pay)."""

    spec = netspec.loads(COMPILE_BREAKS)
    x = torch.randn(2, 5, 3)
    eager = netspec.build(spec, seed=0).train()(x)
    compiled = torch.compile(netspec.build(spec, seed=0).train())
    torch.testing.assert_close(compiled(x), eager)
    code = (
        "import sys, torch, netspec\n"
        f"m = netspec.build(netspec.loads({COMPILE_BREAKS!r}), seed=0).train()\n"
        "m(torch.randn(2, 5, 3))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    assert python_output(code) == "False"


@pytest.mark.slow  # fresh interpreters
def test_public_names_resolve_on_first_use():
    # `import netspec` alone loads no pydantic (the console script's `netspec.heap` relies on
    # it); each name of __all__ then resolves to its module's object
    code = "import sys, netspec; print('pydantic' in sys.modules, 'netspec.loader' in sys.modules)"
    assert python_output(code) == "False False"
    for name in netspec.__all__:
        assert getattr(netspec, name) is not None
        assert name in dir(netspec)
    from netspec.api import build

    assert netspec.build is build  # compiler.build, keeping the spec (model.spec)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        netspec.nope  # noqa: B018


def test_the_readme_python_api_example_runs(monkeypatch):
    """README's "Python API" block, as written, from the repository root."""
    root = Path(__file__).resolve().parent.parent
    text = (root / "README.md").read_text()
    section = text[text.index("## Python API") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(root)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["valid"].layers[0].units == 512
    assert scope["y"].shape == (32, 10)
