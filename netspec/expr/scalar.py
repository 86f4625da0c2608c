"""Argument expressions of blocks: `${4 * filters}`, `${stride != 1}`, `"block${i}"`.

The same safe language as the Lambda layer's (text parsed by `ast.parse(mode="eval")` into a
syntax tree, checked node by node against a whitelist, never run by Python), over plain values
instead of tensors: numbers, strings, booleans, null and lists of them. Grammar:

    expr := number | 'string' | true | false | null | name | [expr, ...]
          | ('-' | '+' | not) expr | expr op expr | expr cmp expr | expr and/or expr
          | expr if expr else expr | expr[int] | function(expr, ...)
    op   := + - * / // % **        cmp := == != < <= > >=

Functions: min, max, abs, int, float, round, floor, ceil, len, str, letter (`letter(1)` is 'a':
EfficientNet's `block2a`, `block2b`). Names are the block's arguments and the repetition index.
Numbers stay bounded (as the Lambda language's: no 10**10**10), strings and lists short.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from ..registry import did_you_mean
from .tree import MAX_CHARS, MAX_DEPTH, MAX_INT, MAX_NODES, ExprError

Value = Any  # None | bool | int | float | str | list[Value]
MAX_STRING = 1000
MAX_LIST = 64
TEMPLATE = re.compile(r"\$\{([^{}]*)\}")

_ARITH: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False,
              "None": None}  # fmt: skip


def _letter(n: Any) -> str:
    if not _is_int(n) or not 1 <= n <= 26:
        raise ExprError(f"letter() takes 1 to 26, got {n!r}")
    return "abcdefghijklmnopqrstuvwxyz"[n - 1]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "len": len,
    "str": lambda v: _text(v),
    "letter": _letter,
}


def _text(v: Value) -> str:
    """A value as it appears inside a string: YAML's spelling of booleans and null."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return "null" if v is None else str(v)


def _bounded(v: Value) -> Value:
    if _is_int(v) and abs(v) > MAX_INT:
        raise ExprError(f"integer out of range (|n| > {MAX_INT})")
    if isinstance(v, float) and not math.isfinite(v):
        raise ExprError("the result is not a finite number")
    if isinstance(v, str) and len(v) > MAX_STRING:
        raise ExprError(f"string longer than {MAX_STRING} characters")
    if isinstance(v, list) and len(v) > MAX_LIST:
        raise ExprError(f"list longer than {MAX_LIST} items")
    return v


class _Evaluator:
    def __init__(self, env: dict[str, Value]):
        self.env, self.count = env, 0

    def run(self, node: ast.AST, depth: int = 0) -> Value:
        self.count += 1
        if self.count > MAX_NODES or depth > MAX_DEPTH:
            raise ExprError("expression too large")
        method = _DISPATCH.get(type(node))
        if method is None:
            raise ExprError(f"{type(node).__name__} is not allowed here (col {_col(node)})")
        return _bounded(method(self, node, depth + 1))

    def _Constant(self, node: ast.Constant, depth: int) -> Value:
        if node.value is None or isinstance(node.value, bool | int | float | str):
            return node.value
        raise ExprError(f"constant {node.value!r} is not allowed")

    def _Name(self, node: ast.Name, depth: int) -> Value:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        known = sorted(self.env)
        raise ExprError(f"unknown name '{node.id}'" + did_you_mean(node.id, known))

    def _List(self, node: ast.List, depth: int) -> Value:
        return [self.run(e, depth) for e in node.elts]

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Value:
        v = self.run(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return not v
        if not _num(v):
            raise ExprError(f"unary minus/plus needs a number, got {v!r}")
        return -v if isinstance(node.op, ast.USub) else v

    def _BinOp(self, node: ast.BinOp, depth: int) -> Value:
        a, b = self.run(node.left, depth), self.run(node.right, depth)
        op = _ARITH.get(type(node.op))
        if op is None:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed")
        numbers = _num(a) and _num(b)
        if isinstance(node.op, ast.Add) and isinstance(a, str) and isinstance(b, str):
            return a + b
        if not numbers:
            raise ExprError(f"arithmetic needs numbers, got {a!r} and {b!r}")
        if isinstance(node.op, ast.Pow) and (abs(b) > 64 or (a == 0 and b < 0)):
            raise ExprError(f"power out of range: {a!r} ** {b!r}")
        try:
            return op(a, b)
        except ZeroDivisionError:
            raise ExprError("division by zero") from None

    def _Compare(self, node: ast.Compare, depth: int) -> Value:
        left = self.run(node.left, depth)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.run(right_node, depth)
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise ExprError(f"comparison {type(op).__name__} is not allowed")
            try:
                if not fn(left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {left!r} and {right!r}") from None
            left = right
        return True

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Value:
        value: Value = None
        for item in node.values:
            value = self.run(item, depth)
            if isinstance(node.op, ast.And) != bool(value):
                return value
        return value

    def _IfExp(self, node: ast.IfExp, depth: int) -> Value:
        test = self.run(node.test, depth)
        return self.run(node.body if test else node.orelse, depth)

    def _Subscript(self, node: ast.Subscript, depth: int) -> Value:
        seq, index = self.run(node.value, depth), self.run(node.slice, depth)
        if not isinstance(seq, list | str) or not _is_int(index):
            raise ExprError(f"indexing needs a list or string and an integer, got {index!r}")
        if not -len(seq) <= index < len(seq):
            raise ExprError(f"index {index} out of range (length {len(seq)})")
        return seq[index]

    def _Call(self, node: ast.Call, depth: int) -> Value:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in FUNCTIONS or node.keywords:
            hint = did_you_mean(str(name), sorted(FUNCTIONS))
            raise ExprError(f"unknown function {name!r}{hint} (positional arguments only)")
        args = [self.run(a, depth) for a in node.args]
        try:
            return FUNCTIONS[name](*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"{name}(): {exc}") from None


_DISPATCH: dict[type, Callable[[_Evaluator, Any, int], Value]] = {
    ast.Constant: _Evaluator._Constant,
    ast.Name: _Evaluator._Name,
    ast.List: _Evaluator._List,
    ast.Tuple: _Evaluator._List,
    ast.UnaryOp: _Evaluator._UnaryOp,
    ast.BinOp: _Evaluator._BinOp,
    ast.Compare: _Evaluator._Compare,
    ast.BoolOp: _Evaluator._BoolOp,
    ast.IfExp: _Evaluator._IfExp,
    ast.Subscript: _Evaluator._Subscript,
    ast.Call: _Evaluator._Call,
}


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


def evaluate(text: str, env: dict[str, Value]) -> Value:
    """The value of an argument expression (ExprError when refused)."""
    if len(text) > MAX_CHARS or not text.isascii():
        raise ExprError(f"an expression is ASCII text of at most {MAX_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"invalid expression: {exc.msg}") from None
    return _Evaluator(env).run(tree.body)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def render(text: str, env: dict[str, Value]) -> Value:
    """A string with `${...}` parts: the value itself when the string is one `${expr}`, else
    the text with each part's value written in (None when a part is null: a name made of a
    null argument is no name, so the layer gets its automatic one)."""
    whole = TEMPLATE.fullmatch(text.strip())
    if whole:
        return evaluate(whole.group(1), env)
    parts: list[str] = []
    end = 0
    for match in TEMPLATE.finditer(text):
        value = evaluate(match.group(1), env)
        if value is None:
            return None
        parts.append(text[end : match.start()] + _text(value))
        end = match.end()
    if "${" in text[end:]:
        raise ExprError("unclosed '${' in a template")
    return _bounded("".join(parts) + text[end:])
