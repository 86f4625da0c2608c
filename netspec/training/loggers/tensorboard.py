"""Keras's TensorBoard callback (keras/src/callbacks/tensorboard.py) through
`torch.utils.tensorboard` (imported when training starts).

Keras's layout and tags: `log_dir/train` and `log_dir/validation`; per epoch (step = epoch)
`epoch_<name>` for each log, the learning rate as `epoch_learning_rate` in train, the `val_`
logs without their prefix in validation, and `evaluation_<name>_vs_iterations` there at the
optimizer's step count; with `update_freq` `batch` or N, `batch_<name>` every N steps (step =
Keras's 1-based global batch). Weight histograms `<layer>/<weight>/histogram` every
`histogram_freq` epochs; the model graph once, traced with one sample in eval mode.
"""

from __future__ import annotations

from typing import Any

from ..engine.hooks import Callback
from . import resolve


def tensorboard_logger(cfg) -> Callback:
    """The callback: per-step writing only when `update_freq` asks for it (the trainer skips
    the per-step call of a callback that does not override it)."""
    return TensorBoard(cfg) if cfg.update_freq == "epoch" else TensorBoardSteps(cfg)


def learning_rate(trainer: Any, logs: dict[str, float]) -> float:
    """The epoch's learning rate: ReduceLROnPlateau's logged one, else the schedule's value at
    the step count (Keras's `optimizer.learning_rate`), else the optimizer's, as float32."""
    import numpy as np

    if "learning_rate" in logs:
        return logs["learning_rate"]
    schedule = trainer.opt_cfg.schedule
    group = trainer.optimizer.param_groups[0]
    rate = schedule(trainer.step) if schedule is not None else group["lr"]
    return float(np.float32(float(rate)))


class TensorBoard(Callback):
    """Scalars per epoch, histograms, the graph."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.writers: dict[str, Any] = {}

    def writer(self, trainer: Any, name: str):
        """Keras's `train` or `validation` writer, made when first written to."""
        if name not in self.writers:
            from torch.utils.tensorboard import SummaryWriter

            self.writers[name] = SummaryWriter(str(resolve(trainer, self.cfg.log_dir) / name))
        return self.writers[name]

    def on_train_begin(self, trainer: Any) -> None:
        if self.cfg.write_graph:
            self._graph(trainer)

    def _graph(self, trainer: Any) -> None:
        """The graph traced on the first training sample, in eval mode (no dropout, no
        BatchNorm update) and with the RNG state kept: training runs as without the logger."""
        import warnings

        import torch

        from ..engine.batches import Batches

        model = trainer.model
        one = Batches(trainer.train_data.take(slice(0, 1)), trainer.graph, trainer.device, 1)
        xs, _, _ = next(one.iterate(None))
        mode = model.training
        devices = [trainer.device] if trainer.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.jit.trace's deprecation and tracer notes
                model.eval()
                self.writer(trainer, "train").add_graph(model, tuple(xs))
        except Exception as exc:  # a model torch.jit.trace cannot follow: the rest is logged
            warnings.warn(f"TensorBoard: the model graph was not written: {exc}", stacklevel=2)
        finally:
            model.train(mode)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        train["learning_rate"] = learning_rate(trainer, logs)
        out = self.writer(trainer, "train")
        for name, value in train.items():
            out.add_scalar(f"epoch_{name}", value, epoch)
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if val:
            out_val = self.writer(trainer, "validation")
            for name, value in val.items():
                out_val.add_scalar(f"epoch_{name}", value, epoch)
                out_val.add_scalar(f"evaluation_{name}_vs_iterations", value, trainer.step)
        freq = self.cfg.histogram_freq
        if freq and epoch % freq == 0:
            for name, param in trainer.model.named_parameters():
                path = name.removeprefix("layers.").replace(".", "/")
                out.add_histogram(f"{path}/histogram", param.detach().float().cpu(), epoch)
        for w in self.writers.values():
            w.flush()  # an interrupted run keeps its epochs

    def on_train_end(self, trainer: Any) -> None:
        for w in self.writers.values():
            w.close()
        self.writers = {}


class TensorBoardSteps(TensorBoard):
    """Also `batch_loss` (the epoch's running mean, as Keras's batch logs) and
    `batch_learning_rate` every `update_freq` steps; the loss is summed on the device and
    read only when written."""

    def on_train_begin(self, trainer: Any) -> None:
        super().on_train_begin(trainer)
        freq = self.cfg.update_freq
        self.every = 1 if freq == "batch" else int(freq)
        self.batch = trainer.step  # Keras's global batch, continued by a resumed run
        self._reset()

    def _reset(self) -> None:
        self.total: Any = 0.0
        self.seen = 0

    def on_train_batch_end(self, trainer: Any, loss: Any) -> None:
        self.batch += 1
        size = trainer.train_cfg.batch_size
        rows = min(size, len(trainer.train_data) - self.seen)
        self.total = self.total + loss.detach().double() * rows
        self.seen += rows
        if self.batch % self.every == 0:
            out = self.writer(trainer, "train")
            out.add_scalar("batch_loss", float(self.total) / max(self.seen, 1), self.batch)
            group = trainer.optimizer.param_groups[0]
            out.add_scalar("batch_learning_rate", float(group["lr"]), self.batch)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        super().on_epoch_end(trainer, epoch, logs)
        self._reset()
