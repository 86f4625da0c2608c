"""A structure-aware fuzzer of the command line (issue 10: "Nothing lost, no traceback").

Two sources of cases, both hypothesis strategies (deterministic under a seed):

- `structured_cases()`: whole specs composed from valid layer configurations
  (tests/spec_strategies.py's `valid` over each layer model, and each layer's `examples`), as a
  sequential model (`input_shape` + `layers`) or a graph (`inputs`, `inputs:` per layer,
  `outputs`, Shared entries); each candidate layer is checked against its static shape rule when
  drawn, so most chains resolve. Then, often, one or two one-field mutations
  (spec_strategies.mutations: a value on or past a bound, a wrong type, a misspelling, a missing
  or unknown key), dumped as block or flow YAML, or JSON.
- `text_cases()`: byte- and YAML-level mutations of the bundled specs/*.yaml: flipped,
  inserted and deleted bytes, truncation, duplicated lines, changed indentation and tabs,
  scalars replaced by odd values (huge ints, 1e308, -0, .nan, !!python/object, !!int abc,
  control characters, lone surrogates), deep nesting, anchors and aliases, non-UTF-8 bytes, BOM.

Each case runs in process (`check_case`): the text is written to a file, `cli.main(["validate",
path])` runs, and when it passes `cli.main(["build", path, "--json"])`; then the built model
(`netspec.build`) runs a forward pass on a batch of 2 and its output shapes must equal the static
shapes of `build --json` (None: any size). The rules: exit code 0 or 1, no exception but
SystemExit, no traceback, every stderr line a located error (`FILE:LINE:COL: ...` inside the
file's bounds) or a one-line file-level error (`FILE: ...`).

CI tier: tests/test_fuzz.py (2,000 cases). Long run, counts printed at the end, the first
failing inputs saved for reproduction:

    python -m tests.fuzz --cases 100000 --seed 1 --jobs 2 --save fuzz-failures

Reproduce a saved case: `netspec validate fuzz-failures/case-*.yaml` (and `netspec build`).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import os
import re
import sys
import tempfile
import traceback
import types
import warnings
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:  # spec_strategies is imported as a top-level module
    sys.path.insert(0, str(ROOT / "tests"))
if str(ROOT) not in sys.path:  # cli.py
    sys.path.insert(0, str(ROOT))

from spec_strategies import (  # noqa: E402
    Site,
    TDict,
    TList,
    TModel,
    TUnion,
    TVocab,
    fields,
    mutations,
    spec_type,
    valid,
)

from netspec import heap  # noqa: E402
from netspec.layers import LAYERS  # noqa: E402
from netspec.layers.base import Context  # noqa: E402
from netspec.spec import spec_model  # noqa: E402

spec_model()  # plugin layers registered
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
SPEC_BYTES = tuple(p.read_bytes() for p in SPECS)

BUILD_BUDGET = 64 * 2**20  # parameter bytes: `build --max-memory`
FORWARD_BUDGET = 200 * 2**20  # parameters + activations of a forward pass (batch 2)
# Reported, not fixed yet: an input declared float16, bfloat16 or float64 reaches a layer with
# float32 weights (Dense, the convolutions, MultiHeadAttention) uncast, and its forward pass
# fails on the dtype clash (Keras casts floating inputs to the layer's float32). Empty this set
# once fixed: such forward failures are then failures again.
KNOWN_FLOAT_INPUTS: set[str] = set()  # none left: floating inputs are cast to float32
_DTYPE_CLASH = re.compile(r"dtype|half|bfloat16|double|type \(", re.IGNORECASE)
VARIABLE_DIM = 8  # the size given to a None dimension in a forward pass
BATCH = 2

# ------------------------------------------------------------------ structure-aware strategies

INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8")
# Layer arguments set by the composer, not drawn.
PLACED = ("name", "inputs", "input_shape")


@cache
def _layer_trees() -> dict[str, TModel]:
    """Each layer class's type tree as the spec's `layers` union holds it."""
    (layers,) = [ft for key, ft, _ in fields(spec_type().cls) if key == "layers"]
    assert isinstance(layers, TList) and isinstance(layers.item, TUnion)
    return {b.cls.model_fields["type"].default: b for b in layers.item.branches}


def _layer_names() -> list[str]:
    return sorted(_layer_trees())


@st.composite
def _layer_args(draw, kind: str) -> dict:
    """Arguments of a `kind` layer: one of its examples (known good), or drawn from its model."""
    cls = LAYERS.get(kind)
    examples = [e["args"] for e in cls.examples]
    if examples and draw(st.integers(0, 2)) > 0:
        args = dict(draw(st.sampled_from(examples)))
    else:
        args, _ = draw(valid(_layer_trees()[kind]))
        args = {k: v for k, v in args.items() if k != "type"}
    for key in PLACED:
        args.pop(key, None)
    return {"type": kind, **args}


@dataclass
class _Value:
    ref: str
    shape: tuple | list | None
    dtype: str
    entry: Any = None  # the validated layer of the entry (Shared targets)
    in_shapes: list | None = None
    in_dtypes: list | None = None


def _shape_of(args: dict, inputs: list[_Value], data_format: str, made: dict[str, _Value]):
    """The output shape of a candidate entry by its static rule, or None when refused."""
    try:
        layer = LAYERS.get(args["type"]).model_validate(args)
        layers = {
            name: types.SimpleNamespace(
                layer=v.entry, input_shapes=v.in_shapes, input_dtypes=v.in_dtypes
            )
            for name, v in made.items()
        }
        ctx = Context(data_format, [v.dtype for v in inputs], layers=layers)
        shape = layer.output_shape([v.shape for v in inputs], ctx)
        layer.weights([v.shape for v in inputs], ctx)
    except Exception:  # any refusal; a crash here shows again when the spec runs
        return None, None
    return layer, shape


@st.composite
def _input_shape(draw) -> list:
    rank = draw(st.integers(1, 4))
    dims = st.one_of(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8), st.none())
    shape = draw(st.lists(dims, min_size=rank, max_size=rank))
    if draw(st.integers(0, 3)) == 0:  # mostly fixed sizes: more forward passes
        return shape
    return [d if d is not None else 4 for d in shape]


@st.composite
def structured_specs(draw) -> dict:
    """A spec composed of valid layer entries, each checked against its shape rule when drawn
    (a refused candidate is kept now and then: located shape errors are cases too)."""
    graph = draw(st.integers(0, 2)) == 0
    data_format = draw(st.sampled_from(["channels_last"] * 3 + ["channels_first"]))
    spec: dict = {"netspec": 1, "name": draw(st.sampled_from(["model", "fuzz", "m-1.x"]))}
    if data_format != "channels_last" or draw(st.booleans()):
        spec["data_format"] = data_format
    dtypes = st.sampled_from(["float32"] * 6 + ["int64", "float64", "int32", "bool", "float16"])
    values: list[_Value] = []
    if graph:
        n = draw(st.integers(1, 3))
        spec["inputs"] = {}
        for i in range(n):
            name = f"in{i}" if i else draw(st.sampled_from(["in0", "x", "input"]))
            if name in spec["inputs"]:
                name = f"in{i}"
            shape, dtype = draw(_input_shape()), draw(dtypes)
            spec["inputs"][name] = {"shape": shape, "dtype": dtype}
            values.append(_Value(name, tuple(shape), dtype))
    else:
        shape, dtype = draw(_input_shape()), draw(dtypes)
        spec["input_shape"] = shape
        if dtype != "float32":
            spec["input_dtype"] = dtype
        values.append(_Value("input", tuple(shape), dtype))
    kinds = _layer_names()
    entries: list[dict] = []
    made: dict[str, _Value] = {}
    for i in range(draw(st.integers(1, 6))):
        last = values[-1]
        accepted = None
        for _attempt in range(draw(st.integers(1, 5))):
            if last.dtype in INT_DTYPES and draw(st.booleans()):
                kind = "Embedding"
            elif graph and made and draw(st.integers(0, 5)) == 0:
                kind = "Shared"
            else:
                kind = draw(st.sampled_from(kinds))
            if kind == "Shared":
                if not made:
                    continue
                args = {"type": "Shared", "layer": draw(st.sampled_from(sorted(made)))}
            else:
                args = draw(_layer_args(kind))
            low, high = LAYERS.get(kind).arity
            if graph:
                k = draw(st.integers(low, min(high or 3, max(low, 3))))
                chosen = [last] + draw(
                    st.lists(st.sampled_from(values), min_size=k - 1, max_size=k - 1)
                )
            elif low > 1:
                continue
            else:
                chosen = [last]
            layer, shape = _shape_of(args, chosen, data_format, made)
            accepted = (args, chosen, layer, shape)
            if layer is not None:
                break
        if accepted is None:
            continue
        args, chosen, layer, shape = accepted
        if layer is None and draw(st.integers(0, 3)) > 0:
            continue  # mostly drop refused candidates
        name = f"l{i}"
        entry = dict(args)
        if graph:
            entry["name"] = name
            refs = [v.ref for v in chosen]
            if refs != [values[-1].ref] or draw(st.booleans()):
                entry["inputs"] = refs[0] if len(refs) == 1 and draw(st.booleans()) else refs
        elif draw(st.integers(0, 4)) == 0:
            entry["name"] = name
        entries.append(entry)
        if layer is None or isinstance(shape, list):
            # multi-output or unknown: later layers take the previous single value
            if graph and isinstance(shape, list) and shape:
                values.append(_Value(f"{name}:0", tuple(shape[0]), "float32"))
            continue
        dtype = chosen[0].dtype if getattr(layer, "keeps_dtype", False) else "float32"
        value = _Value(
            entry.get("name", name), tuple(shape), dtype, layer,
            [v.shape for v in chosen], [v.dtype for v in chosen],
        )  # fmt: skip
        if graph:
            made[name] = value
            values.append(value)
        elif "name" in entry:
            values.append(value)
        else:
            values.append(_Value("?", tuple(shape), dtype))
    if not entries:
        entries.append({"type": "Flatten"})
    spec["layers"] = entries
    if graph:
        names = [e["name"] for e in entries if "name" in e]
        if names and draw(st.booleans()):
            outs = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
            spec["outputs"] = outs[0] if len(outs) == 1 and draw(st.booleans()) else outs
    return spec


def sites_of(t: Any, value: Any, path: tuple = ()) -> list[Site]:
    """The sites (places with their type trees) of data `value` of type `t`."""
    if isinstance(t, TUnion):
        for branch in t.branches:
            if isinstance(branch, TModel) and branch.union:
                if isinstance(value, dict) and value.get("type") == _type_name(branch):
                    return sites_of(branch, value, path)
            elif isinstance(branch, TVocab | TModel | TList | TDict):
                if _fits(branch, value):
                    return sites_of(branch, value, path)
        return [Site(path, t.branches[0])]
    out = [Site(path, t)]
    if isinstance(t, TVocab) and isinstance(value, dict):
        return out + sites_of(t.objects, value, path)[1:]
    if isinstance(t, TModel) and isinstance(value, dict):
        types_ = {key: ft for key, ft, _ in fields(t.cls)}
        for key, sub in value.items():
            if key in types_:
                out += sites_of(types_[key], sub, (*path, key))
    elif isinstance(t, TList) and isinstance(value, list):
        for i, item in enumerate(value):
            out += sites_of(t.item, item, (*path, i))
    elif isinstance(t, TDict) and isinstance(value, dict):
        for key, sub in value.items():
            out += sites_of(t.value, sub, (*path, key))
    return out


def _type_name(t: TModel) -> str:
    return t.cls.model_fields["type"].default


def _fits(t: Any, value: Any) -> bool:
    if isinstance(t, TVocab):
        return isinstance(value, str | dict)
    if isinstance(t, TModel | TDict):
        return isinstance(value, dict)
    return isinstance(t, TList) and isinstance(value, list)


@st.composite
def mutated(draw, spec: dict) -> tuple[dict, list[str]]:
    """`spec` with 0-2 one-field mutations (spec_strategies.mutations) at drawn sites."""
    ops = []
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2]))):
        sites = sites_of(spec_type(), spec)
        site = draw(st.sampled_from(sites))
        try:
            choices = mutations(site, spec, lean=draw(st.booleans()))
        except (KeyError, IndexError, TypeError):
            choices = []
        if not choices:
            continue
        op = draw(st.sampled_from(choices))
        try:
            spec = op.apply(spec)
        except (KeyError, IndexError, TypeError):
            continue
        ops.append(str(op))
    return spec, ops


def dump(spec: Any, style: str) -> str:
    if style == "json":
        return json.dumps(spec, indent=1, default=repr)
    return yaml.safe_dump(
        spec, sort_keys=False, default_flow_style=(style == "flow"), allow_unicode=True
    )


@st.composite
def structured_cases(draw) -> tuple[bytes, str]:
    """(spec file bytes, description) of a composed, maybe mutated spec."""
    spec, ops = draw(mutated(draw(structured_specs())))
    style = draw(st.sampled_from(["block", "block", "flow", "json"]))
    try:
        text = dump(spec, style)
    except (yaml.YAMLError, ValueError, TypeError):
        text = dump(spec, "json")
    return text.encode("utf-8", "surrogatepass"), "; ".join(ops) or "unmutated"


# ------------------------------------------------------------------- byte and YAML strategies

ODD_SCALARS = (
    "99999999999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "1e308",
    "1e309",
    "-1e309",
    "2e-400",
    "3.4028236e38",
    "-0",
    "-0.0",
    "+12",
    "0x1F",
    "0o17",
    "017",
    "0b101",
    "1_000",
    "12:30:00",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "~",
    "null",
    "yes",
    "on",
    "NO",
    "!!python/object:os.system",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:builtins.print",
    "!!int abc",
    "!!int 1.5",
    "!!float x",
    "!!float 1",
    "!!bool maybe",
    "!!null x",
    "!!timestamp yesterday",
    "!!binary aGVsbG8=",
    "!!set {a: null}",
    "!!omap [a: 1]",
    "!!str 3",
    "!custom 3",
    "!<tag:x> 1",
    "&a 3",
    "*nowhere",
    '"\\x00"',
    '"\\ud800"',
    '"\\U0010FFFF"',
    '"a\\u2028b"',
    '"\\e\\a"',
    "'\t'",
    "'",
    '"',
    "{}",
    "[]",
    "[[[[[[[[[[]]]]]]]]]]",
    "{a: {b: {c: {d: 1}}}}",
    "<<: {x: 1}",
    "? complex key",
    "|\n  literal\n",
    "- 1",
    "%YAML 1.1",
    "---",
    "...",
    "#",
    "@",
    "`",
    "\x00",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\t",
)
SNIPPETS = (
    b"\x00",
    b"\xff",
    b"\xfe\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # an encoded surrogate: not UTF-8
    b"\xef\xbb\xbf",
    b"\t",
    b"\r",
    b"\r\n",
    b"\n",
    b"\x85",
    b"\xe2\x80\xa8",
    b" ",
    b":",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b"&a ",
    b"*a",
    b"!!",
    b"%",
    b"? ",
    b"|",
    b">",
    b"#",
    b"'",
    b'"',
    b"\\",
    b"---\n",
    b"...\n",
    b"<<: ",
    b"\x1b",
    b"\x0c",
)
_SCALAR = re.compile(rb"(?<=: )[^\s,{}\[\]#][^,{}\[\]#\n]*|(?<=[\[,] )[^\s,{}\[\]#][^,{}\[\]\n#]*")


def _spot(data: bytes, pos: int) -> int:
    return pos % (len(data) + 1)


@st.composite
def _text_op(draw, data: bytes) -> tuple[bytes, str]:
    kind = draw(
        st.sampled_from(
            [
                "flip",
                "insert",
                "delete",
                "truncate",
                "dup_line",
                "indent",
                "scalar",
                "scalar",
                "scalar",
                "nest",
                "alias",
                "bom",
                "non_utf8",
                "tab",
                "swap_lines",
            ]
        )  # fmt: skip
    )
    pos = _spot(data, draw(st.integers(0, 10**6)))
    lines = data.splitlines(keepends=True) or [b""]
    line = draw(st.integers(0, 10**6)) % len(lines)
    if kind == "flip" and data:
        at = pos % len(data)
        bit = 1 << draw(st.integers(0, 7))
        return data[:at] + bytes([data[at] ^ bit]) + data[at + 1 :], f"flip byte {at} ^ {bit}"
    if kind == "insert":
        blob = draw(st.one_of(st.sampled_from(SNIPPETS), st.binary(min_size=1, max_size=4)))
        return data[:pos] + blob + data[pos:], f"insert {blob!r} at {pos}"
    if kind == "delete":
        n = draw(st.integers(1, 12))
        return data[:pos] + data[pos + n :], f"delete {n} bytes at {pos}"
    if kind == "truncate":
        return data[:pos], f"truncate at {pos}"
    if kind == "dup_line":
        return b"".join(lines[: line + 1] + lines[line:]), f"duplicate line {line + 1}"
    if kind == "swap_lines" and len(lines) > 1:
        other = draw(st.integers(0, len(lines) - 1))
        lines[line], lines[other] = lines[other], lines[line]
        return b"".join(lines), f"swap lines {line + 1} and {other + 1}"
    if kind == "indent":
        change = draw(st.sampled_from([b"  ", b" ", b"\t", b"-1", b"-2", b"strip"]))
        text = lines[line]
        if change == b"strip":
            lines[line] = text.lstrip(b" ")
        elif change.startswith(b"-"):
            n = int(change[1:])
            lines[line] = text[n:] if text[:n].strip() == b"" else text
        else:
            lines[line] = change + text
        return b"".join(lines), f"indent line {line + 1}: {change!r}"
    if kind == "tab":
        text = lines[line]
        lines[line] = text.replace(b"  ", b"\t", 1) if b"  " in text else b"\t" + text
        return b"".join(lines), f"tab in line {line + 1}"
    if kind == "scalar":
        spots = list(_SCALAR.finditer(data))
        value = draw(st.sampled_from(ODD_SCALARS)).encode("utf-8", "surrogatepass")
        if not spots:
            return data + value, f"append {value!r}"
        m = spots[draw(st.integers(0, len(spots) - 1))]
        return data[: m.start()] + value + data[m.end() :], f"scalar {m.group()!r} -> {value!r}"
    if kind == "nest":
        depth = draw(st.sampled_from([10, 63, 64, 65, 200, 5000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b"{a: ", b"}"), (b"- ", b"")]))
        if closer:
            blob = opener * depth + b"1" + closer * depth
        else:  # block sequence nesting: each level its own line, indented
            blob = b"".join(b"  " * i + b"-\n" for i in range(depth)) + b"  " * depth + b"1"
            blob = b"\n" + blob
        spots = list(_SCALAR.finditer(data))
        if spots:
            m = spots[draw(st.integers(0, len(spots) - 1))]
            return data[: m.start()] + blob + data[m.end() :], f"nest {depth} deep"
        return data + b"\nx: " + blob, f"nest {depth} deep"
    if kind == "alias":
        spots = list(_SCALAR.finditer(data))
        if len(spots) < 2:
            return data + b"\nx: &a [*a]\n", "recursive alias"
        a, b = sorted(draw(st.lists(st.sampled_from(spots), min_size=2, max_size=2)), key=id)
        first, second = sorted([a, b], key=lambda m: m.start())
        anchor = draw(st.sampled_from([b"&a ", b"&a [", b"&b "]))
        alias = draw(st.sampled_from([b"*a", b"*b", b"*a *a", b"[*a, *a, *a]"]))
        out = (
            data[: first.start()]
            + anchor
            + data[first.start() : second.start()]
            + alias
            + data[second.end() :]
        )
        return out, f"anchor {anchor!r} at {first.start()}, alias {alias!r} at {second.start()}"
    if kind == "bom":
        bom = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]))
        return bom + data, f"BOM {bom!r}"
    if kind == "non_utf8":
        blob = draw(st.sampled_from([b"\xff", b"\xc3(", b"\xa0", b"\xed\xa0\x80", b"\xf8\x88"]))
        return data[:pos] + blob + data[pos:], f"non-UTF-8 {blob!r} at {pos}"
    return data + b"\n", "newline"


@st.composite
def text_cases(draw) -> tuple[bytes, str]:
    """(bytes, description): a bundled spec with 1-3 byte- or YAML-level mutations."""
    i = draw(st.integers(0, len(SPEC_BYTES) - 1))
    data, steps = SPEC_BYTES[i], [SPECS[i].name]
    for _ in range(draw(st.integers(1, 3))):
        data, what = draw(_text_op(data))
        steps.append(what)
    return data, ": ".join(steps[:1]) + ": " + "; ".join(steps[1:])


# ------------------------------------------------------------------------------- the oracle

_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S")
_BUDGET = re.compile(r"^model '.*' needs .* over the memory budget of ")
_LINE_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


@dataclass
class Outcome:
    """The verdict on one case."""

    kind: str  # "located" (validation errors), "valid", "built", "refused" (budget), "failure"
    forward: str = ""  # "checked", "skipped" (too large), "data" (unfit random data), ""
    problems: list[str] = field(default_factory=list)
    output: str = ""


@contextlib.contextmanager
def _captured():
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            yield out, err


def run_cli(argv: list[str]) -> tuple[int | None, str, str, str | None]:
    """(exit code, stdout, stderr, traceback of an escaping exception) of `cli.main(argv)`."""
    from netspec.cli import main

    code, exc_text = None, None
    with _captured() as (out, err):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - anything escaping is the finding
            exc_text = traceback.format_exc()
    # cli.main pauses and freezes the garbage collector for one process's life; here many
    # commands share the process: undo it so the heap stays small and later tests of the
    # same worker see the library's collector policy (none).
    heap.restore()
    return code, out.getvalue(), err.getvalue(), exc_text


def _bounds(text: bytes) -> tuple[int, int]:
    """(lines, longest line) of a file, line breaks as YAML counts them."""
    decoded = text.decode("utf-8", "replace")
    lines = _LINE_BREAKS.split(decoded)
    return len(lines), max((len(s) for s in lines), default=0)


def check_output(path: str, data: bytes, code, out: str, err: str, exc: str | None) -> list[str]:
    """The rule violations of one command's run."""
    problems = []
    if exc is not None:
        problems.append("exception escaped: " + exc.strip().splitlines()[-1])
    if code not in (0, 1):
        problems.append(f"exit code {code!r}")
    for stream in (out, err):
        if "Traceback (most recent call last)" in stream:
            problems.append("traceback in output")
    if code == 1:
        lines = err.splitlines()
        if not lines:
            problems.append("exit 1 without a message")
        n_lines, width = _bounds(data)
        for line in lines:
            m = _LOCATED.match(line)
            if m and m["file"] == path:
                row, col = int(m["line"]), int(m["col"])
                if not (1 <= row <= n_lines + 1 and 1 <= col <= width + 2):
                    problems.append(f"position {row}:{col} outside the file: {line[:200]}")
            elif line.startswith(path + ": ") and len(lines) == 1:
                pass  # a file-level error
            elif _BUDGET.match(line) and len(lines) == 1:
                pass  # over the parameter budget
            else:
                problems.append(f"unlocated error line: {line[:200]!r}")
    return problems


