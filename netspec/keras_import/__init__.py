"""`netspec import`: a Keras model (a Keras 3 `.keras` archive, a Keras 2 full-model `.h5` or a
`to_json()` file), read without Keras, as a spec a person would have written and, when the file
holds them, its weights in netspec's layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NetspecError, SpecError
from .convert import Imported, convert
from .flat import drop_masks, flat_spec, top_keys
from .layout import Layout
from .read import read_model_file
from .write import schema_ref, spec_text


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote: the spec, the weights (None for a model without), its size."""

    spec: Path
    weights: Path | None
    layers: int
    lines: int

    def report(self) -> str:
        lines = [f"spec saved to {self.spec} ({self.layers} layers, {self.lines} lines)"]
        if self.weights is not None:
            lines.append(f"weights saved to {self.weights}")
        return "\n".join(lines)


PLACEHOLDER = "NOT_IMPORTED_"  # the type of a --partial placeholder: no layer has it


def import_model(
    model: Path, output: Path, weights_out: Path | None = None, partial: bool = False
) -> ImportResult:
    """Write the spec of the Keras model file `model` to `output` and, when the file holds
    weights, those weights to `weights_out` (default: `output` with suffix .safetensors).
    Every unsupported thing is reported at once as a NetspecError; nothing is written then,
    unless `partial`: then the spec is written with each unsupported layer as a placeholder
    (`type: NOT_IMPORTED_Class`, its reasons in a comment above it) that fails validation
    until a person replaces it, no weights are written, and the error says so."""
    source = read_model_file(Path(model))
    imported = convert(source.config, str(model))
    origin = f"Keras {source.keras_version}" if source.keras_version else "Keras"
    header = [f"Imported by `netspec import` from {Path(model).name} ({origin})."]
    if imported.reasons:
        return _refuse(imported, output, header, partial)
    channels_first = _channels_first(imported)
    drop_masks(imported, channels_first)
    written = Layout(imported).render()
    top = top_keys(imported, written.outputs)
    if channels_first:
        top = {**dict(list(top.items())[:2]), "data_format": "channels_first", **top}
    text = spec_text(top, written, header, schema_ref(Path(output)))
    valid = _validate(text, output)
    target = None
    if source.has_weights:
        from .weights import write_weights

        target = Path(weights_out) if weights_out else Path(output).with_suffix(".safetensors")
        write_weights(flat_spec(imported, channels_first), valid, Path(model), target)
    Path(output).write_text(text)
    return ImportResult(Path(output), target, len(imported.calls), text.count("\n"))


def _channels_first(imported: Imported) -> bool:
    """Whether every layer with a data_format is channels_first (Keras's image_data_format
    set so): then the spec says it once, at the top, and the layers do not."""
    from ..layers import LAYERS

    def has_format(kind: str) -> bool:
        return kind in LAYERS and "data_format" in LAYERS.get(kind).model_fields

    formats = [c.entry for c in imported.calls if has_format(c.entry["type"])]
    if not formats or any(e.get("data_format") != "channels_first" for e in formats):
        return False
    for entry in formats:
        del entry["data_format"]
    return True


def _refuse(imported: Imported, output: Path, header: list[str], partial: bool) -> ImportResult:
    reasons = "\n".join(imported.reasons)
    by_layer: dict[str, list[str]] = {}
    for reason in imported.reasons:
        found = re.search(r": layer '(.*?)' \((.*?)\): (.*)$", reason)
        if found:
            by_layer.setdefault(found.group(1), []).append(found.group(3))
    names = {c.entry["name"] for c in imported.calls}
    placeable = sum(map(len, by_layer.values())) == len(imported.reasons) and set(by_layer) <= names
    if not partial or not placeable:
        why = " (not every reason is a layer's: no placeholders)" if partial else ""
        raise NetspecError(f"cannot import this model:\n{reasons}\nno spec written{why}")
    for call in imported.calls:
        problems = by_layer.get(call.entry["name"])
        if problems:
            kind = call.entry["type"]
            call.keras_class = ""  # its name is written, automatic or not
            call.entry = {"type": f"{PLACEHOLDER}{kind}", "name": call.entry["name"],
                          "_comment": [f"TODO netspec import: {p}" for p in problems]}  # fmt: skip
    written = Layout(imported).render()
    text = spec_text(top_keys(imported, written.outputs), written, header, schema_ref(Path(output)))
    Path(output).write_text(text)
    raise NetspecError(
        f"cannot import this model:\n{reasons}\n"
        f"partial spec written to {output}: replace its {PLACEHOLDER}* placeholders "
        "(it does not validate until then); no weights written"
    )


def _validate(text: str, output: Path):
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
