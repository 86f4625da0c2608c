"""train.loggers: TensorBoard event files, an MLflow run and Keras's CSVLogger file, each read
back by its own library (Keras's CSVLogger for the CSV), through netspec.fit and the CLI."""

import os
from types import SimpleNamespace

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import netspec
from netspec.cli import app
from netspec.errors import NetspecError
from netspec.training.engine.distributed import Ranks
from netspec.training.loggers import NEEDS, logger_sets, make_loggers
from netspec.training.loggers.csv_logger import CSVLogger
from netspec.training.loggers.spec import LOGGERS, LoggerField


def spec_with(loggers, dropout: float = 0.0) -> dict:
    return {
        "netspec": 1,
        "name": "tiny",
        "input_shape": [4],
        "layers": [
            {"type": "Dense", "units": 8, "activation": "relu"},
            {"type": "Dropout", "rate": dropout},
            {"type": "Dense", "units": 3, "activation": "softmax"},
        ],
        "compile": {
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },  # fmt: skip
        "train": {"seed": 3, "batch_size": 16, "epochs": 3, "loggers": loggers},
    }


def data(n: int = 80):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def train(tmp_path, loggers, dropout: float = 0.0, run="run"):
    x, y = data()
    model = netspec.build(spec_with(loggers, dropout))
    where = tmp_path / run if run else None
    history = netspec.fit(model, x, y, validation_data=(x[:20], y[:20]), verbose=0, run=where)
    return model, history.history


def scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    values = {t: [(e.step, e.value) for e in events.Scalars(t)] for t in tags["scalars"]}
    return values, tags


@pytest.mark.slow  # a training run
def test_tensorboard_writes_keras_tags_read_back_by_tensorboard(tmp_path):
    entry = {"type": "TensorBoard", "update_freq": 2, "histogram_freq": 2}
    _, history = train(tmp_path, [entry])
    logs = tmp_path / "run" / "logs"  # Keras's default log_dir, in the run folder
    train_values, tags = scalars(logs / "train")
    f32 = lambda values: [float(np.float32(v)) for v in values]  # noqa: E731 - TB's floats
    for key in ("loss", "accuracy"):
        assert train_values[f"epoch_{key}"] == list(enumerate(f32(history[key])))
    assert train_values["epoch_learning_rate"] == [(e, pytest.approx(0.001)) for e in range(3)]
    steps = [s for s, _ in train_values["batch_loss"]]
    assert steps == list(range(2, 16, 2))  # 5 steps an epoch: Keras's global batch, every 2
    # the last step of epoch 2 (step 10) logs the epoch's running mean: the epoch's loss
    assert dict(train_values["batch_loss"])[10] == pytest.approx(history["loss"][1], rel=1e-6)
    assert tags["graph"]
    assert "dense/kernel/histogram" in tags["histograms"]
    val_values, _ = scalars(logs / "validation")
    assert val_values["epoch_loss"] == list(enumerate(f32(history["val_loss"])))
    iterations = [s for s, _ in val_values["evaluation_loss_vs_iterations"]]
    assert iterations == [5, 10, 15]


@pytest.mark.slow  # a training run
def test_loggers_leave_training_as_it_was(tmp_path):
    """The graph is traced in eval mode with the RNG kept: with dropout, the same history and
    weights as without any logger."""
    entry = {"type": "TensorBoard", "update_freq": "batch", "histogram_freq": 1}
    plain_model, plain = train(tmp_path, [], dropout=0.5, run=None)
    logged_model, logged = train(tmp_path, [entry, "csv"], dropout=0.5)
    assert logged == plain
    for key, value in plain_model.state_dict().items():
        assert torch.equal(value, logged_model.state_dict()[key])


@pytest.mark.slow  # a training run
def test_mlflow_run_read_back_by_mlflow(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3's opt-in to file stores
    uri = (tmp_path / "mlruns").as_uri()
    entry = {"type": "MLflow", "tracking_uri": uri, "experiment_name": "tiny-exp"}
    _, history = train(tmp_path, [entry])
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny-exp")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    for key, values in history.items():
        got = client.get_metric_history(run.info.run_id, key)
        assert [(m.step, m.value) for m in got] == list(enumerate(values))
    params = run.data.params
    assert params["compile.loss.type"] == "SparseCategoricalCrossentropy"
    assert params["train.batch_size"] == "16" and params["layers.0.units"] == "8"
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"spec.yaml", "history.json", "weights.safetensors", "checkpoint.safetensors"} <= files