def _static(shape) -> Any:
    return shape


def _fits_shape(tensor, shape) -> bool:
    import torch

    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        if not isinstance(tensor, tuple | list) or len(tensor) != len(shape):
            return False
        return all(_fits_shape(t, s) for t, s in zip(tensor, shape, strict=True))
    if not isinstance(tensor, torch.Tensor) or tensor.dim() != len(shape) + 1:
        return False
    if tensor.shape[0] != BATCH:
        return False
    return all(d is None or d == t for d, t in zip(shape, tensor.shape[1:], strict=True))


def _numel(shape) -> int:
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return sum(_numel(s) for s in shape)
    return math.prod(VARIABLE_DIM if d is None else d for d in shape or [])


def _vocab_sizes(layer) -> list[int]:
    """The input_dim of every Embedding in a layer entry, wrapped ones included."""
    if getattr(layer, "type", None) == "Embedding":
        return [layer.input_dim]
    inner = [getattr(layer, key, None) for key in ("layer", "backward_layer")]
    return [v for sub in inner if hasattr(sub, "type") for v in _vocab_sizes(sub)]


def _inputs(summary: dict, vocab: list[int], size: int) -> list:
    """A random batch for the model's inputs (None dimensions: `size`); integers below every
    Embedding's input_dim when there is one."""
    import torch

    gen = torch.Generator().manual_seed(0)
    args = []
    for inp in summary["inputs"]:
        shape = (BATCH, *(size if d is None else d for d in inp["shape"]))
        dtype = getattr(torch, inp["dtype"])
        if vocab or inp["dtype"] in INT_DTYPES:
            high = min(vocab) if vocab else 5
            x = torch.randint(0, max(high, 1), shape, generator=gen).to(dtype)
        elif inp["dtype"] == "bool":
            x = torch.randint(0, 2, shape, generator=gen).bool()
        else:
            x = torch.randn(shape, generator=gen).to(dtype)
        args.append(x)
    return args


