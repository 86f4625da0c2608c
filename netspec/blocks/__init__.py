"""Reusable blocks, conditions, repetitions and nested models: a spec's `blocks:`, `args:`,
`block:`/`model:` entries and `if:`/`repeat:` keys, expanded into the flat layer list that
validation, the graph and the builders take (one validation pass: the expansion is its first
step, and every later problem is located back at the line where the entry was written and at
the use site that instantiated it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, cast

from ..errors import Diagnostic, Path, Problem, format_path
from ..yamlio import Document
from .defs import Located, parse_args, parse_blocks
from .expand import Expander, Frame, Origin
from .finish import Resolver, auto_names, connect, marks_for
from .refs import ModelInput, Scope, parse_target

SPEC_KEYS_KEPT = ("blocks", "args", "layers")


@dataclass(frozen=True)
class Expansion:
    """Where each expanded entry came from; the instances (`frames`) for summaries and for
    loading a nested model's weights."""

    origins: tuple[Origin, ...]
    frames: tuple[Frame, ...]
    args: dict[str, Any]
    names: tuple[str | None, ...] = ()  # each expanded entry's name

    def layers_of(self, frame: int) -> list[str]:
        """The names of the layers an instance expanded into (nested ones included)."""
        f = self.frames[frame]
        return [n for n in self.names[f.start : f.end] if n is not None]

    def where(self, frame: int | None) -> str:
        """' (in block 'b' used at FILE:L:C as 'name', ...)' for an instance chain."""
        parts = []
        while frame is not None:
            f = self.frames[frame]
            line, col = f.doc.locate(cast(Path, f.path))
            kind = "block" if f.kind == "block" else "model"
            named = f" as '{f.name}'" if f.name else ""
            parts.append(f"in {kind} '{f.block}' used at {f.doc.file}:{line}:{col}{named}")
            frame = f.parent
        return f" ({', '.join(parts)})" if parts else ""

    def diagnostic(self, doc: Document, problem: Problem) -> Diagnostic:
        """A problem of the expanded spec, located where its entry was written."""
        path = problem.path
        k = path[1] if len(path) > 1 and path[0] == "layers" else None
        if not isinstance(k, int) or not 0 <= k < len(self.origins):
            line, col = doc.locate(path, problem.at_key)
            return Diagnostic(doc.file, line, col, format_path(path), problem.message)
        origin = self.origins[k]
        line, col = doc.locate(path, problem.at_key)
        written = cast(Path, (*origin.path, *path[2:]))
        note = f" [{origin.note}]" if origin.note else ""
        message = problem.message + note + self.where(origin.frame)
        return Diagnostic(origin.doc.file, line, col, format_path(written), message)


def located(expansion: Expansion | None, found: list[Located]) -> list[Diagnostic]:
    out, seen = [], set()
    for p in found:
        if (p.doc.file, p.path, p.message) in seen:  # once per place written
            continue
        seen.add((p.doc.file, p.path, p.message))
        line, col = p.doc.locate(cast(Path, p.path), p.at_key)
        where = expansion.where(p.frame) if expansion is not None else ""
        out.append(
            Diagnostic(p.doc.file, line, col, format_path(cast(Path, p.path)), p.message + where)
        )
    return out


def needs_expansion(data: dict) -> bool:
    """Whether a spec uses blocks, arguments, conditions, repetitions or nested models (a
    spec that does not is validated as written: its messages and names stay as they were)."""
    if "blocks" in data or "args" in data:
        return True
    layers = data.get("layers")
    if not isinstance(layers, list):
        return False
    keys = ("block", "model", "if", "repeat")
    return any(isinstance(e, dict) and any(k in e for k in keys) for e in layers) or _has_template(
        data
    )


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _model_inputs(data: dict) -> list[str]:
    inputs = data.get("inputs")
    if isinstance(inputs, dict):
        return [k for k in inputs if isinstance(k, str)]
    return ["input"]


def spec_top(ex: Expander, data: dict, scope: Scope, sections: bool = True) -> dict[str, Any]:
    """A spec's keys other than its layers, blocks and args, with `${...}` substituted in
    `scope` (`sections`: its compile and train too; a nested model's are not used)."""
    skip = SPEC_KEYS_KEPT if sections else (*SPEC_KEYS_KEPT, "compile", "train")
    return {k: ex.subst(scope, v, (k,)) for k, v in data.items() if k not in skip}


