"""Keras's fit / evaluate / predict on a netspec model (torch imported here).

The reported loss is Keras's: the compiled (weighted) loss plus the model's penalties
(`model.losses()`), averaged over the batches weighted by their sizes; metrics accumulate over
the epoch. `fit` runs a `trainer.Trainer` (schedules, callbacks, checkpoints).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np
import torch

from ..loader import graph_of
from .batches import Batches, preds_of
from .compiled import compile_spec
from .data import Split
from .spec import CompileSpec, TrainSpec


def _device(model):
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def train_settings(spec) -> tuple[CompileSpec, TrainSpec]:
    return spec.compile or CompileSpec(), spec.train or TrainSpec()


def fit(
    model,
    spec,
    data: dict[str, Split],
    on_epoch: Callable[[int, dict, float], None] | None = None,
    **options,
) -> dict[str, list[float]]:
    """Train `model` as `spec.train` says; Keras's History dict (`val_` entries with
    validation data: `x_val`/`y_val`, else `validation_split`). `options` go to `Trainer`
    (run, progress, precision, compile)."""
    from .trainer import Trainer

    if on_epoch is not None and "progress" not in options:
        options["progress"] = _Callback(on_epoch)
    return Trainer(model, spec, data, **options).fit()


class _Callback:
    """A progress object that calls `on_epoch(epoch, logs, rate)` once per epoch."""

    def __init__(self, on_epoch):
        self.on_epoch = on_epoch

    def start_epoch(self, epoch: int) -> None:
        pass

    def step(self, samples, loss, logs=None) -> None:
        pass

    def end_epoch(self, epoch: int, logs: dict, rate: float) -> None:
        self.on_epoch(epoch, logs, rate)

    def message(self, text: str) -> None:
        pass


@torch.no_grad()
def evaluate(
    model, spec, data: Split, compiled=None, batch_size=None, forward=None, precision=None
) -> dict:
    """Keras's evaluate: the loss (with the penalties) and the metrics over `data`."""
    graph = graph_of(spec)
    if compiled is None:
        compiled = compile_spec(spec, graph, [tuple(a.shape) for a in data.y])
    batch_size = batch_size or train_settings(spec)[1].batch_size
    forward = forward or model
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    model.eval()
    compiled.reset()
    device = _device(model)
    total = torch.zeros((), dtype=torch.float64, device=device)
    seen = 0
    for xs, ys in Batches(data, graph, device, batch_size).iterate(None):
        with autocast():
            preds = preds_of(forward(*xs))
            loss = compiled.loss(preds, ys)
            if getattr(model, "has_losses", True):
                loss = loss + model.losses()
        total += loss.double() * len(xs[0])
        seen += len(xs[0])
        compiled.update(preds, ys)
    return {"loss": float(total) / max(seen, 1), **compiled.results()}


@torch.no_grad()
def predict(model, spec, data: Split, batch_size: int | None = None) -> list[np.ndarray]:
    """The model's outputs over `data`, one array per output."""
    graph = graph_of(spec)
    batch_size = batch_size or train_settings(spec)[1].batch_size
    model.eval()
    device = _device(model)
    parts: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    for xs, _ in Batches(Split(data.x, []), graph, device, batch_size).iterate(None):
        for k, p in enumerate(preds_of(model(*xs))):
            parts[k].append(p.float().cpu().numpy())
    return [np.concatenate(p) for p in parts]
