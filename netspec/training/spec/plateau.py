"""Keras 3's ReduceLROnPlateau callback: the spec model and a pure-Python runtime reproducing
keras/src/callbacks/reduce_lr_on_plateau.py epoch by epoch (float32 comparisons and learning
rates included). No torch import.

`ReduceLROnPlateau` is the callback's spec; `Plateau(spec, directions)` runs it: give it each
epoch's logs and the current learning rate, it returns the new one. Its state (`state_dict`) is
plain JSON for a resumable checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .monitor import MODE_FIELD, MonitorMode, float32, goes_up, is_improvement


class ReduceLROnPlateau(BaseModel):
    """Keras's ReduceLROnPlateau callback: multiply the learning rate by `factor` when `monitor`
    has not improved by more than `min_delta` for `patience` epochs, then wait `cooldown` epochs;
    never below `min_lr`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    monitor: str = Field("val_loss", description="The logged quantity to watch.")
    factor: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Factor the learning rate is multiplied by (Keras raises for >= 1).",
    )
    patience: int = Field(
        10, ge=0, description="Epochs without improvement before the learning rate is reduced."
    )
    mode: MonitorMode = MODE_FIELD
    min_delta: float = Field(
        1e-4, ge=0, description="Smallest change that counts as an improvement."
    )
    cooldown: int = Field(
        0, ge=0, description="Epochs to wait after a reduction before counting again."
    )
    min_lr: float = Field(0.0, ge=0, description="Lower bound on the learning rate.")


class Plateau:
    """ReduceLROnPlateau at run time: `on_epoch_end(logs, lr)` returns the new learning rate.

    `directions` maps a metric name as logged, without `val_` (`accuracy`), to "up" or "down"
    (Keras's `Metric._direction`); auto mode needs it for any monitor but a loss. After each
    epoch `missing` tells whether `monitor` was absent from the logs (then nothing changes; Keras
    warns with the text in `warning`).
    """

    def __init__(self, cfg: ReduceLROnPlateau, directions: Mapping[str, str] | None = None):
        self.cfg = cfg
        # Keras 3's MonitorCallback rule, shared with EarlyStopping and best.safetensors
        self.lower_is_better = not goes_up(cfg.monitor, cfg.mode, directions or {})
        self.missing = False
        self.warning: str | None = None
        self.reset()

    def reset(self) -> None:
        """Keras's on_train_begin: no best value yet, counters at 0."""
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def _improved(self, current: float) -> bool:
        return is_improvement(current, self.best, self.cfg.min_delta, not self.lower_is_better)

    def _reduce(self, lr: float) -> float | None:
        """Keras's _reduce_optimizer_lr on a float32 learning rate; None when already at min_lr."""
        old = float32(lr)
        if old > float32(self.cfg.min_lr):
            return float32(max(old * self.cfg.factor, self.cfg.min_lr))
        return None

    def on_epoch_end(self, logs: Mapping[str, float], lr: float) -> float:
        """The learning rate for the next epoch, given this epoch's logs and learning rate."""
        current = logs.get(self.cfg.monitor)
        self.missing = current is None
        if current is None:
            self.warning = (
                f"Learning rate reduction is conditioned on metric `{self.cfg.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}."
            )
            return lr
        self.warning = None
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(float(current)):
            self.best = float(current)
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.cfg.patience:
                new = self._reduce(lr)
                if new is not None:
                    self.cooldown_counter = self.cfg.cooldown
                    self.wait = 0
                    return new
        return lr

    def state_dict(self) -> dict[str, Any]:
        """The counters and best value, JSON-safe (a non-finite best as "nan", "inf", "-inf")."""
        best = self.best
        saved = str(best) if best is not None and not math.isfinite(best) else best
        return {"best": saved, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        best = state["best"]
        self.best = None if best is None else float(best)
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
