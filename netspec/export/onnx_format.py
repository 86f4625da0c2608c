"""ONNX through `torch.onnx.export`: the dynamo exporter, else the TorchScript one; named inputs
and outputs, dynamic batch and variable axes, the opset recorded in the file's metadata; run
back by onnxruntime for the check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import NetspecError
from .common import (
    EXPORT_BATCH,
    EXPORT_VAR,
    Exported,
    dynamic_axes,
    output_names,
    sample_inputs,
)
from .quiet import quiet

# The default opset: the newest that TensorRT 10 and OpenVINO 2024+ both read, and that the
# dynamo exporter writes without a version conversion.
DEFAULT_OPSET = 18


def export_onnx(model, graph, path: Path, opset: int) -> Exported:
    """Write `model` to `path`: the exporter used, inputs' and outputs' axes as written.

    The dynamo exporter is given the torch.export program of the torch-export format (the
    same dynamic axes: a variable axis the model fixes stays fixed, where a named dynamic axis
    would make the dynamo exporter fail); its symbolic axes are then renamed to the names of
    `dynamic_axes`."""
    names = [i.name for i in graph.inputs]
    common: dict[str, Any] = dict(
        input_names=names, output_names=output_names(graph), opset_version=opset
    )
    dynamo_error: BaseException | None = None
    try:
        symbols = _dynamo_export(model, graph, path, common)
        exporter = "dynamo"
    except Exception as first:  # noqa: BLE001 - any exporter failure: try the other one
        args = tuple(sample_inputs(graph, EXPORT_BATCH, EXPORT_VAR))
        try:
            with quiet():
                torch.onnx.export(
                    model, args, str(path), dynamo=False, dynamic_axes=dynamic_axes(graph),
                    **common,
                )  # fmt: skip
        except Exception:  # noqa: BLE001 - the dynamo exporter's error is the one to locate
            raise first from None
        exporter, symbols, dynamo_error = "torchscript", {}, first
    _finish(path, graph, opset, exporter, symbols)
    inputs, outputs = _file_axes(path)
    return Exported(path, "onnx", exporter, opset, inputs, outputs, dynamo_error=dynamo_error)


def _dynamo_export(model, graph, path: Path, options: dict[str, Any]) -> dict[str, str]:
    """The program through the dynamo exporter to `path`; the names of its symbolic axes."""
    from .program import exported_program, program_axes

    program = exported_program(model, graph)
    symbols = program_axes(program, graph)[2]
    with quiet():
        torch.onnx.export(program, (), str(path), dynamo=True, external_data=False, **options)
    return symbols


def _finish(path: Path, graph, opset: int, exporter: str, symbols: dict[str, str]) -> None:
    """Rename the symbolic axes (`s12` -> `batch`) and record netspec's metadata."""
    import onnx

    proto = onnx.load(str(path))
    values = [*proto.graph.input, *proto.graph.output, *proto.graph.value_info]
    for value in values:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param.isdigit():  # a size the exporter fixed
                dim.dim_value = int(dim.dim_param)
            elif dim.dim_param in symbols:
                dim.dim_param = symbols[dim.dim_param]
    metadata = {
        "netspec.spec": graph.name or "",
        "netspec.opset": str(opset),
        "netspec.exporter": exporter,
    }
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "netspec"
    onnx.save(proto, str(path))


def _file_axes(path: Path) -> tuple[dict, dict]:
    """The inputs' and outputs' shapes as the file declares them (a name: a dynamic axis)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph

    def shape(value) -> tuple:
        dims = value.type.tensor_type.shape.dim
        return tuple(d.dim_param or d.dim_value for d in dims)

    return {v.name: shape(v) for v in graph.input}, {v.name: shape(v) for v in graph.output}


class OnnxRuntimeRefused(Exception):
    """onnxruntime cannot load the written file (its message names the failing node)."""


def onnx_runner(path: Path, graph) -> Callable[[list[torch.Tensor]], list[np.ndarray]]:
    """Run the file by onnxruntime on the CPU, inputs fed by the spec's input names."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its warnings are about graph optimisations
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime refuses the file (a node's error)
        raise OnnxRuntimeRefused(str(exc)) from None
    names = [i.name for i in graph.inputs]

    def run(inputs: list[torch.Tensor]) -> list[np.ndarray]:
        try:
            feed = {n: x.numpy() for n, x in zip(names, inputs, strict=True)}
            return list(session.run(None, feed))
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own errors; numpy has no bfloat16
            raise NetspecError(f"onnxruntime cannot run the exported file: {exc}") from None

    return run


def try_onnx_layer(opset: int) -> Callable:
    """One layer alone through the dynamo exporter (to find the layer that fails)."""

    def attempt(module, args: tuple, kwargs: dict) -> None:
        with quiet():
            program = torch.export.export(module, args, kwargs=kwargs)
            torch.onnx.export(program, (), None, dynamo=True, opset_version=opset)

    return attempt
