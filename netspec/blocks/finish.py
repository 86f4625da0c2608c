"""The last steps of an expansion: names for every entry (Keras's automatic names where none
is given), explicit `inputs` where the flat list would connect otherwise, and the marks of the
new document (each entry located where it was written)."""

from __future__ import annotations

from typing import Any

from ..graph import automatic_name
from ..registry import did_you_mean
from ..yamlio import Document, YamlPath
from .defs import Located
from .expand import Expander, Origin
from .refs import ModelInput, Pending, Slot, Target


def auto_names(layers: list[Any], taken: set[str]) -> list[str | None]:
    """Explicit names, then Keras-style automatic ones (`conv2d`, `conv2d_1`) that skip names
    already taken: the rule of `netspec.graph`, applied to the expanded list."""
    names: list[str | None] = []
    for data in layers:
        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(name, str):
            taken.add(name)
    counters: dict[str, int] = {}
    for data in layers:
        if not isinstance(data, dict):
            names.append(None)
            continue
        name = data.get("name")
        if name is None:
            kind = data.get("type")
            kind = kind if isinstance(kind, str) and kind.isidentifier() else "layer"
            name = data["name"] = automatic_name(kind, counters, taken)
        names.append(name if isinstance(name, str) else None)
    return names


class Resolver:
    """Targets to the text of a reference (`name`, `name:k`)."""

    def __init__(self, ex: Expander, names: list[str | None]):
        self.ex, self.names = ex, names

    def text(self, target: Target | None, depth: int = 0) -> str | None:
        if target is None or depth > 100:
            return None
        if isinstance(target, ModelInput):
            return target.name
        if isinstance(target, Slot):
            name = self.names[target.layer]
            if name is None:
                return None
            return name if target.index is None else f"{name}:{target.index}"
        return self.pending(target, depth)

    def pending(self, p: Pending, depth: int) -> str | None:
        found = p.scope.names.get(p.name)
        if found is None:
            if p.scope.open:  # the graph reports it, with the spec's names as hints
                return p.name if p.index is None else f"{p.name}:{p.index}"
            known = sorted(p.scope.names)
            message = f"unknown name '{p.name}'" + did_you_mean(p.name, known)
            self.ex.problems.append(Located(p.scope.doc, p.path, message, p.scope.frame))
            return None
        text = self.text(found, depth + 1)
        if text is None or p.index is None:
            return text
        if ":" in text:
            message = f"'{p.name}' is already one output ({text}): drop ':{p.index}'"
            self.ex.problems.append(Located(p.scope.doc, p.path, message, p.scope.frame))
            return None
        return f"{text}:{p.index}"


def connect(ex: Expander, resolver: Resolver, first: str | None) -> None:
    """Write `inputs` where an entry does not take the entry before it in the flat list."""
    for k, (data, wanted) in enumerate(zip(ex.layers, ex.wanted, strict=True)):
        if not isinstance(data, dict):
            continue
        if wanted.explicit is not None:
            texts = [resolver.text(t) for t in wanted.explicit]
            if any(t is None for t in texts):
                continue
            data["inputs"] = texts if wanted.as_list else texts[0]
            continue
        target = resolver.text(wanted.prev)
        flat = resolver.names[k - 1] if k > 0 else first
        if target is not None and target != flat:
            data["inputs"] = target


def _by_entry(doc: Document) -> dict[YamlPath, list[tuple[YamlPath, tuple, bool]]]:
    """The marks of `doc` grouped under each entry path that may be expanded."""
    groups: dict[YamlPath, list[tuple[YamlPath, tuple, bool]]] = {}
    for marks, key in ((doc.marks, False), (doc.key_marks, True)):
        for path, mark in marks.items():
            for n in (2, 4):  # layers[j]; blocks.b.layers[j]
                if len(path) >= n:
                    groups.setdefault(path[:n], []).append((path[n:], mark, key))
    return groups


def marks_for(doc: Document, origins: list[Origin]) -> tuple[dict, dict]:
    """Marks of the expanded document: each entry's marks copied from where it was written."""
    marks = {p: m for p, m in doc.marks.items() if not p or p[0] != "layers"}
    keys = {p: m for p, m in doc.key_marks.items() if not p or p[0] != "layers"}
    grouped: dict[int, dict] = {}
    for k, origin in enumerate(origins):
        if id(origin.doc) not in grouped:  # once per document (setdefault's default is not lazy)
            grouped[id(origin.doc)] = _by_entry(origin.doc)
        groups = grouped[id(origin.doc)]
        base: YamlPath = ("layers", k)
        for rest, mark, at_key in groups.get(origin.path, ()):
            (keys if at_key else marks)[base + rest] = mark
        if origin.path in origin.doc.marks:
            marks[base] = origin.doc.marks[origin.path]
    return marks, keys
