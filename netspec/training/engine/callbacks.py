"""Keras's EarlyStopping as the trainer runs it (torch imported when called)."""

from __future__ import annotations

from typing import Any

from ..spec.monitor import Monitor


class EarlyStopping:
    """Keras 3's `EarlyStopping.on_epoch_end` / `on_train_end`: `wait` counts epochs since the
    best (reset only when the best also beats `baseline`); stop once `wait >= patience` after
    the first epoch; with `restore_best_weights`, the best epoch's weights (the first
    monitored epoch's until one improves) are put back when training ends, stopped or not."""

    def __init__(self, cfg, up: bool, model):
        self.cfg, self.model = cfg, model
        self.monitor = Monitor(cfg.monitor, up, cfg.min_delta)
        self.wait, self.best_epoch, self.stopped_epoch = 0, 0, 0
        self.best_weights: dict | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Whether training should stop."""
        current = logs.get(self.cfg.monitor)
        if current is None or epoch < self.cfg.start_from_epoch:
            return False
        if self.cfg.restore_best_weights and self.best_weights is None:
            self._keep(epoch)
        self.wait += 1
        if self.monitor.improved(current):
            self.monitor.best = current
            self._keep(epoch)
            baseline = self.cfg.baseline
            if baseline is None or self.monitor.improved(current, baseline):
                self.wait = 0
            return False
        if self.wait >= self.cfg.patience and epoch > 0:
            self.stopped_epoch = epoch
            return True
        return False

    def _keep(self, epoch: int) -> None:
        self.best_epoch = epoch
        if self.cfg.restore_best_weights:
            state = self.model.state_dict()
            self.best_weights = {k: v.detach().clone() for k, v in state.items()}

    def on_train_end(self) -> None:
        if self.cfg.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {
            **self.monitor.state_dict(),
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
        }

    def load_state_dict(self, state: dict[str, Any], best_weights: dict | None) -> None:
        self.monitor.load_state_dict(state)
        self.wait, self.best_epoch = state["wait"], state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = best_weights
