"""The `compile:` and `train:` sections checked against the model's graph, during validation (no
torch, no data): losses, metrics and loss weights against the outputs, every monitor against
the entries the run will report, a schedule against ReduceLROnPlateau, and losses/metrics that
cannot apply to an output's shape. Each problem is located on the key or value at fault.

What needs the data stays at run time (engine/): label shapes and values, and `val_` monitors
when the spec has no validation_split (the data file may hold x_val/y_val).
"""

from __future__ import annotations

from typing import Any

from ...errors import Path, Problem
from ...graph import Graph
from ...registry import did_you_mean
from .monitor import goes_up, history_keys, loss_outputs
from .sections import CompileSpec, TrainSpec


def check_sections(
    spec: Any, compiled: CompileSpec | None, train: TrainSpec | None, graph: Graph
) -> list[Problem]:
    """Every problem of the sections given their graph (a section that failed its own
    validation is None and is not checked further)."""
    outputs = [str(ref) for ref in graph.outputs]
    problems: list[Problem] = []
    if compiled is not None:
        problems += _names(compiled, outputs)
        problems += _one_tensor_each(spec, compiled, graph)
        problems += _shapes(compiled, graph)
    if train is not None and compiled is not None:
        problems += _unreduced(compiled, outputs)
    if train is not None:
        problems += _needs_monitor(train)
        problems += _monitors(compiled, train, outputs)
        problems += _schedule_and_plateau(compiled, train)
        if compiled is None or not has_loss(compiled.loss):
            problems.append(Problem(("train",), NO_LOSS, True))
    return problems


NO_LOSS = "training needs a loss: add `compile: {loss: ...}` (Keras: compile() before fit())"


def has_loss(loss: Any) -> bool:
    """Whether `compile.loss` gives a loss to at least one output (`loss: {}` gives none)."""
    return bool(loss) if isinstance(loss, dict) else loss is not None


def history_name(label: str, output: str, outputs: int) -> str:
    """Keras's history name of a metric: its label, prefixed by its output's name (`:` as
    `_`) when the model has several outputs."""
    return label if outputs == 1 else f"{output.replace(':', '_')}_{label}"


def _unknown_keys(given: dict, outputs: list[str], path: Path) -> list[Problem]:
    listed = ", ".join(outputs)
    return [
        Problem(
            (*path, key),
            f"'{key}' is not an output of the model{did_you_mean(key, outputs)} "
            f"(outputs: {listed})",
            True,
        )
        for key in given
        if key not in outputs
    ]