def expand_spec(ex: Expander, data: dict, scope: Scope) -> tuple[dict[str, Any], Any]:
    """Expand `data`'s layers in `scope` (its arguments set): (the other keys substituted,
    the last value)."""
    top = spec_top(ex, data, scope)
    names = _model_inputs(top)
    for name in names:
        scope.names[name] = ModelInput(name)
    first = ModelInput(names[0]) if len(names) == 1 else None
    layers = data.get("layers")
    last = ex.entries(scope, layers, ("layers",), first) if isinstance(layers, list) else None
    return top, last


def spec_scope(ex: Expander, doc: Document, data: dict, given: dict, frame: int | None) -> Scope:
    """The top-level scope of a spec: its `args:` defaults, overridden by `given`."""
    problems = len(ex.problems)
    blocks = parse_blocks(doc, data.get("blocks"), ex.problems)
    args = parse_args(doc, data.get("args"), ("args",), ex.problems)
    for p in ex.problems[problems:]:
        p.frame = frame
    scope = Scope({}, doc, blocks, frame=frame)
    for arg in args:  # a default may use the arguments before it
        scope.env[arg.name] = given[arg.name] if arg.name in given else ex.subst(
            scope, arg.default, arg.path)  # fmt: skip
    return scope


def expand_document(doc: Document) -> tuple[Document, Expansion | None, list[Diagnostic]]:
    """The spec with blocks expanded, its expansion, and the problems found expanding it."""
    data = doc.data
    if not isinstance(data, dict) or not needs_expansion(data):
        return doc, None, []
    ex = Expander()
    if not doc.file.startswith("<"):
        ex.files.append(str(FsPath(doc.file).resolve()))
    scope = spec_scope(ex, doc, data, {}, None)
    top, _ = expand_spec(ex, data, scope)
    _lift_input(ex, data, top)
    return finish(ex, doc, data, top, scope)


def _lift_input(ex: Expander, data: dict, top: dict) -> None:
    """A spec whose first entry is a nested model, and which gives no input itself, takes
    that model's input (Keras: `base = MobileNetV2(input_shape=...)` starts the model)."""
    if "input_shape" in data or "inputs" in data or not ex.frames:
        return
    frame = ex.frames[0]
    first = ex.layers[0] if ex.layers else None
    if frame.kind != "model" or frame.parent is not None or frame.start != 0:
        return
    if isinstance(first, dict) and "input_shape" in first:
        return
    if frame.extra.get("input_shape") is not None:
        top["input_shape"] = frame.extra["input_shape"]
        top.setdefault("input_dtype", frame.extra.get("input_dtype", "float32"))


def finish(ex: Expander, doc: Document, data: dict, top: dict, scope: Scope):
    inputs = _model_inputs(top)
    taken = set(inputs)
    names = auto_names(ex.layers, taken)
    resolver = Resolver(ex, names)
    connect(ex, resolver, inputs[0] if len(inputs) == 1 else None)
    outputs = top.get("outputs")
    if outputs is not None:
        top["outputs"] = _resolve_outputs(resolver, scope, outputs)
    expansion = Expansion(tuple(ex.origins), tuple(ex.frames), dict(scope.env), tuple(names))
    marks, keys = marks_for(doc, ex.origins)
    new = {**top, "layers": ex.layers}
    for key in ("blocks", "args"):
        if key in data:
            new[key] = data[key]
    expanded = Document(new, doc.file, marks, keys)
    return expanded, expansion, located(expansion, ex.problems)


def _resolve_outputs(resolver: Resolver, scope: Scope, outputs: Any) -> Any:
    many = isinstance(outputs, list)
    texts = outputs if many else [outputs]
    if not all(isinstance(t, str) for t in texts):
        return outputs
    path = ("outputs",)
    out = [resolver.text(parse_target(scope, t, path)) or t for t in texts]
    return out if many else out[0]


__all__ = ["Expansion", "Frame", "Origin", "expand_document"]
