"""Keras's fit / evaluate / predict on a netspec model (torch imported here).

The reported loss is Keras's: the compiled (weighted) loss plus the model's penalties
(`model.losses()`), averaged over the batches weighted by their sizes (Keras's loss tracker, a
`Mean` updated with `sample_weight=batch size`, sample weights or not); metrics accumulate over
the epoch; with several losses, each output's own (unweighted, without penalties) as
`<output>_loss`, averaged the same way. `fit` runs a `trainer.Trainer` (schedules, callbacks,
checkpoints).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ..spec.sections import CompileSpec, TrainSpec
from .batches import Batches, model_device, preds_of
from .compiled import compile_spec
from .data import Split


def train_settings(spec) -> tuple[CompileSpec, TrainSpec]:
    return spec.compile or CompileSpec(), spec.train or TrainSpec()


def fit(model, spec, data: dict[str, Split], **options) -> dict[str, list[float]]:
    """Train `model` as `spec.train` says; Keras's History dict (`val_` entries with
    validation data: `x_val`/`y_val`, else `validation_split`). `options` go to `Trainer`
    (run, progress, precision, compile)."""
    from .adapt import adapt_trainer
    from .trainer import Trainer

    trainer = Trainer(model, spec, data, **options)
    adapt_trainer(trainer)  # Normalization layers still at their initial statistics
    return trainer.fit()


@torch.no_grad()
def evaluate(
    model, spec, data: Split, compiled=None, batch_size=None, forward=None, precision=None,
    ranks=None,
) -> dict:  # fmt: skip
    """Keras's evaluate: the loss (with the penalties) and the metrics over `data`; in a
    data-parallel run (`ranks`), each rank evaluates its share and the sums are shared."""
    graph = spec.graph
    if compiled is None:
        compiled = compile_spec(spec, [tuple(a.shape) for a in data.y])
    batch_size = batch_size or train_settings(spec)[1].batch_size
    # `is None`, not `or`: torch.compile's module wrapper has no truth value (its __len__
    # raises for a module without one)
    forward = model if forward is None else forward
    autocast = precision.autocast if precision is not None else contextlib.nullcontext
    model.eval()
    compiled.reset()
    device = model_device(model)
    total = torch.zeros((), dtype=torch.float64, device=device)
    names = compiled.loss_names  # each output's loss, with several (Keras 3's CompileLoss)
    parts = torch.zeros(len(names), dtype=torch.float64, device=device)
    seen = 0
    if ranks is not None:
        lo, hi = ranks.share(0, len(data))
        data = data.take(slice(lo, hi))
    for xs, ys, sws in Batches(data, graph, device, batch_size).iterate(None):
        with autocast():
            preds = preds_of(forward(*xs))
            terms = compiled.terms(preds, ys, sws)
            loss = compiled.total(terms)
            if getattr(model, "has_losses", True):
                loss = loss + model.losses()
        total.add_(loss, alpha=len(xs[0]))  # float64 += rows * loss: exact promotion
        if names:
            parts.add_(torch.stack([t.float() for t in terms]), alpha=len(xs[0]))
        seen += len(xs[0])
        compiled.update(preds, ys, sws)
    if ranks is not None:
        summed = ranks.sum([float(total), float(seen), *parts.tolist()])
        total, seen = torch.tensor(summed[0], dtype=torch.float64), int(summed[1])
        parts = torch.tensor(summed[2:], dtype=torch.float64)
        compiled.sync(ranks.sum)
    logs = {"loss": float(total) / max(seen, 1)}
    logs |= dict(zip(names, (parts / max(seen, 1)).tolist(), strict=True))
    return logs | compiled.results()


@torch.inference_mode()
def predict(model, spec, data: Split, batch_size: int | None = None) -> list[np.ndarray]:
    """The model's outputs over `data`, one array per output: under `torch.inference_mode`
    (no autograd bookkeeping), each batch written into arrays allocated once for the whole
    data where the outputs' shapes are static (else the batches are joined at the end)."""
    graph = spec.graph
    batch_size = batch_size or train_settings(spec)[1].batch_size
    model.eval()
    device = model_device(model)
    n = len(data)
    shapes = graph.output_shapes()
    out: list[np.ndarray | None] = [
        np.empty((n, *s), dtype=np.float32) if s is not None and None not in s else None
        for s in shapes
    ]
    parts: list[list[np.ndarray]] = [[] for _ in graph.outputs]
    start = 0
    for xs, _, _ in Batches(Split(data.x, []), graph, device, batch_size).iterate(None):
        rows = len(xs[0])
        for k, p in enumerate(preds_of(model(*xs))):
            values = p.float().cpu().numpy()
            target = out[k]
            if target is not None:
                target[start : start + rows] = values
            else:
                parts[k].append(values)
        start += rows
    return [o if o is not None else np.concatenate(parts[k]) for k, o in enumerate(out)]
