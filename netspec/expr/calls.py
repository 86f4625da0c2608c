"""Parsing function calls of the Lambda language: binding and checking their arguments.

`CallParser` holds what parsing shares (the text, the input names, the count of parts, the
offset of the stripped text) and turns an `ast.Call` into a `Call`: the function must be
whitelisted, tensor arguments come first and positionally, the others are constants of the
kind the function wants (defaults filled in, except for activations, whose own class validates
what is given). `parser._Parser` adds the rest of the grammar (its `expr`).
"""

from __future__ import annotations

import ast
from typing import Any

from ..registry import did_you_mean
from ..vocab.activations import ACTIVATIONS
from .functions import FUNCTIONS, REQUIRED, Function
from .tree import MAX_FLOAT, Call, ExprError, Node


class CallParser:
    """The state shared by a parse, its error locations, and the parsing of calls."""

    def __init__(self, text: str, names: dict[str, int | None] | None, lead: int):
        self.text, self.names, self.count, self.lead = text, names, 0, lead

    def fail(self, node: ast.expr | ast.keyword, message: str) -> ExprError:
        """The error to raise at `node`: the message, then the node's text and column."""
        src = ast.get_source_segment(self.text, node) or ""
        where = f"column {node.col_offset + 1 + self.lead}"
        shown = f"'{src}', {where}" if src and len(src) <= 40 else where
        return ExprError(f"{message} ({shown})")

    def expr(self, node: ast.expr, depth: int) -> Node:
        """The tree of any expression node: defined by the parser proper (`parser._Parser`)."""
        raise NotImplementedError  # pragma: no cover

    def src(self, node: ast.expr) -> str:
        """The source text of `node` (kept on the tree for messages)."""
        return ast.get_source_segment(self.text, node) or ""

    def call(self, node: ast.Call, depth: int) -> Node:
        """A call of a whitelisted function, its arguments bound and checked."""
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Attribute, ast.Lambda, ast.Subscript)):
                return self.expr(node.func, depth + 1)  # refused, named by its construct
            raise self.fail(node, "only named functions can be called")
        name = node.func.id
        fn = self.function(node, name)
        given = self.bind(node, name, fn)
        args = self.tensor_args(node, name, fn, given, depth)
        consts = self.const_args(node, name, fn, given)
        if fn.kind == "activation":
            self.activation(node, name, dict(consts))
        return Call(name, tuple(args), tuple(consts), self.src(node))

    def function(self, node: ast.Call, name: str) -> Function:
        """The whitelisted function `name`, or an error saying what `name` is instead."""
        fn = FUNCTIONS.get(name)
        if fn is not None:
            return fn
        if self.names and name in self.names:
            raise self.fail(node, f"'{name}' is an input, not a function")
        raise self.fail(node.func, f"unknown function '{name}'" + did_you_mean(name, FUNCTIONS))

    def bind(self, node: ast.Call, name: str, fn: Function) -> dict[str, ast.expr]:
        """Parameter name -> argument node, positional ones first (as Python binds them)."""
        params = fn.names()
        given: dict[str, ast.expr] = {}
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, "'*' unpacking is not allowed")
            if i >= len(params):
                raise self.fail(
                    node,
                    f"{name}() takes at most {len(params)} argument(s) "
                    f"({', '.join(params)}), got {len(node.args)}",
                )
            given[params[i]] = arg
        for kw in node.keywords:
            given[self.check_keyword(kw, name, fn, params, given)] = kw.value
        return given

    def check_keyword(
        self,
        kw: ast.keyword,
        name: str,
        fn: Function,
        params: list[str],
        given: dict[str, ast.expr],
    ) -> str:
        """`kw`'s parameter name; refused unless it names a constant parameter not given yet."""
        if kw.arg is None:
            raise self.fail(kw.value, "'**' unpacking is not allowed")
        if kw.arg not in params:
            raise self.fail(
                kw,
                f"{name}() has no argument '{kw.arg}'"
                + did_you_mean(kw.arg, params)
                + f" (arguments: {', '.join(params)})",
            )
        if kw.arg in given:
            raise self.fail(kw, f"{name}() got argument '{kw.arg}' twice")
        if kw.arg in fn.tensors:  # tensors come first, so keywords would only reorder them
            raise self.fail(kw, f"pass '{kw.arg}' of {name}() positionally")
        return kw.arg

    def tensor_args(
        self, node: ast.Call, name: str, fn: Function, given: dict[str, ast.expr], depth: int
    ) -> list[Node]:
        # Each is checked then parsed in turn, so the first problem met is the one reported.
        args = []
        for p in fn.tensors:
            if p not in given:
                raise self.fail(node, f"{name}() is missing its argument '{p}'")
            args.append(self.expr(given[p], depth + 1))
        return args

    def const_args(
        self, node: ast.Call, name: str, fn: Function, given: dict[str, ast.expr]
    ) -> list[tuple[str, Any]]:
        """The constant arguments, defaults filled in; an activation's only as given (its own
        class validates them, and knows its defaults)."""
        consts = []
        for p, kind, default in fn.consts:
            if p in given:
                consts.append((p, self.const(given[p], name, p, kind)))
            elif default is not REQUIRED:
                consts.append((p, default))
            elif fn.kind != "activation":
                why = (
                    f"; {name} over every axis would include the batch axis (axis 0)"
                    if p == "axis" and fn.kind in ("reduce", "squeeze")
                    else ""
                )
                raise self.fail(node, f"{name}() needs {p}=...{why}")
        return consts

    def const(self, node: ast.expr, fname: str, pname: str, kind: str) -> Any:
        """A constant argument: a number, a bool, None or a tuple of ints, as `kind` wants."""
        self.count += 1
        if isinstance(node, (ast.Tuple, ast.List)) and kind in ("axis", "axes"):
            return tuple(self.const(e, fname, pname, "int") for e in node.elts)
        value = node.value if isinstance(node, ast.Constant) else REQUIRED
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
        ):
            inner = node.operand.value
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                value = -inner if isinstance(node.op, ast.USub) else inner
        ok = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "axis": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: (  # within float32: it becomes a float32 scalar in torch
                isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) <= MAX_FLOAT
            ),
            "bool": lambda v: isinstance(v, bool),
            "any": lambda v: v is None or isinstance(v, (int, float)),
        }.get(kind, lambda v: False)
        if value is not REQUIRED and ok(value):
            return value
        want = {
            "int": "an int",
            "axis": "an int or a tuple of ints",
            "axes": "a tuple of ints",
            "number": f"a number within float32's range (|x| <= {MAX_FLOAT:.8g})",
            "bool": "True or False",
            "any": "a number, True, False or None",
        }[kind]
        hint = ""
        if value is None and kind == "axis":
            hint = "; None would include the batch axis (axis 0)"
        if fname in ("max", "min") and pname == "axis" and value is REQUIRED:
            hint = f"; for the elementwise {fname}imum of two tensors use {fname}imum(a, b)"
        raise self.fail(node, f"{fname}(): {pname} must be {want}, written as a constant{hint}")

    def activation(self, node: ast.Call, name: str, kwargs: dict[str, Any]) -> None:
        try:
            ACTIVATIONS.get(name)(**kwargs)
        except ValueError as exc:  # pydantic's ValidationError
            errors: list[dict[str, Any]] = getattr(exc, "errors", lambda: [])()
            detail = "; ".join(
                f"missing argument '{e['loc'][0]}'"
                if e["type"] == "missing"
                else f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in errors
            )
            raise self.fail(node, f"{name}(): {detail or exc}") from None
