"""Keras's `Normalization.adapt()` for netspec models (torch imported here).

A Normalization given no `mean`/`variance` holds Keras's non-trainable weights mean (zeros),
variance (ones) and count (0), which Keras fills with `layer.adapt(data)` before `fit`. netspec
does it when a new run starts (`netspec train`, the library's `fit`; a resumed run has the
adapted values in its checkpoint): for each such layer still at those initial values, in the
graph's execution order, the training samples are streamed through the model in eval mode and
the layer's inputs captured (a forward pre-hook that stops the forward there), their mean and
variance over the batch axis and the other reduced axes accumulated batch by batch as Keras's
adapt merges batches (in float64), and the weights set; later layers see the adapted earlier
ones. As in Keras's adapt, `count` stays 0 (Keras keeps it only for old saved models). A layer
whose statistics are not the initial ones (loaded from elsewhere) is left as it is.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...errors import NetspecError
from ...layers.normalization import axis_indices
from .batches import Batches, model_device
from .data import Split


class _Captured(Exception):
    """Raised by the capture hook: the layer's input, and the end of that forward."""

    def __init__(self, value: torch.Tensor):
        super().__init__()
        self.value = value


class Moments:
    """Keras's adapt over batches: the running mean and (population) variance of each index of
    the kept axes, merged batch by batch with the lack-of-fit sum of squares, in float64."""

    def __init__(self, reduce: tuple[int, ...]):
        self.reduce = reduce
        self.count = 0
        self.mean: torch.Tensor | float = 0.0
        self.var: torch.Tensor | float = 0.0

    def update(self, batch: torch.Tensor) -> None:
        batch = batch.double()
        if self.reduce:
            batch_mean = batch.mean(dim=self.reduce)
            batch_var = batch.var(dim=self.reduce, correction=0)
        else:
            batch_mean, batch_var = batch, torch.zeros_like(batch)
        batch_count = math.prod(batch.shape[d] for d in self.reduce)
        self.count += batch_count
        weight = batch_count / self.count
        mean = self.mean * (1.0 - weight) + batch_mean * weight
        self.var = (self.var + (self.mean - mean) ** 2) * (1.0 - weight) + (
            batch_var + (batch_mean - mean) ** 2
        ) * weight
        self.mean = mean


def pending(model, graph) -> list[str]:
    """The Normalization layers (in execution order) whose weights are still Keras's initial
    values: mean all zeros, variance all ones."""
    names = []
    for index in graph.order:
        node = graph.nodes[index]
        if node.type != "Normalization" or not node.weights:
            continue
        module = model.layers[node.name]
        if bool((module.mean == 0).all()) and bool((module.variance == 1).all()):
            names.append(node.name)
    return names


def adapt_split(model, graph, split: Split, batch_size: int) -> list[str]:
    """Adapt the model's un-adapted Normalization layers on the inputs of `split`, `batch_size`
    samples at a time; returns their names."""
    names = pending(model, graph)
    if not names:
        return []
    was_training = model.training
    model.eval()
    try:
        batches = Batches(Split(split.x, []), graph, model_device(model), batch_size)
        for name in names:
            _adapt_layer(model, graph.node(name), batches)
    finally:
        model.train(was_training)
    return names


def _adapt_layer(model, node, batches: Batches) -> None:
    module = model.layers[node.name]
    shape = node.input_shapes[0]
    axis = node.layer.axis
    kept = [] if axis is None else axis_indices(axis, shape)
    moments = Moments(tuple(d for d in range(len(shape) + 1) if d not in kept))

    def capture(_module, args):
        raise _Captured(args[0])

    handle = module.register_forward_pre_hook(capture)
    try:
        with torch.no_grad():
            for xs, _, _ in batches.iterate(None):
                try:
                    model(*xs)
                except _Captured as captured:
                    moments.update(captured.value)
    finally:
        handle.remove()
    if not moments.count:
        raise NetspecError(f"layer '{node.name}' (Normalization): no samples to adapt it on")
    with torch.no_grad():
        module.mean.copy_(torch.as_tensor(moments.mean).reshape(module.mean.shape))
        module.variance.copy_(torch.as_tensor(moments.var).reshape(module.variance.shape))


def adapt_trainer(trainer) -> list[str]:
    """Adapt a new run's Normalization layers on the samples it trains on (the training
    split, without the validation_split holdout), in batches of train.batch_size."""
    batch_size = trainer.train_cfg.batch_size
    return adapt_split(trainer.model, trainer.graph, trainer.train_data, batch_size)


def adapt(model, spec, x, batch_size: int = 32) -> list[str]:
    """Keras's `adapt()` for a built model (`netspec.build`): every Normalization layer still at
    its initial statistics is adapted, in execution order, on `x` (the model's input: one array,
    or a list with one per input, samples on axis 0); returns the adapted layers' names."""
    arrays = [np.asarray(a) for a in (x if isinstance(x, (list, tuple)) else [x])]
    graph = spec.graph
    if len(arrays) != len(graph.inputs):
        raise NetspecError(f"adapt: the model has {len(graph.inputs)} inputs, got {len(arrays)}")
    return adapt_split(model, graph, Split(arrays, []), batch_size)
