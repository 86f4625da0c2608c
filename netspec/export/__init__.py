"""`netspec export`: a spec's model as an ONNX file or a torch.export program (.pt2), checked
after writing against the netspec module (docs: README, "Exporting").

The file is written beside the output under a temporary name, run back on sample batches of
two sizes (onnxruntime on the CPU; `torch.export.load`), compared with the module, and renamed
to the output only when it matches; else nothing is left and the error says why."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import NetspecError
from .common import CHECK_BATCHES, CHECK_VARS, EXPORT_VAR, Exported

if TYPE_CHECKING:
    from ..loader import ValidSpec

FORMATS = ("onnx", "torch-export")

__all__ = ["FORMATS", "Exported", "export_spec"]


def export_spec(
    spec: Path | str | ValidSpec,
    output: Path | str,
    fmt: str = "onnx",
    weights: Path | str | None = None,
    seed: int | None = None,
    opset: int | None = None,
) -> Exported:
    """Export the model of `spec` (a file, or a ValidSpec; with `weights`, else its initial
    weights from `seed`) to `output` in `fmt` (onnx, torch-export); raises NetspecError when
    it cannot, or when the written file does not give the module's outputs."""
    output = Path(output)
    if fmt not in FORMATS:
        raise NetspecError(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}")
    if opset is not None and fmt != "onnx":
        raise NetspecError("--opset: only for --format onnx")
    if not output.parent.is_dir():  # not created: a typo would go unnoticed
        raise NetspecError(f"{output}: no such directory: {output.parent}")
    model, graph = _model(spec, weights, seed)
    temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        result = _write(model, graph, temp, fmt, opset)
        result.max_difference = _check(model, graph, temp, result)
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
    result.path = output
    return result


def _model(spec, weights, seed):
    from .. import build, load
    from ..loader import ValidSpec

    valid = spec if isinstance(spec, ValidSpec) else load(spec)
    model = build(valid, device="cpu", seed=seed)
    if weights is not None:
        from ..training.output.runs import load_weights

        load_weights(model, weights, graph=valid.graph)
    return model.eval(), valid.graph


def _write(model, graph, path: Path, fmt: str, opset: int | None) -> Exported:
    export: Callable[..., Exported]
    if fmt == "onnx":
        from .onnx_format import DEFAULT_OPSET, export_onnx

        opset = opset or DEFAULT_OPSET
        _check_opset(opset)
        export = partial(export_onnx, opset=opset)
    else:
        from .program import export_program

        export = export_program
    try:
        return export(model, graph, path)
    except Exception as exc:  # noqa: BLE001 - any exporter failure, located
        raise _located(exc, model, graph, fmt, opset) from None


def _check_opset(opset: int) -> None:
    """Refused before exporting: an opset the onnx package does not know (7: the oldest the
    converters write)."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not 7 <= opset <= newest:
        raise NetspecError(f"--opset: {opset} is not in 7..{newest} (onnx {onnx.__version__})")


def _located(exc: BaseException, model, graph, fmt: str, opset: int | None) -> NetspecError:
    from .locate import located_error

    if fmt == "onnx":
        from .onnx_format import try_onnx_layer

        return located_error(exc, model, graph, "ONNX", try_onnx_layer(opset or 0))
    from .program import try_program_layer

    return located_error(exc, model, graph, "torch.export", try_program_layer)


def _check(model, graph, path: Path, result: Exported) -> float:
    """Run the file at each check batch: the largest relative difference to the module. A
    file of the TorchScript exporter (the fallback) that fails: the dynamo one's error."""
    try:
        return _compare(model, graph, path, result)
    except NetspecError as exc:
        if result.dynamo_error is None:
            raise
        located = _located(result.dynamo_error, model, graph, "onnx", result.opset)
        raise NetspecError(f"{located} (the TorchScript exporter's file: {exc})") from None


def _compare(model, graph, path: Path, result: Exported) -> float:
    from .common import TOLERANCE, difference, output_names, reference, sample_inputs

    if result.fmt == "onnx":
        from .locate import runtime_error
        from .onnx_format import OnnxRuntimeRefused, onnx_runner

        try:
            run = onnx_runner(path, graph)
        except OnnxRuntimeRefused as exc:
            raise runtime_error(exc, graph) from None
    else:
        from .program import program_runner

        run = program_runner(path)
    names = output_names(graph)
    worst = 0.0
    for batch, var in zip(CHECK_BATCHES, CHECK_VARS, strict=True):
        var = var if _variable_axes_free(graph, result) else EXPORT_VAR
        inputs = sample_inputs(graph, batch, var, seed=batch)
        try:
            got = run(inputs)
        except NetspecError as exc:
            raise NetspecError(f"at batch {batch}: {exc}; nothing written") from None
        try:
            diff = difference(got, reference(model, inputs), names)
        except NetspecError as exc:  # a shape or an output count the file gets wrong
            raise NetspecError(
                f"the exported file does not match netspec's output at batch {batch}: {exc}; "
                "nothing written"
            ) from None
        if not diff <= TOLERANCE:
            raise NetspecError(
                f"the exported file does not match netspec's output at batch {batch}: max "
                f"relative difference {diff:.3g} > {TOLERANCE:g}; nothing written"
            )
        worst = max(worst, diff)
    return worst


def _variable_axes_free(graph, result: Exported) -> bool:
    """Whether every `null` axis of the spec stayed free in the file (else the check keeps
    the size it was exported at)."""
    for inp in graph.inputs:
        shape = result.inputs.get(inp.name, ())
        for k, d in enumerate(inp.shape):
            if d is None and k + 1 < len(shape) and isinstance(shape[k + 1], int):
                return False
    return True
