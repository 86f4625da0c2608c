"""The spec's `compile:` and `train:` sections: Keras's `model.compile()` and `model.fit()`
arguments, with Keras's names and defaults (no torch import)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..layers.base import NAME_PATTERN
from .losses import LossField
from .metrics import MetricField
from .optimizers import OptimizerField

OutputName = Annotated[str, Field(pattern=NAME_PATTERN[:-1] + r"(:[0-9]+)?$")]
Accuracy = Literal["accuracy", "acc"]


class CompileSpec(BaseModel):
    """Keras's `model.compile()`: the optimizer, the loss and the metrics."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
    metrics: list[Accuracy | MetricField] = Field(
        [],
        description="Metrics reported each epoch; `accuracy`/`acc` picks binary, categorical "
        "or sparse categorical accuracy from the shapes, as Keras does.",
    )


class EarlyStoppingSpec(BaseModel):
    """Keras's `EarlyStopping` callback."""

    model_config = ConfigDict(extra="forbid", strict=True)

    monitor: str = Field("val_loss", description="The history entry watched.")
    patience: int = Field(0, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="The smallest change counted as improvement.")
    restore_best_weights: bool = Field(
        False, description="Whether to restore the weights of the best epoch at the end."
    )
    mode: Literal["auto", "min", "max"] = Field(
        "auto",
        description="Whether the monitored value should go down (min) or up (max); auto: max "
        "for accuracy-like names, min otherwise.",
    )


class TrainSpec(BaseModel):
    """Keras's `model.fit()` arguments."""

    model_config = ConfigDict(extra="forbid", strict=True)

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
        None, ge=0, description="Seed of the initial weights, shuffling and dropout."
    )
    early_stopping: EarlyStoppingSpec | None = Field(
        None, description="Stop when the monitored value stops improving."
    )


__all__ = ["CompileSpec", "EarlyStoppingSpec", "TrainSpec"]
