"""The spec's `train.loggers`: experiment trackers as Keras callbacks (no torch import).

A logger is a name (`tensorboard`, `mlflow`, `csv`) or an object with Keras's callback
arguments (`{type: TensorBoard, log_dir: ..., update_freq: batch}`, `{type: CSVLogger,
filename: ..., separator: ';'}`). Relative paths are read from the run folder (the current
directory when training from Python without `run=`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from ...registry import Registry
from ...vocab.base import VocabModel, name_or_object, require_type


class Logger(VocabModel):
    """Base of the loggers (a Keras callback's arguments)."""

    model_config = ConfigDict(json_schema_extra=require_type())

    type: str


LOGGERS: Registry[type[Logger]] = Registry("logger")


@LOGGERS.register("tensorboard")
class TensorBoard(Logger):
    """Keras's TensorBoard callback through `torch.utils.tensorboard`: per epoch the logs as
    `epoch_<name>` (training values and learning_rate under `log_dir/train`, validation values
    without their `val_` prefix under `log_dir/validation`, plus `evaluation_<name>_vs_iterations`
    at the step count); per step `batch_loss` (the epoch's running mean) and
    `batch_learning_rate` when `update_freq` asks; the model graph; weight histograms."""

    type: Literal["TensorBoard"] = "TensorBoard"
    log_dir: str = Field("logs", description="Folder of the event files (Keras's default).")
    histogram_freq: int = Field(
        0, ge=0, description="Epochs between weight histograms (0: none), as Keras."
    )
    write_graph: bool = Field(True, description="Write the model graph (traced with torch.jit).")
    update_freq: Literal["epoch", "batch"] | Annotated[int, Field(ge=1)] = Field(
        "epoch",
        description="`epoch`: scalars per epoch only; `batch` or N: also every N steps.",
    )


@LOGGERS.register("mlflow")
class MLflow(Logger):
    """An MLflow run: the resolved spec flattened as params (`compile.optimizer.type`), the
    logs as metrics per epoch (step = epoch), the run folder and the final weights as
    artifacts at the end."""

    type: Literal["MLflow"] = "MLflow"
    tracking_uri: str | None = Field(
        None, description="Where runs are stored (default: MLflow's, MLFLOW_TRACKING_URI)."
    )
    experiment_name: str | None = Field(
        None, description="The experiment (created if missing; default: MLflow's Default)."
    )
    run_name: str | None = Field(
        None, description="The MLflow run's name (default: the run folder's name)."
    )


@LOGGERS.register("csv", "csv_logger")
class CSVLogger(Logger):
    """Keras's CSVLogger: one row per epoch, `epoch` then the logs' keys in sorted order (and
    `val_` columns as NA when there is no validation), written as Keras writes it."""

    type: Literal["CSVLogger"] = "CSVLogger"
    filename: str = Field("log.csv", description="The CSV file.")
    separator: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    append: bool = Field(
        False,
        description="Append to an existing file (a resumed run always appends), as Keras.",
    )


LoggerField = name_or_object(LOGGERS)

__all__ = ["LOGGERS", "CSVLogger", "Logger", "LoggerField", "MLflow", "TensorBoard"]
