"""The imported graph as a spec a person would have written: nested models and repeated
identical runs of layers as blocks, `inputs:` only where an entry does not take the previous
one, a Keras automatic name (`dense_3`) only where something refers to it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .convert import Imported
from .repeats import Segment, find_segments


@dataclass
class Instance:
    """A block use: the flat calls `start:end`, taking `inputs`, returning `output`."""

    start: int
    end: int
    inputs: list[str]
    input_names: list[str]
    output: str
    name: str | None = None  # a named use (its layers' names get the `name_` prefix)
    named: bool = True  # body names written as `name:` (else `as:` handles)
    parent: int | None = None
    block: str = ""
    base: str = "block"  # the block's name, before making it unique
    suffixes: dict[int, str] = field(default_factory=dict)  # call -> local name (named mode)
    first: int | None = None  # the first run of its segment (a run of identical layers)


@dataclass
class Written:
    """The spec's `blocks:`, `layers:` and `outputs` (None: the last entry)."""

    blocks: dict[str, dict[str, Any]]
    layers: list[dict[str, Any]]
    outputs: list[str] | None


class Layout:
    """Decides blocks, names and references, then renders the entries."""

    def __init__(self, imported: Imported):
        self.im = imported
        self.calls = imported.calls
        self.index = {c.entry["name"]: i for i, c in enumerate(self.calls)}
        self.instances: list[Instance] = []
        self._nested_instances()
        self._segments()
        self.body = [self._innermost(i) for i in range(len(self.calls))]
        self.local: dict[int, str] = {}  # call -> the name written for it in its body
        self.blocks: dict[str, dict[str, Any]] = {}

    def _nested_instances(self) -> None:
        """A nested model called once, with one output, becomes a named block use."""
        by_group: dict[int, int] = {}
        for gi, g in enumerate(self.im.groups):
            parent = by_group.get(g.parent) if g.parent is not None else None
            if g.shared or len(g.outputs) != 1 or g.end <= g.start:
                continue
            if g.parent is not None and parent is None:
                continue  # inside a model written flat: flat too
            if any(c.entry.get("type") == "Shared" for c in self.calls[g.start : g.end]):
                continue
            by_group[gi] = len(self.instances)
            self.instances.append(Instance(g.start, g.end, g.inputs, g.input_names,
                                           g.outputs[0], name=g.name, parent=parent,
                                           base=g.name))  # fmt: skip

    def _segments(self) -> None:
        """Repeated identical runs of top-level calls as uses of one block."""
        top = [i for i in range(len(self.calls)) if self._innermost(i) is None]
        for seg in find_segments(self.im, top, self._outside_refs()):
            self._add_segment(seg)

    def _add_segment(self, seg: Segment) -> None:
        base, first = seg.base, len(self.instances)
        for start, prefix in zip(seg.starts, seg.prefixes, strict=True):
            end = start + seg.length
            output = self.calls[end - 1].entry["name"]
            inst = Instance(start, end, [seg.inputs[start]], ["x"], output, name=prefix,
                            named=prefix is not None, base=base, first=first)  # fmt: skip
            if prefix is not None:
                inst.suffixes = {i: _suffix(self.calls[i].entry["name"], prefix)
                                 for i in range(start, end)
                                 if not self.calls[i].automatic()}  # fmt: skip
            self.instances.append(inst)

    def _outside_refs(self) -> dict[str, set[int]]:
        """{flat call name: the calls (or -1: the model's outputs) that refer to it}."""
        users: dict[str, set[int]] = {}
        for i, c in enumerate(self.calls):
            for r in c.refs:
                users.setdefault(r.split(":")[0], set()).add(i)
            if c.entry.get("type") == "Shared":
                users.setdefault(c.entry["layer"], set()).add(-2)
        for o in self.im.outputs:
            users.setdefault(o.split(":")[0], set()).add(-1)
        return users

    def _innermost(self, call: int) -> int | None:
        found = None
        for k, inst in enumerate(self.instances):
            if inst.start <= call < inst.end and (
                found is None or self.instances[found].end - self.instances[found].start
                > inst.end - inst.start):  # fmt: skip
                found = k
        return found

    def render(self) -> Written:
        from .render import render

        return render(self)


def entry_key(entry: dict[str, Any]) -> str:
    """An entry's arguments, without its name, as comparable text."""
    return json.dumps({k: v for k, v in entry.items() if k != "name"}, sort_keys=True)


def _suffix(name: str, prefix: str) -> str:
    """A layer's name in a block used as `prefix`: `1_conv` of `conv2_block2_1_conv`, and
    `${name}` for the layer named as the use itself."""
    return "${name}" if name == prefix else name[len(prefix) + 1 :]
