"""The imported spec as YAML text a person would have written: the schema modeline, where it
came from, flow style for short layers and block style for long ones, stable key order."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from ..schema import SCHEMA_ID

WIDTH = 100
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value: Any) -> str:
    """One YAML scalar (or flow collection) that reads back as `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value.lower() not in _RESERVED
        return value if plain else json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text:  # YAML 1.1 reads 1e-05 as a string: the mantissa needs a dot
        mantissa, exponent = text.split("e")
        mantissa = mantissa if "." in mantissa else mantissa + ".0"
        text = f"{mantissa}e{exponent if exponent.startswith('-') else '+' + exponent}"
    return text


def layer_lines(entry: dict[str, Any], indent: str = "  ") -> list[str]:
    """One `layers:` item: flow style when it fits in WIDTH, else one key per line."""
    notes = [f"{indent}# {line}" for line in entry.get("_comment", [])]
    entry = {k: v for k, v in entry.items() if k != "_comment"}
    flow = f"{indent}- " + scalar(entry)
    if len(flow) <= WIDTH:
        return [*notes, flow]
    lines = notes
    for i, (key, value) in enumerate(entry.items()):
        lead = f"{indent}- " if i == 0 else f"{indent}  "
        lines.append(lead + f"{key}: {scalar(value)}")
    return lines


def schema_ref(spec: Path) -> str:
    """The modeline's schema for a spec written at `spec`: `schemas/netspec.schema.json` of
    the nearest folder above that has one (`netspec schema -o schemas/netspec.schema.json`),
    as a relative path, else the schema's id."""
    folder = spec.resolve().parent
    for above in (folder, *folder.parents):
        found = above / "schemas" / "netspec.schema.json"
        if found.is_file():
            return Path(os.path.relpath(found, folder)).as_posix()
    return SCHEMA_ID


def spec_text(top: dict[str, Any], written: Any, header: list[str], schema: str) -> str:
    """The whole file: modeline, header comments, top-level keys, blocks, layers, outputs."""
    lines = [f"# yaml-language-server: $schema={schema}"]
    lines += [f"# {line}" for line in header]
    outputs = top.pop("outputs", None)
    for key, value in top.items():
        if key == "inputs":
            lines.append("inputs:")
            lines += [f"  {name}: {scalar(spec)}" for name, spec in value.items()]
        else:
            lines.append(f"{key}: {scalar(value)}")
    if written.blocks:
        lines.append("blocks:")
        for name, block in written.blocks.items():
            lines.append(f"  {name}:")
            for key, value in block.items():
                if key != "layers":
                    lines.append(f"    {key}: {scalar(value)}")
            lines.append("    layers:")
            for entry in block["layers"]:
                lines += layer_lines(entry, "      ")
    lines.append("layers:")
    for entry in written.layers:
        lines += layer_lines(entry)
    if outputs is not None:
        lines.append(f"outputs: {scalar(outputs)}")
    return "\n".join(lines) + "\n"
