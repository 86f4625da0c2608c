"""Block definitions (`blocks:`) and argument lists (`args:`), read from a spec's YAML data.

A block is a named sub-graph with arguments:

    blocks:
      bottleneck:                  # Keras's resnet.block1
        args: {filters: required, kernel_size: 3, stride: 1, conv_shortcut: true}
        inputs: [x]                # default: one input, x
        outputs: out               # default: the last layer
        layers: [...]              # entries as in `layers:`; ${...} uses the arguments

An argument's default is any YAML value, or the word `required`; a default may be an
expression over the arguments before it (`${4 * filters}`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..layers.base import NAME_PATTERN
from ..registry import did_you_mean
from ..yamlio import Document, YamlPath

REQUIRED = "required"
BLOCK_KEYS = ("description", "args", "inputs", "outputs", "layers")
_NAME = re.compile(NAME_PATTERN)


@dataclass
class Located:
    """A problem found while expanding: in `doc` at `path`, within instance `frame`."""

    doc: Document
    path: YamlPath
    message: str
    frame: int | None = None
    at_key: bool = False


@dataclass
class Arg:
    name: str
    default: Any  # REQUIRED when the use must give it
    path: YamlPath


@dataclass
class BlockDef:
    name: str
    doc: Document
    path: YamlPath
    args: list[Arg] = field(default_factory=list)
    inputs: list[str] = field(default_factory=lambda: ["x"])
    outputs: str | None = None
    layers: list[Any] = field(default_factory=list)


def parse_args(doc: Document, raw: Any, path: YamlPath, problems: list[Located]) -> list[Arg]:
    """The `args:` mapping at `path`: names in order with their defaults."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        problems.append(Located(doc, path, "args is a mapping of argument names to defaults"))
        return []
    args = []
    for name, default in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            message = f"argument name {name!r} is not an identifier"
            problems.append(Located(doc, (*path, name), message, at_key=True))
            continue
        args.append(Arg(name, default, (*path, name)))
    return args


def parse_blocks(doc: Document, raw: Any, problems: list[Located]) -> dict[str, BlockDef]:
    """The `blocks:` section of `doc`; structural problems are appended, located."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Located(doc, ("blocks",), "blocks is a mapping of block names to blocks"))
        return {}
    blocks = {}
    for name, body in raw.items():
        path: YamlPath = ("blocks", name)
        if not isinstance(name, str) or not _NAME.match(name):
            message = f"block name {name!r} is not an identifier (letters, digits, _)"
            problems.append(Located(doc, path, message, at_key=True))
            continue
        block = _parse_block(doc, name, body, path, problems)
        if block is not None:
            blocks[name] = block
    return blocks


def _parse_block(
    doc: Document, name: str, body: Any, path: YamlPath, problems: list[Located]
) -> BlockDef | None:
    if not isinstance(body, dict):
        problems.append(Located(doc, path, "a block is a mapping with layers (and args)"))
        return None
    for key in body:
        if key not in BLOCK_KEYS:
            hint = did_you_mean(str(key), list(BLOCK_KEYS))
            message = f"unknown block key '{key}'{hint}"
            problems.append(Located(doc, (*path, key), message, at_key=True))
    block = BlockDef(name, doc, path, parse_args(doc, body.get("args"), (*path, "args"), problems))
    inputs = body.get("inputs", ["x"])
    inputs = [inputs] if isinstance(inputs, str) else inputs
    if (
        not isinstance(inputs, list)
        or not inputs
        or not all(isinstance(i, str) and _NAME.match(i) for i in inputs)
    ):
        problems.append(Located(doc, (*path, "inputs"), "inputs is a list of names (e.g. [x])"))
    else:
        block.inputs = inputs
    outputs = body.get("outputs")
    if outputs is not None and not isinstance(outputs, str):
        problems.append(Located(doc, (*path, "outputs"), "outputs is one name"))
    block.outputs = outputs if isinstance(outputs, str) else None
    layers = body.get("layers")
    if not isinstance(layers, list) or not layers:
        problems.append(Located(doc, path, "a block needs layers: a non-empty list"))
        return None
    block.layers = layers
    return block
