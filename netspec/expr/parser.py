"""Parsing a Lambda expression: `ast.parse` checked against a whitelist into our own tree.

`parse` refuses, with a message naming the construct and its column, anything outside the
grammar of `netspec.expr`; numbers alone are folded (bounded); names resolve to input positions
(`input_names`). Results are cached by text and inputs. Function calls are parsed by
`calls.CallParser`, which `_Parser` extends with the rest of the grammar.
"""

from __future__ import annotations

import ast
import math
import warnings
from functools import lru_cache

from ..registry import did_you_mean
from .calls import CallParser
from .functions import BINARY_OPS, FUNCTIONS
from .indexing import parse_items
from .tree import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_FLOAT,
    MAX_INT,
    MAX_NODES,
    Binary,
    Call,
    ExprError,
    Index,
    Node,
    Num,
    Unary,
    Var,
)

_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_FORBIDDEN = {
    ast.Attribute: "attribute access",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expressions",
    ast.NamedExpr: "assignment expressions",
    ast.JoinedStr: "strings",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Starred: "'*' unpacking",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.MatMult: "the '@' operator",
    ast.Invert: "the '~' operator",
    ast.Not: "'not'",
}


def input_names(inputs: str | list[str] | tuple[str, ...] | None) -> dict[str, int | None]:
    """Name -> input position (None: ambiguous) for a layer's `inputs` (None: one input)."""
    refs = [inputs] if isinstance(inputs, str) else list(inputs) if inputs is not None else [""]
    names: dict[str, int | None] = {f"x{i}": i for i in range(len(refs))}
    if len(refs) == 1:
        names["x"] = 0
    for i, ref in enumerate(refs):
        if ref.isidentifier():
            names[ref] = i if names.get(ref, i) == i else None
    return names


def _fold(op: str, a: int | float, b: int | float) -> int | float:
    """`a op b` on numbers, refusing results that are huge, complex or undefined."""
    if op == "**" and isinstance(a, int) and isinstance(b, int) and b >= 0 and abs(a) > 1:
        if b * math.log2(abs(a)) > 63:
            raise OverflowError
    if op == "**" and not (isinstance(a, int) and isinstance(b, int) and b >= 0):
        a, b = float(a), float(b)
    value = BINARY_OPS[op](a, b)
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("not a real number")
    if abs(value) > (MAX_INT if isinstance(value, int) else MAX_FLOAT):
        raise OverflowError
    return value


class _Parser(CallParser):
    """The parser of one expression: numbers, names, operators, and calls (`CallParser`)."""

    def expr(self, node: ast.expr, depth: int) -> Node:
        """The tree of `node` (at nesting `depth`); numbers alone are folded."""
        self.count += 1
        if self.count > MAX_NODES:
            raise ExprError(f"expression too large (more than {MAX_NODES} parts)")
        if depth > MAX_DEPTH:
            raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            return Num(self.number(node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.expr(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(operand, Num):
                return Num(-operand.value)
            return Unary("-", operand, self.src(node))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            left, right = self.expr(node.left, depth + 1), self.expr(node.right, depth + 1)
            if isinstance(left, Num) and isinstance(right, Num):
                try:
                    return Num(_fold(op, left.value, right.value))
                except ZeroDivisionError:
                    raise self.fail(node, "division by zero") from None
                except (OverflowError, ValueError):
                    raise self.fail(node, "number out of range or not real") from None
            return Binary(op, left, right, self.src(node))
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Subscript):
            value = self.expr(node.value, depth + 1)
            if isinstance(value, Num):
                raise self.fail(node, "a number cannot be indexed")
            try:
                return Index(value, parse_items(node.slice), self.src(node))
            except ExprError as exc:
                raise self.fail(node, str(exc)) from None
        kind = type(node.op) if isinstance(node, (ast.BinOp, ast.UnaryOp)) else type(node)
        what = _FORBIDDEN.get(kind, f"'{kind.__name__}'")
        raise self.fail(node, f"not allowed in an expression: {what}")

    def number(self, node: ast.Constant) -> int | float:
        """A finite int or float literal; any other constant is refused."""
        value = node.value
        if isinstance(value, bool) or value is None:
            raise self.fail(
                node, f"{value} is only allowed as a function's keyword value (keepdims=True)"
            )
        if isinstance(value, (str, bytes)):
            raise self.fail(node, "strings are not allowed in an expression")
        if isinstance(value, complex):
            raise self.fail(node, "complex numbers are not allowed")
        if isinstance(value, int) and abs(value) <= MAX_INT:
            return value
        if isinstance(value, float) and abs(value) <= MAX_FLOAT:  # becomes a float32 tensor
            return value
        raise self.fail(
            node,
            "this number is out of range"
            if isinstance(value, (int, float))
            else f"'{type(value).__name__}' constants are not allowed",
        )

    def name(self, node: ast.Name) -> Node:
        """The input a name refers to (any name, as input 0, when the inputs are unknown)."""
        name = node.id
        if self.names is None:  # the inputs are unknown (invalid): check the rest only
            return Var(0, name)
        index = self.names.get(name, -1)
        if index is None:
            raise self.fail(
                node, f"'{name}' names more than one input; use the positional names x0, x1, ..."
            )
        if index >= 0:
            return Var(index, name)
        if name in FUNCTIONS:
            raise self.fail(node, f"'{name}' is a function: call it, as {name}(...)")
        known = sorted(self.names)
        raise self.fail(
            node, f"unknown name '{name}'{did_you_mean(name, known)} (names: {', '.join(known)})"
        )


@lru_cache(maxsize=512)
def _parse_cached(text: str, inputs: tuple[str, ...] | str | None, lenient: bool) -> Node:
    if len(text) > MAX_CHARS:
        raise ExprError(f"expression too long ({len(text)} characters; at most {MAX_CHARS})")
    if not text.strip():
        raise ExprError("empty expression")
    bad = next((c for c in text if not (c.isascii() and (c.isprintable() or c in "\n\r\t"))), None)
    if bad is not None:
        raise ExprError(f"character {bad!r} is not allowed (ASCII text only)")
    flat = text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    lead = len(flat) - len(flat.lstrip())
    flat = flat.strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(flat, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid syntax: {exc.msg} (column {(exc.offset or 1) + lead})") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError("invalid expression") from None
    names = None if lenient else input_names(inputs)
    node = _Parser(flat, names, lead).expr(tree.body, 0)
    if not lenient and not _uses_input(node):
        raise ExprError(
            "the expression uses no input (names: " + ", ".join(sorted(names or {})) + ")"
        )
    return node


def parse(
    text: str, inputs: str | list[str] | tuple[str, ...] | None = None, lenient: bool = False
) -> Node:
    """The validated tree of `text` for a layer with these `inputs` (None: a single input).

    `lenient` accepts any name (when the inputs are unknown): syntax and functions are checked.
    """
    key = tuple(inputs) if isinstance(inputs, list) else inputs
    return _parse_cached(text, key, lenient)


def _uses_input(node: Node) -> bool:
    """Whether the tree reads an input anywhere."""
    if isinstance(node, Var):
        return True
    if isinstance(node, Unary):
        return _uses_input(node.operand)
    if isinstance(node, Binary):
        return _uses_input(node.left) or _uses_input(node.right)
    if isinstance(node, Index):
        return _uses_input(node.value)
    return isinstance(node, Call) and any(_uses_input(a) for a in node.args)
