"""Expanding blocks, conditions and repetitions into a flat list of layer entries.

Every expanded entry remembers where it was written (`Origin`) and in which block instances
(`Frame`), so each problem is located at the line inside the block definition and at the use
site that made it. Nothing is evaluated with Python: `${...}` goes through
`netspec.expr.scalar`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..expr.scalar import is_template, render
from ..expr.tree import ExprError
from ..registry import did_you_mean
from ..yamlio import Document, YamlPath
from .defs import REQUIRED, Arg, BlockDef, Located
from .refs import Pending, Scope, Slot, Target, parse_target

MAX_REPEAT = 1000
MAX_LAYERS = 20_000
MAX_NESTING = 32
USE_KEYS = ("block", "name", "inputs", "if", "repeat", "as")


@dataclass
class Origin:
    """Where an expanded entry was written, and in which instance (`frame`)."""

    doc: Document
    path: YamlPath
    frame: int | None
    note: str = ""  # the repetition, as `i=2`


@dataclass
class Frame:
    """One use of a block (or a nested model): `kind` is 'block' or 'model'."""

    kind: str
    block: str
    name: str | None
    doc: Document
    path: YamlPath  # of the use entry, in `doc`
    parent: int | None
    start: int = 0  # the instance's expanded layers: [start, end)
    end: int = 0
    output: Target | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # a nested model's settings


@dataclass
class Wanted:
    """The inputs an expanded entry takes: explicit (written `inputs`), else `prev`."""

    explicit: list[Target] | None
    as_list: bool
    prev: Target | None


class Expander:
    def __init__(self) -> None:
        self.layers: list[Any] = []
        self.origins: list[Origin] = []
        self.wanted: list[Wanted] = []
        self.frames: list[Frame] = []
        self.problems: list[Located] = []
        self.active: list[str] = []  # blocks being expanded (recursion)
        self.files: list[str] = []  # nested model specs being expanded (recursion)

    def fail(self, scope: Scope, path: YamlPath, message: str, at_key: bool = False) -> None:
        self.problems.append(Located(scope.doc, path, message, scope.frame, at_key))

    # Values -------------------------------------------------------------------------------
    def subst(self, scope: Scope, value: Any, path: YamlPath) -> Any:
        """`value` with every `${...}` replaced (recursively in lists and mappings)."""
        if isinstance(value, dict):
            return {k: self.subst(scope, v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.subst(scope, v, (*path, i)) for i, v in enumerate(value)]
        if not is_template(value):
            return value
        try:
            return render(value, scope.env)
        except ExprError as exc:
            self.fail(scope, path, f"{value!r}: {exc}")
            return value

    def arguments(
        self, caller: Scope, given: dict, args: list[Arg], block: BlockDef, path: YamlPath
    ) -> dict[str, Any]:
        """The arguments of a use: given ones in the caller's scope, defaults in the block's."""
        env: dict[str, Any] = {}
        inner = Scope(env, block.doc, {}, open=False, frame=caller.frame)
        for arg in args:
            if arg.name in given:
                env[arg.name] = self.subst(caller, given[arg.name], (*path, arg.name))
            elif arg.default == REQUIRED:
                self.fail(caller, path, f"block '{block.name}' needs argument '{arg.name}'")
                env[arg.name] = None
            else:
                env[arg.name] = self.subst(inner, arg.default, arg.path)
        names = [a.name for a in args]
        for key in given:
            if key not in names:
                hint = did_you_mean(str(key), names + list(USE_KEYS))
                message = f"block '{block.name}' has no argument '{key}'{hint}"
                self.fail(caller, (*path, key), message, at_key=True)
        return env

    # Entries ------------------------------------------------------------------------------
    def entries(self, scope: Scope, items: list, base: YamlPath, prev: Target | None) -> Any:
        for j, raw in enumerate(items):
            prev = self.entry(scope, raw, (*base, j), prev)
        return prev

    def entry(self, scope: Scope, raw: Any, path: YamlPath, prev: Target | None) -> Any:
        if len(self.layers) > MAX_LAYERS:
            self.fail(scope, path, f"the expanded model has over {MAX_LAYERS} layers")
            return prev
        if not isinstance(raw, dict):
            return self.emit(scope, raw, raw, path, None, prev)
        if "if" in raw:
            keep = self.subst(scope, raw["if"], (*path, "if"))
            if not isinstance(keep, bool):
                self.fail(scope, (*path, "if"), f"if needs true or false, got {keep!r}")
                return prev
            if not keep:
                return self.skip(scope, raw, path, prev)
        if "repeat" in raw:
            return self.repeat(scope, raw, path, prev)
        return self.one(scope, raw, path, prev, "")

    def skip(self, scope: Scope, raw: dict, path: YamlPath, prev: Target | None) -> Any:
        """A left-out entry: its name means its (first) input, as if it were an identity."""
        written = raw.get("as", raw.get("name"))
        try:  # quietly: a left-out repetition's name may use its index, which has no value
            local = render(written, scope.env) if isinstance(written, str) else written
        except ExprError:
            local = None
        if isinstance(local, str):
            inputs = self.inputs(scope, raw, path)
            scope.names[local] = inputs[0] if inputs else prev  # type: ignore[assignment]
        return prev

    def repeat(self, scope: Scope, raw: dict, path: YamlPath, prev: Target | None) -> Any:
        spec = self.subst(scope, raw["repeat"], (*path, "repeat"))
        count, index = (spec.get("count"), spec.get("index", "i")) if isinstance(
            spec, dict) else (spec, "i")  # fmt: skip
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_REPEAT:
            message = f"repeat is a count from 0 to {MAX_REPEAT} (or {{count: n, index: i}})"
            self.fail(scope, (*path, "repeat"), message)
            return prev
        if count == 0:
            return self.skip(scope, raw, path, prev)
        for i in range(1, count + 1):
            prev = self.one(scope.with_env({str(index): i}), raw, path, prev, f"{index}={i}")
        return prev

    def one(self, scope: Scope, raw: dict, path: YamlPath, prev: Any, note: str) -> Any:
        if "block" in raw:
            return self.block_use(scope, raw, path, prev, note)
        if "model" in raw:
            from .nested import model_use

            return model_use(self, scope, raw, path, prev, note)
        data = {k: self.subst(scope, v, (*path, k)) for k, v in raw.items()
                if k not in ("if", "repeat", "name", "inputs", "as")}  # fmt: skip
        return self.emit(scope, raw, data, path, self.inputs(scope, raw, path), prev, note)

    def inputs(self, scope: Scope, raw: dict, path: YamlPath) -> list[Target] | None:
        given = self.subst(scope, raw.get("inputs"), (*path, "inputs"))
        if given is None:
            return None
        many = isinstance(given, list)
        texts = given if many else [given]
        if not all(isinstance(t, str) for t in texts):
            return None  # not names: left to validation, which says what inputs takes
        return [parse_target(scope, t, (*path, "inputs", *((j,) if many else ())))
                for j, t in enumerate(texts)]  # fmt: skip

    def names(self, scope: Scope, raw: dict, path: YamlPath) -> tuple[Any, str | None]:
        """(the name as written, rendered: the local name; the expanded name)."""
        written = raw.get("name")
        local = self.subst(scope, written, (*path, "name"))
        if "as" in raw:  # a handle for references only: the layer keeps its own name
            handle = self.subst(scope, raw["as"], (*path, "as"))
            if not isinstance(handle, str):
                self.fail(scope, (*path, "as"), f"as is a name to refer to, got {handle!r}")
                return None, None
            full = self.names(scope, {"name": written}, path)[1] if written else None
            return handle, full
        if not isinstance(local, str):
            return local, None
        verbatim = uses_name(written)  # `${name}_conv`: the instance's name, as written
        if scope.prefix is not None and not verbatim:
            return local, f"{scope.prefix}_{local}"
        if scope.keep_names or verbatim or is_template(written):
            return local, local  # in an unnamed instance a made name (`conv_dw_${i}`) stays
        return local, None  # inside an unnamed instance: Keras's automatic name

    def emit(self, scope: Scope, raw: Any, data: Any, path: YamlPath,
             inputs: list[Target] | None, prev: Any, note: str = "") -> Slot:  # fmt: skip
        k = len(self.layers)
        if isinstance(raw, dict):
            local, full = self.names(scope, raw, path)
            data = {**data, "name": full} if full is not None else data
            if isinstance(local, str):
                scope.names[local] = Slot(k)
            elif local is not None:
                data = {**data, "name": local}  # not a name: validation says so
            as_list = isinstance(raw.get("inputs"), list)
            raw_inputs = raw.get("inputs")
            if raw_inputs is not None and inputs is None:
                data = {**data, "inputs": raw_inputs}
        else:
            as_list = False
        self.layers.append(data)
        self.origins.append(Origin(scope.doc, path, scope.frame, note))
        self.wanted.append(Wanted(inputs, as_list, prev))
        return Slot(k)

    def block_use(self, scope: Scope, raw: dict, path: YamlPath, prev: Any, note: str) -> Any:
        name = raw.get("block")
        block = scope.blocks.get(name) if isinstance(name, str) else None
        if block is None or not isinstance(name, str):
            hint = did_you_mean(str(name), sorted(scope.blocks))
            self.fail(scope, (*path, "block"), f"unknown block {name!r}{hint}")
            return prev
        if name in self.active or len(self.active) >= MAX_NESTING:
            chain = " -> ".join([*self.active, name])
            self.fail(scope, (*path, "block"), f"block '{name}' uses itself ({chain})")
            return prev
        given = {k: v for k, v in raw.items() if k not in USE_KEYS}
        env = self.arguments(scope, given, block.args, block, path)
        local, full = self.names(scope, raw, path)
        inputs = self.inputs(scope, raw, path) or ([prev] if prev is not None else [])
        if len(inputs) != len(block.inputs):
            message = (f"block '{name}' takes {len(block.inputs)} input(s) "
                       f"({', '.join(block.inputs)}), got {len(inputs)}")  # fmt: skip
            self.fail(scope, (*path, "inputs"), message)
            return prev
        frame = Frame("block", name, full, scope.doc, path, scope.frame, len(self.layers))
        self.frames.append(frame)
        inner = Scope({**env, "name": full}, block.doc, scope.blocks,
                      dict(zip(block.inputs, inputs, strict=True)), full, False,
                      len(self.frames) - 1, open=False)  # fmt: skip
        self.active.append(name)
        try:
            last = self.entries(inner, block.layers, (*block.path, "layers"), inputs[0])
        finally:
            self.active.pop()
        out = Pending(inner, block.outputs, None, (*block.path, "outputs")) if (
            block.outputs) else last  # fmt: skip
        frame.end, frame.output = len(self.layers), out
        if isinstance(local, str):
            scope.names[local] = out
        return out


_USES_NAME = re.compile(r"\$\{[^}]*\bname\b")


def uses_name(written: Any) -> bool:
    """Whether a written name uses the instance's `name` (then it is not prefixed)."""
    return isinstance(written, str) and _USES_NAME.search(written) is not None