def _names(compiled: CompileSpec, outputs: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    given = {
        "loss": compiled.loss,
        "metrics": compiled.metrics,
        "weighted_metrics": compiled.weighted_metrics,
        "loss_weights": compiled.loss_weights,
    }
    for key, value in given.items():
        if isinstance(value, dict):
            problems += _unknown_keys(value, outputs, ("compile", key))
    weights = compiled.loss_weights
    if isinstance(weights, list) and len(weights) != len(outputs):
        problems.append(
            Problem(
                ("compile", "loss_weights"),
                f"has {len(weights)} entries for {len(outputs)} output(s) "
                f"({', '.join(outputs)}): one weight per output",
            )
        )
    return problems


def _one_tensor_each(spec: Any, compiled: CompileSpec, graph: Graph) -> list[Problem]:
    """A loss compares one tensor with one label array: an output that is all the values of a
    multi-output layer (an RNN with return_state: true) is refused, naming the pick."""
    if not has_loss(compiled.loss):
        return []
    problems = []
    for ref in graph.outputs:
        node = graph.node(ref.node)
        if node is None or ref.index is not None or not isinstance(node.output, list):
            continue
        n, name = len(node.output), node.name
        why = " (return_state: true)" if getattr(node.layer, "return_state", False) else ""
        where: Path = ("outputs",) if spec.outputs is not None else ("layers", node.index)
        problems.append(
            Problem(
                where,
                f"the model's output '{name}' is this {node.type}'s {n} outputs{why}, but a "
                f"loss takes one tensor per output: pick one with `outputs: {name}:0` (or "
                f"'{name}:1' ... '{name}:{n - 1}')",
            )
        )
    return problems


def _per_output(value: Any, outputs: list[str], path: Path) -> list[tuple[int, Any, Path]]:
    """(output index, entry, path) of a loss or metric list given once or per output."""
    if isinstance(value, dict):
        return [(outputs.index(k), v, (*path, k)) for k, v in value.items() if k in outputs]
    return [(k, value, path) for k in range(len(outputs))]


def _shapes(compiled: CompileSpec, graph: Graph) -> list[Problem]:
    """A class-index loss (labels are class indices) on an output with fewer than 2 values on its
    last axis: Keras fails there at the first label above 0 ("Target 1 is out of bounds"),
    netspec before training."""
    outputs = [str(ref) for ref in graph.outputs]
    shapes = graph.output_shapes()
    problems = []
    for k, loss, path in _per_output(compiled.loss, outputs, ("compile", "loss")):
        shape = shapes[k]
        if loss is None or not shape or shape[-1] is None:
            continue
        if type(loss).label_kind == "classes" and shape[-1] < 2:
            problems.append(Problem(path, _class_axis_message(loss, outputs[k], shape)))
    return problems


def _needs_monitor(train: TrainSpec) -> list[Problem]:
    """checkpoint.keep and restore_best_weights rank the epochs by a monitor: checkpoint's own,
    else early stopping's."""
    best = train.checkpoint
    if best.monitor is not None or train.early_stopping is not None:
        return []
    return [
        Problem(
            ("train", "checkpoint", key),
            f"checkpoint.{key} needs a monitor to rank the epochs: set checkpoint.monitor "
            "(val_loss, ...) or early_stopping",
        )
        for key in ("keep", "restore_best_weights")
        if getattr(best, key)
    ][:1]


def _unreduced(compiled: CompileSpec, outputs: list[str]) -> list[Problem]:
    """`reduction: none` leaves one loss per sample, which fit cannot step on (Keras's torch
    backend fails at the first step: "grad can be implicitly created only for scalar outputs");
    evaluate reports their mean, as Keras does."""
    return [
        Problem(
            (*path, "reduction"),
            "reduction none leaves one loss value per sample, and training needs one number; "
            "use sum_over_batch_size (Keras's default), sum, mean or mean_with_sample_weight",
        )
        for _, loss, path in _per_output(compiled.loss, outputs, ("compile", "loss"))
        if loss is not None and not isinstance(loss, str) and loss.reduction in (None, "none")
    ]


def _class_axis_message(entry: Any, output: str, shape: tuple) -> str:
    dims = ", ".join(str(d) for d in (None, *shape))
    return (
        f"{entry.type} needs one output value per class on the last axis (2 or more), but "
        f"output '{output}' has shape ({dims}): give the layer one unit per class, or use "
        "BinaryCrossentropy for two classes with 1 unit"
    )


def _metric_names(compiled: CompileSpec | None, outputs: list[str]) -> dict[str, str]:
    """The history names of the metrics (as Keras names them) and their directions."""
    if compiled is None:
        return {}
    names: dict[str, str] = {}
    for key in ("metrics", "weighted_metrics"):
        for k, metrics, _ in _per_output(getattr(compiled, key), outputs, ()):
            for m in metrics:
                label = m if isinstance(m, str) else m.display_name()
                direction = "up" if isinstance(m, str) else type(m).direction
                full = history_name(label, outputs[k], len(outputs))
                if key == "weighted_metrics" and full in names:  # Keras: `weighted_` if taken
                    full = history_name(f"weighted_{label}", outputs[k], len(outputs))
                names[full] = direction
    return names


def _monitors(compiled: CompileSpec | None, train: TrainSpec, outputs: list[str]) -> list[Problem]:
    """Each monitor names an entry the run reports (`val_` ones need validation data, which the
    data file may give when validation_split is 0: then checked at run time)."""
    directions = _metric_names(compiled, outputs)
    plateau = train.reduce_lr_on_plateau
    has_val = train.validation_split > 0
    losses = loss_outputs(compiled.loss if compiled is not None else None, outputs)
    keys = history_keys(list(directions), True, ("learning_rate",) * bool(plateau), losses)
    watched: list[tuple[str, str | None, str]] = [
        ("early_stopping", *_monitor_of(train.early_stopping)),
        ("reduce_lr_on_plateau", *_monitor_of(plateau)),
        ("checkpoint", train.checkpoint.monitor, train.checkpoint.mode),
    ]
    problems = []
    for owner, monitor, mode in watched:
        if monitor is None:
            continue
        path = ("train", owner, "monitor")
        if monitor not in keys:
            shown = keys if has_val else [k for k in keys if not k.startswith("val_")]
            problems.append(Problem(path, _not_reported(monitor, keys, shown, has_val)))
            continue
        try:
            goes_up(monitor, mode, directions)
        except ValueError as exc:
            problems.append(Problem(path, str(exc)))
    return problems


def _monitor_of(section: Any) -> tuple[str | None, str]:
    return (None, "auto") if section is None else (section.monitor, section.mode)


def _not_reported(monitor: str, keys: list[str], shown: list[str], has_val: bool) -> str:
    note = "" if has_val else "; val_ entries need validation data (validation_split or x_val)"
    return (
        f"'{monitor}' is not reported by this training{did_you_mean(monitor, keys)} "
        f"(reported: {', '.join(shown)}{note})"
    )


def _schedule_and_plateau(compiled: CompileSpec | None, train: TrainSpec) -> list[Problem]:
    if train.reduce_lr_on_plateau is None or compiled is None:
        return []
    if compiled.optimizer.schedule is None:
        return []
    return [
        Problem(
            ("train", "reduce_lr_on_plateau"),
            "cannot change a learning-rate schedule (compile.optimizer.learning_rate); use one "
            "or the other",
            True,
        )
    ]
