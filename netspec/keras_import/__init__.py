"""`netspec import`: a Keras model (a Keras 3 `.keras` archive, a Keras 2 full-model `.h5` or a
`to_json()` file), read without Keras, as a spec a person would have written and, when the file
holds them, its weights in netspec's layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NetspecError, SpecError
from .convert import Imported, convert
from .layout import Layout
from .read import read_model_file
from .write import spec_text


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the spec, the weights (None for a model without), its size."""

    spec: Path
    weights: Path | None
    layers: int
    lines: int


def import_model(model: Path, output: Path, weights_out: Path | None = None) -> ImportResult:
    """Write the spec of the Keras model file `model` to `output` and, when the file holds
    weights, those weights to `weights_out` (default: `output` with suffix .safetensors).
    Every unsupported thing is reported at once as a NetspecError; nothing is written then."""
    source = read_model_file(Path(model))
    imported = convert(source.config, str(model))
    if imported.reasons:
        raise NetspecError(
            "cannot import this model:\n" + "\n".join(imported.reasons) + "\nno spec written"
        )
    origin = f"Keras {source.keras_version}" if source.keras_version else "Keras"
    header = [f"Imported by `netspec import` from {Path(model).name} ({origin})."]
    written = Layout(imported).render()
    text = spec_text(_top(imported, written.outputs), written, header)
    valid = _validate(text, output, imported)
    target = None
    if source.has_weights:
        from .weights import write_weights

        target = Path(weights_out) if weights_out else Path(output).with_suffix(".safetensors")
        write_weights(_flat_spec(imported), valid, Path(model), target)
    Path(output).write_text(text)
    return ImportResult(Path(output), target, len(imported.calls), text.count("\n"))


def _top(imported: Imported, outputs: list[str] | None) -> dict[str, Any]:
    top: dict[str, Any] = {"netspec": 1, "name": imported.name}
    if imported.sequential:
        (only,) = imported.inputs.values()
        top["input_shape"] = only["shape"]
        if "dtype" in only:
            top["input_dtype"] = only["dtype"]
    else:
        top["inputs"] = imported.inputs
    if outputs is not None:
        top["outputs"] = outputs[0] if len(outputs) == 1 else outputs
    return top


def _flat_spec(imported: Imported) -> dict[str, Any]:
    """The model as one flat spec with Keras's layer names (to load Keras's weights into)."""
    top = _top(imported, imported.outputs)
    layers = []
    for call in imported.calls:
        entry = dict(call.entry)
        refs = call.refs
        layers.append({**entry, "inputs": refs[0] if len(refs) == 1 else refs})
    return {**top, "layers": layers}


def _validate(text: str, output: Path, imported: Imported):
    """The written spec, validated; a problem is this importer's bug, named by layer."""
    from ..loader import loads

    try:
        return loads(text, str(output))
    except SpecError as exc:
        lines = []
        for d in exc.diagnostics:
            lines.append(f"{d.path}: {d.message}")
        raise NetspecError(
            f"{output}: the imported spec does not validate (a bug in netspec import):\n"
            + "\n".join(lines)
        ) from None


__all__ = ["ImportResult", "import_model"]
