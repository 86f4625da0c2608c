"""Keras's EarlyStopping, ModelCheckpoint and TerminateOnNaN as the trainer runs them (torch
imported when called)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ...errors import NetspecError
from ..spec.monitor import Monitor, float32, is_improvement


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


class ModelCheckpoint:
    """Keras's `ModelCheckpoint(save_best_only=True)` over the run folder: `best.safetensors`
    at each improvement of the monitor (no min_delta, as Keras); with `keep`, the `keep` best
    epochs' weights in `best/weights.EPOCH-VALUE.safetensors` (epochs from 1, as Keras's
    `{epoch:02d}`), a file dropped when better ones push it out (ties: the earlier epoch stays;
    NaN is never kept); with `restore`, the model gets the best weights when training ends
    (from best.safetensors, or from a copy in memory without a run folder)."""

    def __init__(self, monitor: Monitor, model, run, keep: int | None = None,
                 restore: bool = False):  # fmt: skip
        self.monitor, self.model, self.run = monitor, model, run
        self.keep, self.restore = keep, restore
        self.kept: list[tuple[int, float, str]] = []  # (epoch, value, file name), best first
        self.best_weights: dict | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        current = logs.get(self.monitor.monitor)
        if current is None:
            return
        if self.monitor.improved(current):
            self.monitor.best = current
            if self.run is not None:
                from ..output.runs import save_weights

                save_weights(self.run / "best.safetensors", self.model)
            elif self.restore:
                state = self.model.state_dict()
                self.best_weights = {k: v.detach().clone() for k, v in state.items()}
        if self.keep and self.run is not None and current == current:  # NaN: never kept
            self._keep_top(epoch, current)

    def _keep_top(self, epoch: int, value: float) -> None:
        if len(self.kept) >= (self.keep or 0):
            worst = self.kept[-1][1]
            if not is_improvement(value, worst, 0.0, self.monitor.up):
                return
        from ..output.runs import save_weights

        name = f"weights.{epoch + 1:02d}-{value:.4f}.safetensors"
        (self.run / TOP).mkdir(exist_ok=True)
        save_weights(self.run / TOP / name, self.model)
        self.kept.append((epoch, value, name))
        # stable: among equal values (as float32, Keras's comparison) the earlier epoch first
        sign = -1.0 if self.monitor.up else 1.0
        self.kept.sort(key=lambda e: sign * float32(e[1]))
        for _, _, dropped in self.kept[self.keep :]:
            (self.run / TOP / dropped).unlink(missing_ok=True)
        del self.kept[self.keep :]

    def on_train_end(self) -> None:
        if not self.restore or self.monitor.best is None:
            return
        if self.run is not None:
            from ..output.runs import load_weights

            load_weights(self.model, self.run / "best.safetensors")
        elif self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {**self.monitor.state_dict(), "kept": [list(e) for e in self.kept]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """The checkpoint's state; files in best/ written after it (by epochs the resumed run
        trains again) are removed."""
        self.monitor.load_state_dict(state)
        self.kept = [_kept_entry(entry) for entry in state.get("kept", [])]
        folder = self.run / TOP if self.run is not None else None
        if folder is not None and folder.is_dir():
            names = {n for _, _, n in self.kept}
            for path in folder.glob("weights.*.safetensors"):
                if path.name not in names:
                    path.unlink()


TOP = "best"  # the folder of `checkpoint.keep`'s files


def _kept_entry(entry: Any) -> tuple[int, float, str]:
    """One (epoch, value, file name) of a checkpoint's `best.kept`, checked: a name is one of
    this callback's (never a path: the file is deleted when pushed out)."""
    import re

    ok = isinstance(entry, list) and len(entry) == 3
    if ok:
        epoch, value, name = entry
        ok = isinstance(epoch, int) and isinstance(value, (int, float)) and isinstance(name, str)
        ok = ok and re.fullmatch(r"weights\.[0-9]+-[-+.0-9a-z]+\.safetensors", name) is not None
    if not ok:
        raise NetspecError(f"not a valid checkpoint: best.kept holds {entry!r}")
    return epoch, float(value), name


class NanWatch:
    """Keras's `TerminateOnNaN` without a host sync per step: `add(batch, loss)` after each
    step says whether to stop. On the CPU the loss is already on the host: each batch is
    checked, and training stops at the first non-finite one, as Keras. On an accelerator the
    losses are checked `every` steps on the device (one `isfinite` over their stack, copied to
    pinned host memory without blocking) and the copy is read once its event says it is done:
    the first non-finite batch is reported exactly, and training stops a few steps after it
    (on a device other than CUDA, without events, the copy waits: one sync per `every`
    steps). `flush()` (at the epoch's end, already a sync) checks what is left."""

    def __init__(self, device, every: int = 16):
        self.exact, self.cuda = device.type == "cpu", device.type == "cuda"
        self.every = every
        self.pending: list = []  # the losses since `start`, not yet checked
        self.start = 0
        self.flight: tuple | None = None  # (first batch, host flags, event)
        self.first: int | None = None  # the first non-finite batch of the epoch

    def reset(self) -> None:
        self.pending, self.start, self.flight, self.first = [], 0, None, None

    def add(self, batch: int, loss) -> bool:
        if self.exact:  # a CPU scalar: `item()` is a read (0.3 us; `isfinite` is a kernel, 8)
            if math.isfinite(loss.item()):
                return False
            self.first = batch
            return True
        import torch

        if not self.pending:
            self.start = batch
        self.pending.append(loss)
        if len(self.pending) >= self.every and self.flight is None:
            flags = torch.isfinite(torch.stack(self.pending))
            host = torch.empty(flags.shape, dtype=torch.bool, pin_memory=self.cuda)
            host.copy_(flags, non_blocking=self.cuda)
            event = torch.cuda.Event() if self.cuda else None
            if event is not None:
                event.record()
            self.flight, self.pending = (self.start, host, event), []
        if self.flight is not None and (self.flight[2] is None or self.flight[2].query()):
            self._read(self.flight[0], self.flight[1])
            self.flight = None
        return self.first is not None

    def flush(self) -> int | None:
        """The first non-finite batch of the epoch (None: every loss was finite)."""
        import torch

        if self.flight is not None:
            if self.flight[2] is not None:
                self.flight[2].synchronize()
            self._read(self.flight[0], self.flight[1])
        if self.pending:
            self._read(self.start, torch.isfinite(torch.stack(self.pending)).cpu())
        self.pending, self.flight = [], None
        return self.first

    def _read(self, start: int, flags) -> None:
        bad = (~flags).nonzero()
        if len(bad) and self.first is None:
            self.first = start + int(bad[0])


class NonFiniteLoss(NetspecError):
    """TerminateOnNaN stopped training (exit code 1); `history` holds the stopped epoch."""

    def __init__(self, epoch: int, batch: int, run: Path | None, history: dict):
        where = f"batch {batch + 1}" if batch >= 0 else "its batches"
        kept = (
            f"; {run} keeps its history and its last checkpoint, from before this epoch (no "
            f"weights.safetensors): continue with `netspec train --resume {run} --set "
            "compile.optimizer.learning_rate=...` at a lower rate"
            if run is not None
            else ""
        )
        super().__init__(
            f"epoch {epoch + 1}, {where}: the loss is NaN or infinite; training stopped "
            f"(train.terminate_on_nan){kept}"
        )
        self.history = history