def _forward(path: str, summary: dict) -> tuple[str, list[str]]:
    """Build the spec and run a batch through it: ("checked", problems), or ("skipped", [])."""
    params = summary["total_params"]
    acts = sum(_numel(x["output_shape"]) for x in summary["layers"] if x["output_shape"])
    acts += sum(_numel(i["shape"]) for i in summary["inputs"])
    if (params + 3 * BATCH * acts) * 4 > FORWARD_BUDGET:
        return "skipped", []
    import torch

    import netspec

    spec = netspec.load(path)
    model = netspec.build(spec, device="cpu", seed=0, max_memory=BUILD_BUDGET)
    model.eval()
    vocab = [v for lay in spec.layers for v in _vocab_sizes(lay)]
    variable = any(d is None for i in summary["inputs"] for d in i["shape"])
    # a None dimension gets VARIABLE_DIM; where that does not fit the model (a Reshape to a
    # fixed size, an Add with a fixed-size input), other sizes are tried
    for size in (VARIABLE_DIM, 1, 4, 2, 16) if variable else (VARIABLE_DIM,):
        args = _inputs(summary, vocab, size)
        try:
            with torch.no_grad():
                result = model(*args)
            break
        except Exception as exc:  # noqa: BLE001
            head = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        dtypes = {i["dtype"] for i in summary["inputs"]}
        if dtypes & KNOWN_FLOAT_INPUTS and _DTYPE_CLASH.search(head):
            return "known dtype issue", []
        if variable:  # no size fits, or one needs more memory than the job may take (a
            # huge padding of a variable axis, which no static estimate sees): the data's fault
            return "unfit data", []
        if vocab and "index out of range" in head:  # computed values reach an Embedding
            return "unfit data", []
        return "checked", [f"forward pass failed: {head}"]
    static = {x["name"]: x["output_shape"] for x in summary["layers"]}
    static |= {i["name"]: i["shape"] for i in summary["inputs"]}
    expected = []
    for ref in summary["outputs"]:
        name, _, k = ref.partition(":")
        shape = static[name] if name in static else static[ref]
        expected.append(shape[int(k)] if k.isdigit() and name in static else shape)
    results = list(result) if len(expected) > 1 else [result]
    problems = []
    for ref, tensor, shape in zip(summary["outputs"], results, expected, strict=False):
        if not _fits_shape(tensor, shape):
            got = getattr(tensor, "shape", type(tensor).__name__)
            problems.append(f"output {ref}: forward gave {got}, static shape {shape}")
    if len(results) != len(expected):
        problems.append(f"{len(results)} outputs, {len(expected)} static")
    return "checked", problems


