"""The spec's `compile:` and `train:` sections: Keras's `model.compile()` and `model.fit()`
arguments, with Keras's names and defaults (no torch import)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from ...layers.base import NAME_PATTERN
from ...registry import did_you_mean
from ...vocab.bounds import SEED_END
from ..loggers.spec import LoggerField
from .losses import LossField
from .metrics import METRICS, MetricField
from .monitor import MODE_FIELD, MonitorMode
from .optimizers import OptimizerField
from .plateau import ReduceLROnPlateau

OutputName = Annotated[str, Field(pattern=NAME_PATTERN[:-1] + r"(:[0-9]+)?$")]
Accuracy = Literal["accuracy", "acc"]
# a class index: YAML's integer key, or its text where the spec went through JSON (a run's
# spec.yaml, JSON's string keys)
ClassIndex = Annotated[int, Field(ge=0, strict=False)]


def _known_metric(value: Any) -> Any:
    # one message for an unknown name (rather than one per branch of the union below), and
    # `accuracy`, the name most often meant, among the suggestions
    if isinstance(value, str) and value not in ("accuracy", "acc") and value not in METRICS:
        names = [*METRICS.all_names(), "accuracy", "acc"]  # the last of equal names shows
        raise ValueError(f"unknown metric '{value}'" + did_you_mean(value, names))
    return value


Metric = Annotated[Accuracy | MetricField, BeforeValidator(_known_metric)]


class CompileSpec(BaseModel):
    """Keras's `model.compile()`: the optimizer, the loss and the metrics."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    optimizer: OptimizerField = Field(
        "rmsprop",
        validate_default=True,
        description="The optimizer: a name (adam) or {type: Adam, learning_rate: ...}.",
    )
    loss: LossField | dict[OutputName, LossField] | None = Field(
        None,
        description="The loss: a name or {type: ...} object, or a mapping of output name to "
        "loss for a model with several outputs. Required to train or evaluate.",
    )
    loss_weights: list[float] | dict[OutputName, float] | None = Field(
        None,
        description="Weights of the outputs' losses in the total loss, in output order or "
        "by output name (default: 1 each).",
    )
    metrics: list[Metric] | dict[OutputName, list[Metric]] = Field(
        [],
        description="Metrics reported each epoch (for every output, or a mapping of output "
        "name to metrics); `accuracy`/`acc` picks binary, categorical or sparse categorical "
        "accuracy from the shapes, as Keras does.",
    )

    weighted_metrics: list[Metric] | dict[OutputName, list[Metric]] = Field(
        [],
        description="Metrics weighted by the samples' weights (sample_weight in the data, or "
        "train.class_weight), as Keras's weighted_metrics; `metrics` never are. Named as "
        "metrics, with `weighted_` before a name `metrics` already has (weighted_accuracy).",
    )

    @field_validator("metrics", "weighted_metrics", mode="before")
    @classmethod
    def _keep_given_names(cls, value: Any) -> Any:
        # Keras names a metric given as a string by that string (`mae` is reported as mae);
        # the object form carries it as `name`.
        if isinstance(value, dict):
            return {k: _named(v) if isinstance(v, list) else v for k, v in value.items()}
        return _named(value) if isinstance(value, list) else value


def _named(metrics: list) -> list:
    return [
        {"type": METRICS.canonical(m), "name": m}
        if isinstance(m, str) and m not in ("accuracy", "acc") and m in METRICS
        else m
        for m in metrics
    ]


class EarlyStoppingSpec(BaseModel):
    """Keras's `EarlyStopping` callback."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    monitor: str = Field("val_loss", description="The history entry watched.")
    patience: int = Field(0, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="The smallest change counted as improvement.")
    restore_best_weights: bool = Field(
        False, description="Whether to restore the weights of the best epoch at the end."
    )
    mode: MonitorMode = MODE_FIELD
    baseline: float | None = Field(
        None,
        description="Patience restarts only at a value that also beats this baseline.",
    )
    start_from_epoch: int = Field(
        0, ge=0, description="Epochs of warm-up before improvement is watched."
    )


class CheckpointSpec(BaseModel):
    """The run folder's checkpoints: a resumable `checkpoint.safetensors` every `every` epochs,
    and `best.safetensors` (as Keras's `ModelCheckpoint(save_best_only=True)`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    every: int = Field(
        1, ge=0, description="Epochs between resumable checkpoints (0: none, so no --resume)."
    )
    monitor: str | None = Field(
        None,
        description="The history entry that picks best.safetensors (default: early_stopping's "
        "monitor when early_stopping is set; else no best.safetensors).",
    )
    mode: MonitorMode = MODE_FIELD
    keep: int | None = Field(
        None,
        ge=1,
        description="Also keep the `keep` best epochs' weights by the monitor, as "
        "best/weights.EPOCH-VALUE.safetensors (Keras's ModelCheckpoint filepath "
        "'weights.{epoch:02d}-{val_loss:.4f}', epochs from 1); a worse epoch's file is removed "
        "when a better one comes; best.safetensors stays the best. Needs a monitor.",
    )
    restore_best_weights: bool = Field(
        False,
        description="At the end of training, give the model (and so weights.safetensors) the "
        "weights of best.safetensors, the best epoch by the monitor; the resumable "
        "checkpoint keeps the last epoch's. Needs a monitor. Applied after "
        "early_stopping.restore_best_weights when both are set.",
    )


class TrainSpec(BaseModel):
    """Keras's `model.fit()` arguments."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    epochs: int = Field(1, ge=1, description="Number of passes over the training data.")
    batch_size: int = Field(32, ge=1, description="Samples per gradient step.")
    shuffle: bool = Field(True, description="Shuffle the training samples each epoch.")
    validation_split: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the training data held out for validation: the last samples, "
        "taken before shuffling (as Keras).",
    )
    seed: int | None = Field(
        None, ge=0, lt=SEED_END, description="Seed of the initial weights, shuffling and dropout."
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Stop when the monitored value stops improving."
    )
    reduce_lr_on_plateau: ReduceLROnPlateau | None = Field(
        None,
        description="Divide the learning rate when the monitored value stops improving "
        "(Keras's ReduceLROnPlateau callback; not with a learning-rate schedule).",
    )
    checkpoint: CheckpointSpec = Field(
        CheckpointSpec(), description="Resumable checkpoints and best.safetensors."
    )
    class_weight: dict[ClassIndex, float] | None = Field(
        None,
        description="Keras's fit(class_weight=): class index -> weight of the training "
        "samples of that class in the loss and the weighted_metrics (a class not listed: 1). A "
        "sample's class is its label, rounded, or the argmax of a one-hot label. A model with "
        "one output only, and not with sample weights in the data (as Keras); the validation "
        "data stays unweighted.",
        json_schema_extra={"propertyNames": {"pattern": "^[0-9]+$"}},
    )
    terminate_on_nan: bool = Field(
        True,
        description="Keras's TerminateOnNaN: stop when a batch's loss is NaN or infinite, "
        "naming the epoch and batch. The run keeps its history (with that epoch) and its last "
        "checkpoint from before it; no weights.safetensors is written and the command exits "
        "with 1.",
    )
    loggers: list[LoggerField] = Field(
        [],
        description="Experiment trackers, each a name (tensorboard, mlflow, csv) or an object "
        "with Keras's callback arguments ({type: TensorBoard, log_dir: logs, update_freq: "
        "batch}); relative paths are in the run folder. Rank 0 alone writes.",
    )


__all__ = ["CheckpointSpec", "CompileSpec", "EarlyStoppingSpec", "TrainSpec"]
