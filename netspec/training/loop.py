"""Keras's fit / evaluate / predict on a compiled netspec model (torch imported here).

The reported loss is Keras's: the compiled (weighted) loss plus the model's penalties
(`model.losses()`), averaged over the batches weighted by their sizes; metrics accumulate over
the epoch. Each step: forward, backward, `optimizer.clip`, `step`, `model.apply_constraints()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..loader import graph_of
from .compiled import compile_spec
from .data import Split, holdout
from .spec import CompileSpec, TrainSpec

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


def _tensors(model, graph, batch: Split, device):
    xs = [
        torch.from_numpy(np.ascontiguousarray(a)).to(device, _DTYPES.get(i.dtype, torch.float32))
        if i.dtype in ("float16", "bfloat16", "float32", "float64")
        else torch.from_numpy(np.ascontiguousarray(a)).to(device)
        for a, i in zip(batch.x, graph.inputs, strict=True)
    ]
    ys = [torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in batch.y]
    return xs, ys


def _preds(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _device(model):
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _batches(n: int, batch_size: int, order: np.ndarray | None):
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


def train_settings(spec) -> tuple[CompileSpec, TrainSpec]:
    return spec.compile or CompileSpec(), spec.train or TrainSpec()


def fit(
    model,
    spec,
    data: dict[str, Split],
    on_epoch: Callable[[int, dict, float], None] | None = None,
    optimizer=None,
    start_epoch: int = 0,
) -> dict[str, list[float]]:
    """Train `model` as `spec.train` says; Keras's History dict (`val_` entries with
    validation data: `x_val`/`y_val`, else `validation_split`)."""
    compiled_spec, train = train_settings(spec)
    graph = graph_of(spec)
    train_data, val = holdout(data["train"], train.validation_split)
    val = data.get("val", val)
    if train.seed is not None:
        torch.manual_seed(train.seed)
    rng = np.random.default_rng(train.seed)
    compiled = compile_spec(spec, graph, [tuple(a.shape) for a in train_data.y])
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer is None:
        optimizer = compiled_spec.optimizer.make(params)
    device = _device(model)
    history: dict[str, list[float]] = {}
    stopper = _Stopper(train.early_stopping, model) if train.early_stopping else None
    for epoch in range(start_epoch, train.epochs):
        began = time.perf_counter()
        model.train()
        compiled.reset()
        total, seen = 0.0, 0
        n = len(train_data)
        order = rng.permutation(n) if train.shuffle else None
        for index in _batches(n, train.batch_size, order):
            xs, ys = _tensors(model, graph, train_data.take(index), device)
            preds = _preds(model(*xs))
            loss = compiled.loss(preds, ys) + model.losses()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            compiled_spec.optimizer.clip(params)
            optimizer.step()
            model.apply_constraints()
            batch = len(xs[0])
            total += float(loss.detach()) * batch
            seen += batch
            compiled.update([p.detach() for p in preds], ys)
        logs = {"loss": total / max(seen, 1), **compiled.results()}
        if val is not None:
            logs |= {f"val_{k}": v for k, v in evaluate(model, spec, val, compiled).items()}
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        rate = seen / max(time.perf_counter() - began, 1e-9)
        if on_epoch is not None:
            on_epoch(epoch, logs, rate)
        if stopper is not None and stopper.stop(logs):
            break
    if stopper is not None:
        stopper.restore()
    model.eval()
    return history


@torch.no_grad()
def evaluate(model, spec, data: Split, compiled=None, batch_size: int | None = None) -> dict:
    """Keras's evaluate: the loss (with the penalties) and the metrics over `data`."""
    graph = graph_of(spec)
    if compiled is None:
        compiled = compile_spec(spec, graph, [tuple(a.shape) for a in data.y])
    batch_size = batch_size or train_settings(spec)[1].batch_size
    model.eval()
    compiled.reset()
    device = _device(model)
    total, seen = 0.0, 0
    for index in _batches(len(data), batch_size, None):
        xs, ys = _tensors(model, graph, data.take(index), device)
        preds = _preds(model(*xs))
        loss = compiled.loss(preds, ys) + model.losses()
        total += float(loss) * len(xs[0])
        seen += len(xs[0])
        compiled.update(preds, ys)
    return {"loss": total / max(seen, 1), **compiled.results()}


@torch.no_grad()
def predict(model, spec, data: Split, batch_size: int | None = None) -> list[np.ndarray]:
    """The model's outputs over `data`, one array per output."""
    graph = graph_of(spec)
    batch_size = batch_size or train_settings(spec)[1].batch_size
    model.eval()
    device = _device(model)
    parts: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    for index in _batches(len(data), batch_size, None):
        xs, _ = _tensors(model, graph, Split(data.take(index).x, []), device)
        for k, p in enumerate(_preds(model(*xs))):
            parts[k].append(p.float().cpu().numpy())
    return [np.concatenate(p) for p in parts]


class _Stopper:
    """Keras's EarlyStopping."""

    def __init__(self, cfg, model):
        self.cfg, self.model = cfg, model
        maximize = cfg.mode == "max" or (cfg.mode == "auto" and "acc" in cfg.monitor)
        self.sign = -1.0 if maximize else 1.0
        self.best, self.wait, self.best_state = float("inf"), 0, None

    def stop(self, logs: dict) -> bool:
        if self.cfg.monitor not in logs:
            return False
        value = self.sign * logs[self.cfg.monitor]
        if value < self.best - self.cfg.min_delta:
            self.best, self.wait = value, 0
            if self.cfg.restore_best_weights:
                self.best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.cfg.patience

    def restore(self) -> None:
        if self.cfg.restore_best_weights and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
