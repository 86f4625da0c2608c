"""A located message for a model that cannot be exported: the layer that fails.

Each spec layer's module is exported alone, on the arguments it got in an eager run of the
sample batch, in execution order: the first that fails is the one named. When each exports
alone (the failure lies between layers, or in the dynamic axes), the exporter's message names
the layer where it names a module `layers.<name>`; else the message is the exporter's own."""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from ..errors import NetspecError
from .common import EXPORT_BATCH, EXPORT_VAR, sample_inputs

MAX_MESSAGE = 400


def located_error(exc: BaseException, model, graph, fmt: str, attempt: Callable) -> NetspecError:
    """The error for `exc`, raised by exporting `model` (`attempt`: one layer alone)."""
    try:
        calls = _layer_calls(model, graph)
    except Exception:  # noqa: BLE001 - the sample does not run eagerly either: no bisection
        calls = {}
    for node in (graph.nodes[i] for i in graph.order):
        if node.name not in calls:
            continue
        args, kwargs = calls[node.name]
        try:
            attempt(model.layers[node.name], args, kwargs)
        except Exception as alone:  # noqa: BLE001 - whatever the exporter raises
            return _layer_error(node, fmt, alone)
    node = _named_in(str(exc), graph)
    if node is not None:
        return _layer_error(node, fmt, exc)
    return NetspecError(f"the model cannot be exported to {fmt}: {summary(exc)}")


def _layer_error(node, fmt: str, exc: BaseException) -> NetspecError:
    return NetspecError(
        f"layer '{node.name}' ({node.type}) cannot be exported to {fmt}: {summary(exc)}"
    )


def _layer_calls(model, graph) -> dict[str, tuple[tuple, dict]]:
    """Each layer's first call (positional and keyword arguments) in an eager forward."""
    calls: dict[str, tuple[tuple, dict]] = {}

    def hook(name: str):
        def record(_module, args, kwargs):
            calls.setdefault(name, (args, dict(kwargs)))

        return record

    handles = [
        model.layers[node.name].register_forward_pre_hook(hook(node.name), with_kwargs=True)
        for node in graph.nodes
    ]
    try:
        with torch.no_grad():
            model(*sample_inputs(graph, EXPORT_BATCH, EXPORT_VAR))
    finally:
        for handle in handles:
            handle.remove()
    return calls


def _named_in(text: str, graph):
    """The layer whose module path the text names (`layers.<name>`, `layers_<name>` in FX
    names, `/<name>/` in ONNX node names); the longest name first, so `dense_1` is not taken
    for `dense_12`."""
    for node in sorted(graph.nodes, key=lambda n: -len(n.name)):
        name = re.escape(node.name)
        pattern = rf"(layers[._]{name}(?![A-Za-z0-9])|/{name}/)"
        if re.search(pattern, text):
            return node
    return None


def summary(exc: BaseException) -> str:
    """The exporter's message, short: its most specific line (the innermost cause's first)."""
    while exc.__cause__ is not None and str(exc.__cause__).strip():
        exc = exc.__cause__
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def runtime_error(exc: BaseException, graph) -> NetspecError:
    """onnxruntime refuses the written file: the layer its failing node belongs to."""
    node = _named_in(str(exc), graph)
    where = f"layer '{node.name}' ({node.type}): " if node is not None else ""
    return NetspecError(f"{where}onnxruntime cannot load the exported file: {summary(exc)}")