def check_case(data: bytes, folder: str, forward: bool = True) -> Outcome:
    """Run one spec file through `validate` and (when it passes) `build --json` and a forward
    pass; the outcome and its rule violations."""
    path = os.path.join(folder, "case.yaml")
    with open(path, "wb") as f:
        f.write(data)
    code, out, err, exc = run_cli(["validate", path])
    problems = check_output(path, data, code, out, err, exc)
    if problems or code != 0:
        return Outcome("failure" if problems else "located", "", problems, out + err)
    code, out, err, exc = run_cli(["build", path, "--json", "--max-memory", str(BUILD_BUDGET)])
    problems = check_output(path, data, code, out, err, exc)
    if problems:
        return Outcome("failure", "", problems, out + err)
    if code == 1:
        ok = _BUDGET.match(err)
        return Outcome("refused" if ok else "failure", "", [] if ok else ["build refused"], err)
    try:
        summary = json.loads(out)
    except ValueError:
        return Outcome("failure", "", ["build --json printed no JSON"], out + err)
    if not forward:
        return Outcome("built")
    with _captured() as (_, ferr):
        try:
            done, problems = _forward(path, summary)
        except Exception:  # noqa: BLE001
            done, problems = "checked", ["build for the forward pass: " + traceback.format_exc()]
    if ferr.getvalue().strip():
        problems.append("forward pass warnings: " + ferr.getvalue().strip().splitlines()[-1])
    return Outcome("failure" if problems else "built", done, problems, out)


