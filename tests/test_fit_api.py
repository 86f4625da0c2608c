"""netspec.fit / evaluate / predict on arrays, tensors, lists, dicts and DataLoaders: the same
training as `netspec train`'s loop, the data checked as --data is, and README's block."""

import os
import shlex
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.training.engine.data import Split
from netspec.training.engine.hooks import Callback
from netspec.training.engine.loop import evaluate as loop_evaluate
from netspec.training.engine.loop import fit as loop_fit

ROOT = Path(__file__).resolve().parent.parent

MLP = """netspec: 1
name: mlp
input_shape: [4]
layers:
  - {type: Dense, units: 8, activation: relu}
  - {type: Dropout, rate: 0.25}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: adam, loss: sparse_categorical_crossentropy, metrics: [accuracy]}
train: {seed: 5, batch_size: 16, epochs: 4}
"""

TWO = """netspec: 1
name: two
inputs:
  a: {shape: [3]}
  b: {shape: [2]}
layers:
  - {type: Concatenate, inputs: [a, b]}
  - {type: Dense, units: 4, activation: relu, name: hidden}
  - {type: Dense, units: 1, name: reg}
  - {type: Dense, units: 2, activation: softmax, name: cls, inputs: hidden}
outputs: [reg, cls]
compile:
  optimizer: sgd
  loss: {reg: mse, cls: sparse_categorical_crossentropy}
train: {seed: 1, batch_size: 8, epochs: 2}
"""


def mlp_data(n: int = 64):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def two_data(n: int = 24):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")
    return a, b, rng.normal(size=(n, 1)).astype("float32"), rng.integers(0, 2, n)


def same_weights(m1, m2) -> bool:
    s1, s2 = m1.state_dict(), m2.state_dict()
    return all(torch.equal(s1[k], s2[k]) for k in s1)


@pytest.mark.slow  # training runs
def test_fit_is_the_trainer_of_netspec_train():
    """netspec.fit with keyword overrides == the loop the CLI runs on the overridden spec."""
    x, y = mlp_data()
    model = netspec.build(netspec.loads(MLP))
    history = netspec.fit(model, x, y, epochs=2, batch_size=8, validation_data=(x[:16], y[:16]),
                          verbose=0)  # fmt: skip
    spec = netspec.loads(MLP.replace("batch_size: 16, epochs: 4", "batch_size: 8, epochs: 2"))
    twin = netspec.build(spec)
    expected = loop_fit(twin, spec, {"train": Split([x], [y]), "val": Split([x[:16]], [y[:16]])})
    assert history.history == expected
    assert history.epoch == [0, 1] and history.params["steps"] == 8
    assert same_weights(model, twin)
    assert model.spec.train.epochs == 4  # the model's spec is left as built


@pytest.mark.slow  # training runs
def test_tensors_and_a_dataloader_train_as_arrays():
    x, y = mlp_data()
    by_arrays = netspec.build(netspec.loads(MLP))
    netspec.fit(by_arrays, x, y, epochs=1, verbose=0)
    by_tensors = netspec.build(netspec.loads(MLP))
    netspec.fit(by_tensors, torch.tensor(x), torch.tensor(y), epochs=1, verbose=0)
    assert same_weights(by_arrays, by_tensors)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=16
    )
    by_loader = netspec.build(netspec.loads(MLP))
    history = netspec.fit(by_loader, loader, epochs=1, verbose=0)  # batch_size 16: the loader's
    assert same_weights(by_arrays, by_loader)
    assert netspec.evaluate(by_loader, loader) == netspec.evaluate(by_arrays, x, y)
    np.testing.assert_array_equal(netspec.predict(by_loader, loader),
                                  netspec.predict(by_arrays, x))  # fmt: skip
    assert list(history.history) == ["loss", "accuracy"]


@pytest.mark.slow  # training runs
def test_several_inputs_and_outputs_by_list_and_by_name():
    a, b, reg, cls = two_data()
    spec = netspec.loads(TWO)
    by_list = netspec.build(spec)
    h1 = netspec.fit(by_list, [a, b], [reg, cls], verbose=0)
    by_name = netspec.build(spec)
    h2 = netspec.fit(by_name, {"b": b, "a": a}, {"cls": cls, "reg": reg}, verbose=0)
    assert h1.history == h2.history and "reg_loss" in h1.history
    assert same_weights(by_list, by_name)
    preds = netspec.predict(by_list, {"a": a, "b": b})
    assert [p.shape for p in preds] == [(24, 1), (24, 2)]
    # one sample-weight array weighs both outputs; per output by name
    weights = np.linspace(0.5, 1.5, 24).astype("float32")
    both = netspec.evaluate(by_list, [a, b], [reg, cls], sample_weight=weights, return_dict=True)
    split = Split([a, b], [reg, cls], [weights, weights])
    assert both == loop_evaluate(by_list, spec, split)
    per = {"cls": weights, "reg": weights}
    assert (
        netspec.evaluate(by_list, [a, b], [reg, cls], sample_weight=per, return_dict=True) == both
    )


