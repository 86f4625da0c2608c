"""Rendering a Layout: each body (the spec's `layers:`, each block's) as entries, references as
the names visible there, blocks deduplicated, consecutive uses of one block as `repeat:`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .layout import Written

if TYPE_CHECKING:
    from .layout import Layout

Item = tuple[str, int]  # ("call", flat index) or ("use", instance index)


class _Renderer:
    def __init__(self, lay: Layout):
        self.lay = lay
        self.calls = lay.calls
        self.blocks: dict[str, dict[str, Any]] = {}
        self.needed: set[int] = set()  # calls that need a written name (or handle)
        self.handles: set[int] = set()  # instances something refers to
        self._find_needed()

    # --- what is referred to -----------------------------------------------------------
    def items(self, body: int | None) -> list[Item]:
        lay = self.lay
        found: list[tuple[int, Item]] = [
            (i, ("call", i)) for i in range(len(self.calls)) if lay.body[i] == body
        ]
        found += [(inst.start, ("use", k)) for k, inst in enumerate(lay.instances)
                  if inst.parent == body]  # fmt: skip
        return [item for _, item in sorted(found, key=lambda p: (p[0], p[1][0] == "call"))]

    def refs(self, item: Item) -> list[str]:
        kind, k = item
        return self.calls[k].refs if kind == "call" else self.lay.instances[k].inputs

    def output(self, item: Item) -> str:
        kind, k = item
        return self.calls[k].entry["name"] if kind == "call" else self.lay.instances[k].output

    def body_input(self, body: int | None) -> str | None:
        if body is not None:
            return self.lay.instances[body].inputs[0]
        names = list(self.lay.im.inputs)
        return names[0] if len(names) == 1 else None

    def implicit(self, body: int | None) -> list[bool]:
        """Whether each item of a body takes the previous one (its `inputs:` left out)."""
        prev, out = self.body_input(body), []
        for item in self.items(body):
            out.append(self.refs(item) == [prev] and prev is not None)
            prev = self.output(item)
        return out

    def _find_needed(self) -> None:
        bodies: list[int | None] = [None, *range(len(self.lay.instances))]
        for body in bodies:
            for item, implicit in zip(self.items(body), self.implicit(body), strict=True):
                if not implicit:
                    for r in self.refs(item):
                        self._mark(r, body)
        top = self.items(None)
        if not top or self.lay.im.outputs != [self.output(top[-1])]:  # else: the last entry
            for r in self.lay.im.outputs:
                self._mark(r, None)
        for i, c in enumerate(self.calls):
            if c.entry["type"] == "Shared":
                self.needed.add(self.lay.index[c.entry["layer"]])
            elif not c.automatic():
                self.needed.add(i)

    def _mark(self, ref: str, body: int | None) -> None:
        j = self.lay.index.get(ref.split(":")[0])
        if j is None or not self._inside(j, body):
            return
        child = self._child(j, body)
        if child is None:
            self.needed.add(j)
        else:
            self.handles.add(child)

    def _inside(self, j: int, body: int | None) -> bool:
        if body is None:
            return True
        inst = self.lay.instances[body]
        return inst.start <= j < inst.end

    def _child(self, j: int, body: int | None) -> int | None:
        """The instance directly in `body` that holds call j (None: j is in body itself)."""
        found = self.lay.body[j]
        while found is not None and self.lay.instances[found].parent != body:
            found = self.lay.instances[found].parent
        return found

    # --- names ---------------------------------------------------------------------------
    def local(self, j: int) -> str | None:
        """The name written for call j in its body (None: left unnamed)."""
        body = self.lay.body[j]
        inst = self.lay.instances[body] if body is not None else None
        if inst is not None and j in inst.suffixes:
            return inst.suffixes[j]
        if j not in self.needed:
            return None
        if inst is not None and inst.first is not None:  # a run: the first run's name
            first = inst if inst.first is None else self.lay.instances[inst.first]
            return self.calls[first.start + j - inst.start].entry["name"]
        return self.calls[j].entry["name"]

    def final(self, j: int) -> str:
        """The name call j has in the expanded spec (named uses prefix their layers)."""
        parts = [self.local(j) or self.calls[j].entry["name"]]
        body = self.lay.body[j]
        while body is not None:
            inst = self.lay.instances[body]
            parts.insert(0, inst.name or "")
            body = inst.parent
        return "_".join(parts)

    def use_handle(self, k: int) -> str | None:
        inst = self.lay.instances[k]
        if inst.name is not None:
            return inst.name
        return inst.output if k in self.handles else None

    def text(self, ref: str, body: int | None) -> str:
        """A flat reference as written in `body`."""
        base, sep, out = ref.partition(":")
        j = self.lay.index.get(base)
        if j is None or not self._inside(j, body):
            if body is None:
                return ref
            inst = self.lay.instances[body]
            return inst.input_names[inst.inputs.index(ref)]
        child = self._child(j, body)
        if child is not None:
            return self.use_handle(child) or ref
        return f"{self.local(j)}{sep}{out}"

    # --- entries -------------------------------------------------------------------------
    def body_entries(self, body: int | None) -> list[dict[str, Any]]:
        entries = []
        for item, implicit in zip(self.items(body), self.implicit(body), strict=True):
            entry = self.call_entry(item[1], body) if item[0] == "call" else self.use(item[1])
            if not implicit:
                texts = [self.text(r, body) for r in self.refs(item)]
                entry = _with_inputs(entry, texts[0] if len(texts) == 1 else texts)
            entries.append(entry)
        return entries

    def call_entry(self, j: int, body: int | None) -> dict[str, Any]:
        entry = dict(self.calls[j].entry)
        name = self.local(j)
        del entry["name"]
        if entry["type"] == "Shared":
            entry["layer"] = self.final(self.lay.index[entry["layer"]])
        inst = self.lay.instances[body] if body is not None else None
        key = "as" if inst is not None and not inst.named else "name"
        head = {"type": entry.pop("type")}
        return {**head, key: name, **entry} if name is not None else {**head, **entry}

    def use(self, k: int) -> dict[str, Any]:
        inst = self.lay.instances[k]
        block = self.define(k)
        handle = self.use_handle(k)
        out: dict[str, Any] = {"block": block}
        if handle is not None:
            out["name" if inst.name is not None else "as"] = handle
        return out

    def define(self, k: int) -> str:
        """The block of instance k (one block for identical bodies); its name."""
        inst = self.lay.instances[k]
        layers = self.body_entries(k)
        block: dict[str, Any] = {}
        if inst.input_names != ["x"]:
            block["inputs"] = inst.input_names
        block["layers"] = layers
        last = self.items(k)[-1]
        if self.output(last) != inst.output:
            block["outputs"] = self.text(inst.output, k)
        for name, existing in self.blocks.items():
            if existing == block:
                return name
        name, n = _clean(inst.base), 1
        while name in self.blocks:
            n += 1
            name = f"{_clean(inst.base)}_{n}"
        self.blocks[name] = block
        return name


def _with_inputs(entry: dict[str, Any], inputs: Any) -> dict[str, Any]:
    keys = list(entry)
    at = 2 if len(keys) > 1 and keys[1] in ("name", "as") else 1
    items = list(entry.items())
    return dict([*items[:at], ("inputs", inputs), *items[at:]])


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "block"


def _repeats(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive uses of one block, each taking the previous, as one entry with `repeat:`
    (named uses too when their names count up: `name: "conv3_block${i + 1}"`)."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        prev = out[-1] if out else None
        if (prev is not None and set(entry) <= {"block", "name"} and "block" in prev
                and prev.get("block") == entry["block"] and "inputs" not in entry
                and set(prev) <= {"block", "name", "repeat", "_names"}):  # fmt: skip
            names = prev.get("_names", [prev.get("name")]) + [entry.get("name")]
            template = _template(names)
            if template is not None or all(n is None for n in names):
                prev["_names"] = names
                prev["repeat"] = len(names)
                if template is not None:
                    prev["name"] = template
                continue
        out.append(entry)
    for entry in out:
        entry.pop("_names", None)
    return out


def _template(names: list[str | None]) -> str | None:
    """`"conv3_block${i + 1}"` for conv3_block2, conv3_block3, ... (i counts from 1)."""
    if any(n is None for n in names):
        return None
    parts = [re.fullmatch(r"(.*?)(\d+)", n or "") for n in names]
    if not all(parts):
        return None
    stems = {p.group(1) for p in parts if p}
    numbers = [int(p.group(2)) for p in parts if p]
    if len(stems) != 1 or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
        return None
    shift = numbers[0] - 1
    index = "${i}" if shift == 0 else f"${{i + {shift}}}" if shift > 0 else f"${{i - {-shift}}}"
    return f"{stems.pop()}{index}"


def render(lay: Layout) -> Written:
    r = _Renderer(lay)
    layers = _repeats(r.body_entries(None))
    outputs = [r.text(o, None) for o in lay.im.outputs]
    items = r.items(None)
    last = r.output(items[-1]) if items else None
    default = last is not None and lay.im.outputs == [last]
    return Written(r.blocks, layers, None if default else outputs)
