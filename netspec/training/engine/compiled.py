"""The `compile:` section made runnable: one loss function and weight per output, the metrics'
stateful objects with Keras's history names (torch imported when called)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import NetspecError
from ..spec.checks import NO_LOSS, has_loss, history_name
from ..spec.metrics import METRICS, State, resolve_accuracy
from ..spec.sections import CompileSpec
from .data import _shape_text


def output_activation(graph, ref) -> str | None:
    """The type of the activation a Dense-like output layer applies itself, if any."""
    node = graph.node(ref.node)
    act = getattr(node.layer, "activation", None) if node is not None else None
    return getattr(act, "type", None) if ref.index is None else None


def losses_per_output(compiled: CompileSpec | None, outputs: list[str]) -> list:
    """The loss spec of each output (None where there is none; validation checked the names)."""
    loss = compiled.loss if compiled is not None else None
    if isinstance(loss, dict):
        return [loss.get(name) for name in outputs]
    return [loss] * len(outputs)


@dataclass
class Compiled:
    outputs: list[str]
    loss_fns: list  # fn(y_pred, y_true) or None, per output
    weights: list[float]
    metrics: list[tuple[str, int, State]] = field(default_factory=list)  # (name, output, state)
    directions: dict[str, str] = field(default_factory=dict)  # name -> up/down (Keras 3)

    def loss(self, preds, ys, sws=()):
        """The total loss of one batch, without the model's penalties; `sws`: each output's
        sample weights (None: unweighted), or empty."""
        sws = sws or [None] * len(preds)
        terms = [
            (fn(p, y) if s is None else fn(p, y, sample_weight=s)) * w
            for fn, w, p, y, s in zip(self.loss_fns, self.weights, preds, ys, sws, strict=True)
            if fn is not None
        ]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def update(self, preds, ys, sws=()) -> None:
        for _, k, state in self.metrics:
            if sws and sws[k] is not None:
                state.update(preds[k], ys[k], sample_weight=sws[k])
            else:
                state.update(preds[k], ys[k])

    def results(self) -> dict[str, float]:
        return {name: state.result() for name, _, state in self.metrics}

    def check(self, preds_shapes: list[tuple], ys: list, data_path=None) -> None:
        """Fail before training, with a clear message naming the data file (`data_path`) and
        the spec key, where a metric cannot compare the labels with its output (Keras fails
        mid-fit): each metric runs once on two samples."""
        import numpy as np
        import torch

        for name, k, state in self.metrics:
            y = torch.from_numpy(np.array(ys[k][:2]))  # a copy: memmaps are read-only
            pred = torch.zeros((len(y), *preds_shapes[k][1:]))
            try:
                state.update(pred, y)
                state.reset()
            except (RuntimeError, ValueError, IndexError) as exc:
                where = f"{data_path}: " if data_path is not None else ""
                raise NetspecError(
                    f"{where}compile.metrics: {name} cannot compare labels of shape "
                    f"{_shape_text(ys[k].shape[1:])} with output '{self.outputs[k]}' of shape "
                    f"{_shape_text(preds_shapes[k][1:])}: {str(exc).splitlines()[0]}"
                ) from None

    def reset(self) -> None:
        for _, _, state in self.metrics:
            state.reset()

    def sync(self, total) -> None:
        """Every metric's state summed over the ranks (distributed.Ranks.sum)."""
        for _, _, state in self.metrics:
            state.sync(total)


def require_loss(valid) -> None:
    """Training and evaluation need a loss for at least one output (Keras: compile() before
    fit()); checked before the data, whose labels are checked against the losses. (A spec
    with a `train:` section and no loss is refused by validation already.)"""
    if valid.compile is None or not has_loss(valid.compile.loss):
        raise NetspecError(f"{valid.file}: {NO_LOSS}")


def _names(graph) -> list[str]:
    return [str(r) for r in graph.outputs]


def require_trainable(valid) -> None:
    """Training needs a weight to train: a model whose layers are all `trainable: false` or
    without weights is refused before the data is read (torch's optimizer would fail on an
    empty parameter list); evaluate and predict still run it."""
    from ...compiler import param_counts

    if not sum(trainable for trainable, _ in param_counts(valid.graph).values()):
        raise NetspecError(NO_TRAINABLE)


NO_TRAINABLE = (
    "the model has no trainable weights; nothing to train (every layer with weights is "
    "trainable: false, or no layer has any)"
)


def compile_spec(valid, y_shapes: list[tuple] | None) -> Compiled:
    """The runnable compile section of a ValidSpec with a loss; `y_shapes` (label shapes,
    batch axis first) resolve `accuracy`."""
    compiled, graph = valid.compile, valid.graph
    outputs = _names(graph)
    losses = losses_per_output(compiled, outputs)
    fns = [
        None if loss is None else loss.function(output_activation(graph, ref))
        for loss, ref in zip(losses, graph.outputs, strict=True)
    ]
    weights = _weights(compiled.loss_weights, outputs)
    metrics: list[tuple[str, int, State]] = []
    directions: dict[str, str] = {}
    out_shapes = graph.output_shapes()
    per_output = _metrics_per_output(compiled.metrics, outputs)
    for k, name in enumerate(outputs):
        for m in per_output[k]:
            if isinstance(m, str):  # accuracy / acc
                y_shape = y_shapes[k] if y_shapes else (None, *out_shapes[k])
                accuracy = METRICS.get(resolve_accuracy(y_shape, (None, *out_shapes[k])))
                metric = accuracy.model_validate({})
                label = m
            else:
                metric, label = m, m.display_name()
            full = history_name(label, name, len(outputs))
            metrics.append((full, k, metric.build()))
            directions[full] = type(metric).direction
    return Compiled(outputs, fns, weights, metrics, directions)


def _metrics_per_output(metrics, outputs: list[str]) -> list[list]:
    if not isinstance(metrics, dict):
        return [metrics] * len(outputs)
    return [metrics.get(name, []) for name in outputs]


def _weights(given, outputs: list[str]) -> list[float]:
    if given is None:
        return [1.0] * len(outputs)
    if isinstance(given, dict):
        return [given.get(name, 1.0) for name in outputs]
    return list(given)  # one per output: checked by validation
