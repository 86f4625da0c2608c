"""Callbacks the trainer calls, for loggers and the Python API (Keras's `Callback` methods).

A callback overrides the methods it needs; the trainer calls them in Keras's order:
`on_train_begin` once (after a resume too), `on_train_batch_end` after every step,
`on_epoch_end` after the epoch's validation, its own callbacks (ReduceLROnPlateau,
EarlyStopping) and its history entry, and `on_train_end` once when `fit` returns.
`logs` are Keras's (loss, metrics, `val_` entries, learning_rate).
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Does nothing at each point; subclasses override what they use. `trainer` is the
    running `trainer.Trainer` (model, spec, optimizer, run folder, step, epoch)."""

    def on_train_begin(self, trainer: Any) -> None:
        """Training starts (or resumes at `trainer.epoch`)."""

    def on_train_batch_end(self, trainer: Any, loss: Any) -> None:
        """A step ended: `loss` is the batch's loss as a 0-d tensor on the device (reading it
        is a device sync; a logger reads it only every so many steps)."""

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        """Epoch `epoch` (from 0) ended with `logs`."""

    def on_train_end(self, trainer: Any) -> None:
        """`fit` returns (after the last checkpoint)."""


class CallbackList(Callback):
    """Calls each callback in turn."""

    def __init__(self, callbacks: list[Callback] | None = None):
        self.callbacks = list(callbacks or [])

    def on_train_begin(self, trainer: Any) -> None:
        for c in self.callbacks:
            c.on_train_begin(trainer)

    def on_train_batch_end(self, trainer: Any, loss: Any) -> None:
        for c in self.callbacks:
            c.on_train_batch_end(trainer, loss)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        for c in self.callbacks:
            c.on_epoch_end(trainer, epoch, logs)

    def on_train_end(self, trainer: Any) -> None:
        for c in self.callbacks:
            c.on_train_end(trainer)