@pytest.mark.slow  # imports mlflow
def test_mlflow_refusal_is_a_netspec_error(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    entry = {"type": "MLflow", "tracking_uri": (tmp_path / "mlruns").as_uri()}
    with pytest.raises(NetspecError, match="train.loggers: MLflow: .*MLFLOW_ALLOW_FILE_STORE"):
        train(tmp_path, [entry], run=None)


LOGS = [
    {"loss": 0.9, "accuracy": 0.5, "val_loss": 1.25, "val_accuracy": 0.25},
    {"loss": 0.7000000000000001, "accuracy": 0.625, "val_loss": 1.0, "val_accuracy": 1 / 3},
]


@pytest.mark.slow  # imports keras
@pytest.mark.parametrize(
    ("logs", "separator", "append"),
    [(LOGS, ",", False), ([{"loss": 0.5, "mae": 2.0}] * 2, ",", False), (LOGS, ";", True)],
    ids=["validation", "no-validation-NA-columns", "separator-append"],
)
def test_csv_logger_writes_what_keras_csvlogger_writes(tmp_path, logs, separator, append):
    import keras

    files = {}
    for name in ("keras", "netspec"):
        path = tmp_path / f"{name}.csv"
        path.write_text("old\r\n" if append else "")
        if name == "keras":
            logger = keras.callbacks.CSVLogger(str(path), separator=separator, append=append)
            logger.on_train_begin()
            for epoch, entry in enumerate(logs):
                logger.on_epoch_end(epoch, dict(entry))
            logger.on_train_end()
        else:
            cfg = LOGGERS.get("CSVLogger")(filename=str(path), separator=separator, append=append)
            ours, trainer = CSVLogger(cfg), SimpleNamespace(run=None, epoch=0)
            ours.on_train_begin(trainer)
            for epoch, entry in enumerate(logs):
                ours.on_epoch_end(trainer, epoch, dict(entry))
            ours.on_train_end(trainer)
        files[name] = path.read_bytes()
    assert files["netspec"] == files["keras"]


@pytest.mark.slow  # a training run
def test_csv_logger_of_a_run_holds_its_history(tmp_path):
    import csv

    _, history = train(tmp_path, [{"type": "CSVLogger", "filename": "epochs.csv"}])
    with (tmp_path / "run" / "epochs.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in history.items():
        assert [float(r[key]) for r in rows] == values


def test_logger_names_and_objects_validate():
    from pydantic import TypeAdapter, ValidationError

    adapter = TypeAdapter(list[LoggerField])
    got = adapter.validate_python(["tensorboard", "mlflow", "csv", {"type": "CSVLogger"}])
    assert [g.type for g in got] == ["TensorBoard", "MLflow", "CSVLogger", "CSVLogger"]
    assert got[0].log_dir == "logs" and got[0].update_freq == "epoch"
    with pytest.raises(ValidationError, match="did you mean 'tensorboard'"):
        adapter.validate_python(["tensorbord"])
    with pytest.raises(ValidationError):
        adapter.validate_python([{"type": "TensorBoard", "update_freq": 0}])


@pytest.mark.parametrize("name", LOGGERS.names())
def test_every_registered_logger_has_a_callback(name):
    from netspec.training.engine.hooks import Callback

    valid = netspec.loads(_yaml(spec_with([name])))
    (callback,) = make_loggers(valid)
    assert isinstance(callback, Callback) and callback.cfg.type == name


def test_no_loggers_no_callback_and_rank_0_alone_logs():
    valid = netspec.loads(_yaml(spec_with([])))
    assert make_loggers(valid) == []
    logged = netspec.loads(_yaml(spec_with(["csv", "tensorboard"])))
    assert len(make_loggers(logged, Ranks(rank=0, world=2, local_rank=0, device="cpu"))) == 2
    assert make_loggers(logged, Ranks(rank=1, world=2, local_rank=1, device="cpu")) == []
    # per-epoch TensorBoard: the trainer makes no per-step call
    from netspec.training.engine.data import Split
    from netspec.training.engine.trainer import Trainer

    x, y = data(16)
    model = netspec.build(logged)
    trainer = Trainer(model, logged, {"train": Split([x], [y])}, callbacks=make_loggers(logged))
    assert not trainer._batch_hooks


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def test_a_missing_package_names_the_extra(monkeypatch, tmp_path):
    # the table's module name is what is looked for: one that no environment has
    monkeypatch.setitem(NEEDS, "TensorBoard", ("netspec_no_such_module", "tensorboard"))
    with pytest.raises(NetspecError, match=r"pip install 'netspec\[tensorboard\]'"):
        train(tmp_path, ["tensorboard"], run=None)
    assert not (tmp_path / "logs").exists()


def test_logger_option_adds_to_the_spec_loggers(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(_yaml(spec_with([{"type": "CSVLogger", "separator": ";"}])))
    sets = logger_sets(path, ["tensorboard", "csv", "TensorBoard"])
    assert sets == ['train.loggers=[{"type": "CSVLogger", "separator": ";"}, "TensorBoard"]']
    with pytest.raises(NetspecError, match="--logger tensorbord: unknown logger.*tensorboard"):
        logger_sets(path, ["tensorbord"])


@pytest.mark.slow  # a CLI training run
def test_cli_logger_option_trains_with_the_loggers(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(_yaml(spec_with([])))
    x, y = data()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    run = tmp_path / "run"
    argv = ["train", str(path), "--data", str(tmp_path / "d.npz"), "--out", str(run), "-q"]
    result = CliRunner().invoke(app, [*argv, "--logger", "csv", "--logger", "tensorboard"])
    assert result.exit_code == 0, result.output
    assert (run / "log.csv").read_text().startswith("epoch,accuracy,loss,val_accuracy")
    assert any((run / "logs" / "train").iterdir())
    assert "type: TensorBoard" in (run / "spec.yaml").read_text()
    bad = CliRunner().invoke(app, [*argv[:-3], "--out", str(tmp_path / "r2"), "--logger", "x"])
    assert bad.exit_code == 1 and "--logger x: unknown logger" in bad.stderr
