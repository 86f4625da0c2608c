"""The `compile:` section made runnable: one loss function and weight per output, the metrics'
stateful objects with Keras's history names (torch imported when called)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import NetspecError
from ..spec.checks import NO_LOSS, has_loss, history_name
from ..spec.metrics import METRICS, State, resolve_accuracy
from ..spec.monitor import output_loss_names
from ..spec.sections import CompileSpec
from .data import _shape_text


def output_activation(graph, ref) -> str | None:
    """The type of the activation a Dense-like output layer applies itself, if any."""
    node = graph.node(ref.node)
    act = getattr(node.layer, "activation", None) if node is not None else None
    if ref.index is not None or act is None:
        return None
    # a softmax over another axis than the last normalises other values than the loss reads
    return None if getattr(act, "axis", -1) != -1 and act.type == "softmax" else act.type


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
    weighted: frozenset[int] = frozenset()  # the positions in `metrics` of weighted_metrics

    def terms(self, preds, ys, sws=()) -> list:
        """Each loss's value before its loss weight (the outputs with a loss, in order), as
        Keras's `CompileLoss.call`; `sws`: each output's sample weights (None: unweighted), or
        empty."""
        sws = sws or [None] * len(preds)
        return [
            fn(p, y) if s is None else fn(p, y, sample_weight=s)
            for fn, p, y, s in zip(self.loss_fns, preds, ys, sws, strict=True)
            if fn is not None
        ]

    def __post_init__(self) -> None:
        pairs = zip(self.loss_fns, self.weights, strict=True)
        self._weights = [w for fn, w in pairs if fn is not None]  # the weights of `terms`

    def total(self, terms: list):
        """The weighted sum of `terms` (Keras multiplies each by its loss weight, then sums; a
        weight of 1 is left out: `x * 1.0` is `x`, bit for bit, and so is its gradient)."""
        weights = self._weights
        total = terms[0] if weights[0] == 1.0 else terms[0] * weights[0]
        for t, w in zip(terms[1:], weights[1:], strict=True):
            total = total + (t if w == 1.0 else t * w)
        return total

    def loss(self, preds, ys, sws=()):
        """The total loss of one batch, without the model's penalties."""
        return self.total(self.terms(preds, ys, sws))

    @property
    def loss_outputs(self) -> list[str]:
        """The outputs with a loss, in order."""
        return [o for o, fn in zip(self.outputs, self.loss_fns, strict=True) if fn is not None]

    @property
    def loss_names(self) -> list[str]:
        """Keras 3's history names of the outputs' own losses (none with a single loss)."""
        return output_loss_names(self.loss_outputs)

    def update(self, preds, ys, sws=()) -> None:
        """Every metric's state after one batch. As Keras's `CompileMetrics.update_state`,
        only `weighted_metrics` get the sample weights (and so class_weight); `metrics` are
        never weighted."""
        weighted = self.weighted if sws else ()
        for i, (_, k, state) in enumerate(self.metrics):
            if i in weighted and sws[k] is not None:
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

        for i, (name, k, state) in enumerate(self.metrics):
            y = torch.from_numpy(np.array(ys[k][:2]))  # a copy: memmaps are read-only
            pred = torch.zeros((len(y), *preds_shapes[k][1:]))
            try:
                state.update(pred, y)
                state.reset()
            except (RuntimeError, ValueError, IndexError) as exc:
                where = f"{data_path}: " if data_path is not None else ""
                key = "weighted_metrics" if i in self.weighted else "metrics"
                raise NetspecError(
                    f"{where}compile.{key}: {name} cannot compare labels of shape "
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
    out_shapes = [(None, *s) for s in graph.output_shapes()]
    weighted: set[int] = set()
    for key in ("metrics", "weighted_metrics"):
        per_output = _metrics_per_output(getattr(compiled, key), outputs, valid.file, key)
        for k, name in enumerate(outputs):
            y_shape = y_shapes[k] if y_shapes else out_shapes[k]
            for m in per_output[k]:
                metric, label = _metric(m, y_shape, out_shapes[k])
                full = history_name(label, name, len(outputs))
                if key == "weighted_metrics":  # Keras: `weighted_` where the name is taken
                    weighted.add(len(metrics))
                    if full in directions:
                        full = history_name(f"weighted_{label}", name, len(outputs))
                metrics.append((full, k, metric.build()))
                directions[full] = type(metric).direction
    return Compiled(outputs, fns, weights, metrics, directions, frozenset(weighted))


def _metric(m, y_shape, out_shape) -> tuple:
    """(the metric, its label): `accuracy`/`acc` resolved from the shapes as Keras does."""
    if not isinstance(m, str):
        return m, m.display_name()
    accuracy = METRICS.get(resolve_accuracy(y_shape, out_shape))
    return accuracy.model_validate({}), m


def _metrics_per_output(metrics, outputs: list[str], file=None, key="metrics") -> list[list]:
    if not isinstance(metrics, dict):
        return [metrics] * len(outputs)
    for name in metrics:  # compile.metrics' keys are checked by validation already
        if name not in outputs:
            raise NetspecError(
                f"{file}: compile.{key}: '{name}' is not an output of the model (outputs: "
                f"{', '.join(outputs)})"
            )
    return [metrics.get(name, []) for name in outputs]


def _weights(given, outputs: list[str]) -> list[float]:
    if given is None:
        return [1.0] * len(outputs)
    if isinstance(given, dict):
        return [given.get(name, 1.0) for name in outputs]
    return list(given)  # one per output: checked by validation


def class_weighted(train, valid, class_weight: dict[int, float], data_path=None):
    """The training split with Keras's `class_weight` as its sample weights
    (`data_adapter_utils.class_weight_to_sample_weights`: a sample's class is the argmax of
    a label with several values on its last axis, else the label itself, rounded; a class
    not listed weighs 1). Refused as Keras refuses it: with several outputs, and with sample
    weights in the data; and for labels holding several classes per sample (sequences),
    where Keras's argmax would run over the time axis."""
    import numpy as np

    from .data import Split

    outputs = _names(valid.graph)
    where = f"{valid.file}: train.class_weight"
    if len(outputs) > 1:
        raise NetspecError(
            f"{where}: is only supported for a model with a single output (as Keras); this "
            f"one has {len(outputs)} ({', '.join(outputs)}): weigh each output's samples with "
            "sample_weight_<output> arrays in the data instead"
        )
    if any(w is not None for w in train.sw):
        raise NetspecError(
            f"{data_path or 'the data'}: has sample weights, and the spec sets "
            "train.class_weight; Keras cannot take both: keep one"
        )
    y = train.y[0]
    sparse = getattr(type(losses_per_output(valid.compile, outputs)[0]), "sparse", False)
    if y.ndim > 2 or (y.ndim == 2 and y.shape[-1] > 1 and sparse):
        raise NetspecError(
            f"{where}: needs one class per sample, but the labels have shape "
            f"{_shape_text(y.shape[1:])}; use sample_weight arrays in the data instead"
        )
    labels = np.asarray(y)
    if labels.ndim == 2:
        labels = labels.argmax(-1) if labels.shape[-1] != 1 else labels[:, 0]
    classes = np.round(labels).astype("int32")
    weights = np.ones(len(classes), dtype="float32")
    for label, weight in class_weight.items():
        weights[classes == label] = weight
    return Split(train.x, train.y, [weights])
