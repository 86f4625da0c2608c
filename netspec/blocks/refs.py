"""What a name means while blocks are expanded: the output of an expanded layer (`Slot`), a
model input, or a name written in some scope (`Pending`), resolved once every layer is named."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..yamlio import Document, YamlPath
from .defs import BlockDef


@dataclass(frozen=True)
class Slot:
    """Output `index` (None: the only one) of expanded layer `layer`."""

    layer: int
    index: int | None = None


@dataclass(frozen=True)
class ModelInput:
    name: str


@dataclass(eq=False)
class Pending:
    """`name[:index]` as written at `path` of `scope`'s document."""

    scope: Scope
    name: str
    index: int | None
    path: YamlPath


Target = Slot | ModelInput | Pending


@dataclass
class Scope:
    """The names, arguments and blocks visible to the entries of one layer list."""

    env: dict[str, Any]
    doc: Document
    blocks: dict[str, BlockDef]
    names: dict[str, Target] = field(default_factory=dict)
    prefix: str | None = None  # the instance name: inner names become `prefix_name`
    keep_names: bool = True  # a spec's own layers (and a nested model's) keep their names
    frame: int | None = None
    open: bool = True  # unknown names are left to the graph (a spec's top level)

    def with_env(self, extra: dict[str, Any]) -> Scope:
        """The same scope (same names) with more arguments: a repetition's index."""
        return Scope({**self.env, **extra}, self.doc, self.blocks, self.names, self.prefix,
                     self.keep_names, self.frame, self.open)  # fmt: skip


def parse_target(scope: Scope, text: str, path: YamlPath) -> Pending:
    name, sep, index = text.rpartition(":")
    if sep and index.isdigit() and name:
        return Pending(scope, name, int(index), path)
    return Pending(scope, text, None, path)


def with_index(target: Target, index: int | None) -> Target | None:
    """`target` taken at output `index`; None when both pick an output."""
    if index is None:
        return target
    if isinstance(target, Slot) and target.index is None:
        return Slot(target.layer, index)
    return None