# -------------------------------------------------------------------------------- long run


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[bytes, str, Outcome]] = field(default_factory=list)

    def add(self, data: bytes, what: str, outcome: Outcome, keep: int) -> None:
        self.counts["cases"] += 1
        self.counts[outcome.kind] += 1
        if outcome.forward:
            self.counts["forward " + outcome.forward] += 1
        if outcome.kind == "failure":
            sig = outcome.problems[0][:120] if outcome.problems else "?"
            self.counts["signature: " + sig] += 1
            if len(self.failures) < keep:
                self.failures.append((data, what, outcome))


def run_many(
    cases: int,
    seed: int,
    source: str = "both",
    forward_every: int = 1,
    keep: int = 20,
    progress: bool = True,
    save: Path | None = None,
) -> Tally:
    """Run `cases` cases (hypothesis-generated, seeded, not shrunk), tallying outcomes."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    tally = Tally()
    strategy = {
        "structured": structured_cases(),
        "text": text_cases(),
        "both": st.one_of(structured_cases(), text_cases()),
    }[source]
    folder = tempfile.mkdtemp(prefix="netspec-fuzz-")

    @hseed(seed)
    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(case):
        data, what = case
        n = tally.counts["cases"]
        try:
            outcome = check_case(data, folder, forward=n % forward_every == 0)
        except Exception:  # noqa: BLE001 - the oracle's own failure: keep going, count it
            outcome = Outcome("failure", "", ["fuzzer error: " + traceback.format_exc()])
        tally.add(data, what, outcome, keep)
        c = tally.counts
        if n % 250 == 0:
            gc.collect()
        if outcome.kind == "failure" and save is not None and c["failure"] <= keep:
            _save(save / f"seed{seed}-case{c['failure']:03d}", data, what, outcome)
        if progress and (n + 1) % 500 == 0:
            print(f"[seed {seed}] {_summary_line(c)}", file=sys.stderr, flush=True)

    one()
    return tally


def _summary_line(c: Counter) -> str:
    return (
        f"{c['cases']} cases, {c['located']} located errors, {c['built']} valid builds, "
        f"{c['refused']} over budget, {c['forward checked']} forward passes checked "
        f"({c['forward skipped']} too large, {c['forward unfit data']} unfit data, "
        f"{c['forward known dtype issue']} known dtype issue), {c['failure']} failures"
    )


def _save(stem: Path, data: bytes, what: str, outcome: Outcome) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".yaml").write_bytes(data)
    note = f"{what}\n\n" + "\n".join(outcome.problems) + "\n\n" + outcome.output
    stem.with_suffix(".txt").write_text(note, errors="backslashreplace")


JOB_MEMORY = 6 * 2**30  # per long-run job: a forward pass that needs more fails, not the host


def _job(args: tuple) -> Tally:
    import resource

    # A model with variable dimensions can need any memory once sizes are chosen (ZeroPadding
    # of 10^5 on a None axis): bound the job so such a pass fails with an allocation error.
    resource.setrlimit(resource.RLIMIT_DATA, (JOB_MEMORY, JOB_MEMORY))
    return run_many(*args)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--source", choices=["both", "structured", "text"], default="both")
    parser.add_argument("--forward-every", type=int, default=1, help="forward pass every Nth")
    parser.add_argument("--save", type=Path, default=Path("fuzz-failures"))
    opts = parser.parse_args(argv)
    jobs = max(1, opts.jobs)
    per = [opts.cases // jobs + (1 if i < opts.cases % jobs else 0) for i in range(jobs)]
    work = [
        (n, opts.seed * 1000 + i, opts.source, opts.forward_every, 20, True, opts.save)
        for i, n in enumerate(per)
    ]
    if jobs == 1:
        tallies = [_job(work[0])]
    else:
        import multiprocessing

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            tallies = pool.map(_job, work)
    total = Tally()
    for t in tallies:
        total.counts.update(t.counts)
        total.failures += t.failures
    c = total.counts
    print(_summary_line(c))
    for key, n in sorted(c.items()):
        if key.startswith("signature: "):
            print(f"  {n:6d}  {key[11:]}")
    if c["failure"]:
        print(f"the first failing inputs of each job are saved in {opts.save}/")
    return 1 if c["failure"] else 0


if __name__ == "__main__":
    sys.exit(main())
