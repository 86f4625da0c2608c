"""The whitelist of the Lambda language: its functions (`FUNCTIONS`) and operators.

Each `Function` lists its tensor parameters, then its constant ones with their kind and
default (`REQUIRED`: none). Activations are Keras's (`ACTIVATIONS`): their constant parameters
are the activation class's own fields, validated by that class.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from ..vocab.activations import ACTIVATIONS

REQUIRED = ...


@dataclass(frozen=True)
class Function:
    """A whitelisted function: tensor parameters, then constant ones (name, kind, default)."""

    kind: str  # unary | binary | clip | reduce | activation | l2_normalize | expand_dims | ...
    tensors: tuple[str, ...] = ("x",)
    consts: tuple[tuple[str, str, Any], ...] = ()

    def names(self) -> list[str]:
        """All parameter names, in positional order."""
        return [*self.tensors, *(c[0] for c in self.consts)]


UNARY = (
    "abs",
    "exp",
    "expm1",
    "log",
    "log1p",
    "log2",
    "log10",
    "sqrt",
    "rsqrt",
    "square",
    "reciprocal",
    "negative",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "arcsinh",
    "arctanh",
    "sign",
    "floor",
    "ceil",
    "round",
    "erf",
)
REDUCE = ("sum", "mean", "max", "min", "prod", "std", "var", "logsumexp")
_AXIS_REQUIRED = ("axis", "axis", REQUIRED)


def _functions() -> dict[str, Function]:
    """The whitelist: name -> `Function`."""
    table = {name: Function("unary") for name in UNARY}
    for name in ACTIVATIONS.names():  # relu, sigmoid, softmax, gelu, ...: Keras's activations
        cls = ACTIVATIONS.get(name)
        table[name] = Function(
            "activation",
            consts=tuple((f, "any", REQUIRED) for f in cls.model_fields if f != "type"),
        )
    for name in ("maximum", "minimum", "pow", "power"):
        table[name] = Function("binary", ("x1", "x2"))
    table["clip"] = Function(
        "clip", consts=(("x_min", "number", REQUIRED), ("x_max", "number", REQUIRED))
    )
    for name in REDUCE:
        table[name] = Function("reduce", consts=(_AXIS_REQUIRED, ("keepdims", "bool", False)))
    table["l2_normalize"] = Function(
        "l2_normalize", consts=(("axis", "axis", -1), ("epsilon", "number", 1e-12))
    )
    table["expand_dims"] = Function("expand_dims", consts=(("axis", "int", REQUIRED),))
    table["squeeze"] = Function("squeeze", consts=(_AXIS_REQUIRED,))
    table["transpose"] = Function("transpose", consts=(("axes", "axes", REQUIRED),))
    return table


FUNCTIONS = _functions()

BINARY_OPS = {  # the operators; they apply to numbers and torch tensors alike
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