def test_evaluate_and_predict_as_keras_returns_them():
    x, y = mlp_data(20)
    model = netspec.build(netspec.loads(MLP))
    values = netspec.evaluate(model, x, y)
    logs = loop_evaluate(model, model.spec, Split([x], [y]))
    assert values == list(logs.values())
    assert netspec.evaluate(model, x, y, return_dict=True) == logs
    model.eval()
    with torch.no_grad():
        expected = model(torch.tensor(x)).numpy()
    np.testing.assert_allclose(netspec.predict(model, x, batch_size=7), expected, rtol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda m, x, y: netspec.fit(m, x[:, :3], y),
            "fit(): x has shape (20, 3); input 'input' expects (N, 4)",
        ),
        (lambda m, x, y: netspec.fit(m, x, y + 3), "fit(): y holds class labels from 3 to 5"),
        (lambda m, x, y: netspec.fit(m, x, y[:10]), "fit(): the train arrays differ in length"),
        (lambda m, x, y: netspec.fit(m, x, y, epochs=0), "fit(epochs=0): Input should be greater"),
        (
            lambda m, x, y: netspec.fit(m, x, y, class_weight={0: "a"}),
            "class_weight=...): expected a dict",
        ),
        (lambda m, x, y: netspec.fit(m, x, y, validation_data=(x,)), "expected (x, y), (x, y, "),
        (lambda m, x, y: netspec.fit(m, x), "fit(): no y given"),
        (lambda m, x, y: netspec.fit(m, {"x": x}, y), "fit(): x has no input 'x'"),
        (lambda m, x, y: netspec.fit(torch.nn.Linear(4, 3), x, y), "the model carries no spec"),
        (lambda m, x, y: netspec.fit(m, x, y, sample_weight=y[:3]), "sample_weight has shape"),
        (lambda m, x, y: netspec.predict(m, [x, x]), "x holds 2 arrays; the model has 1 input"),
    ],
    ids=[
        "shape",
        "labels",
        "lengths",
        "epochs",
        "class_weight",
        "validation_data",
        "no-y",
        "input-name",
        "no-spec",
        "sample_weight",
        "inputs",
    ],  # fmt: skip
)
def test_data_and_keyword_errors_are_netspec_errors(call, message):
    x, y = mlp_data(20)
    model = netspec.build(netspec.loads(MLP))
    with pytest.raises(NetspecError) as info:
        call(model, x, y)
    assert message in str(info.value)


@pytest.mark.slow  # training runs
def test_run_folder_only_when_asked_and_callbacks_are_called(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, y = mlp_data()

    class Count(Callback):
        def __init__(self):
            self.calls = []

        def on_train_begin(self, trainer):
            self.calls.append("begin")

        def on_epoch_end(self, trainer, epoch, logs):
            self.calls.append(epoch)

        def on_train_end(self, trainer):
            self.calls.append("end")

    count = Count()
    model = netspec.build(netspec.loads(MLP))
    netspec.fit(model, x, y, epochs=2, callbacks=[count], verbose=0)
    assert count.calls == ["begin", 0, 1, "end"]
    assert list(tmp_path.iterdir()) == []  # nothing written
    model = netspec.build(netspec.loads(MLP))
    history = netspec.fit(model, x, y, epochs=2, run="run", verbose=0)
    assert same_weights(netspec.load_run("run"), model)
    assert (tmp_path / "run" / "history.json").is_file() and history.epoch == [0, 1]
    with pytest.raises(NetspecError, match="already holds a run"):
        netspec.fit(model, x, y, run="run", verbose=0)


def test_build_keeps_the_spec_and_seeds_from_it():
    spec = netspec.loads(MLP)
    a, b = netspec.build(spec), netspec.build(spec)
    assert a.spec is spec and same_weights(a, b)  # train.seed 5
    assert not same_weights(a, netspec.build(spec, seed=6))


def readme_block(title: str, fence: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(title) :]
    return section.split(f"```{fence}\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow  # trains the digits CNN for two epochs
def test_the_readme_training_from_python_block_runs(monkeypatch):
    code = readme_block("### Training from Python", "python")
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["history"].epoch == [0, 1]
    assert set(scope["history"].history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert scope["probs"].shape == (8, 10)


@pytest.mark.slow  # a CLI training run
def test_the_readme_logger_command_runs(tmp_path, monkeypatch):
    line = readme_block("### Experiment tracking", "sh").strip()
    argv = shlex.split(line)
    assert argv[0] == "netspec"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").symlink_to(ROOT / "specs")  # the command's paths, from the root
    result = CliRunner().invoke(app, argv[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "log.csv").read_text().count("\n") == 2  # the header, one epoch
    assert any((run / "logs" / "validation").iterdir())
