"""Lambda: an expression over the layer's inputs, in a small whitelisted language (never code).

Keras's Lambda wraps a Python function; a spec cannot carry code, so here the function is an
expression (`tanh(x) * sigmoid(x)`, `mean(a * b, axis=1)`) parsed and checked by `netspec.expr`
during validation, shape-inferred statically, and compiled into a torch closure at build time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from .. import expr
from ..vocab.bounds import Size
from .base import Context, Layer, Shape, ShapeError, fmt_shape, register_layer

Dim = Size | None


@register_layer
class Lambda(Layer):
    """An expression over the inputs, e.g. `x * 2 + 1`, `tanh(x) * sigmoid(x)`,
    `mean(x, axis=1)`, or with `inputs: [a, b]`: `a * b + 1`. Names: `x` (single input), `x0`,
    `x1`, ... by position, and the plain-identifier entries of `inputs`. Operators + - * / // %
    ** and whitelisted functions (elementwise math, Keras activations, maximum/minimum/pow,
    clip, reductions with axis=, softmax, l2_normalize, expand_dims, squeeze, transpose); axes
    count the batch axis as 0, which may not be reduced. Keras's Lambda takes Python code
    instead, so this layer has no Keras counterpart."""

    model_config = ConfigDict(serialize_by_alias=True)  # dumps write `output_shape`

    type: Literal["Lambda"] = "Lambda"
    expression: str = Field(
        ...,
        description="The expression (see the Lambda layer's docs for the language); "
        "validated without running anything.",
    )
    declared_shape: list[Dim] | None = Field(
        None,
        alias="output_shape",
        description="Expected output shape without the batch axis "
        "(Keras's argument); must agree with the inferred shape (null matches any size).",
    )
    drops_mask: bool = Field(
        False,
        description="true: the masks of masked inputs stop here, as Keras drops them at a "
        "keras.ops call of functional code (`netspec import` writes it there); false: a mask "
        "reaching this layer is an error, so a mask never silently stops mattering.",
    )

    arity = (1, None)
    keras_parity = False

    def ends_masks(self) -> bool:
        return self.drops_mask

    examples = (
        {"args": {"expression": "x * 2 + 1"}, "inputs": [[3]]},
        {"args": {"expression": "tanh(x) * sigmoid(x)"}, "inputs": [[4, 5]]},
        {"args": {"expression": "mean(x, axis=1)"}, "inputs": [[6, 3]]},
        {"args": {"expression": "x0 * x1 + 1"}, "inputs": [[2, 3], [2, 1]]},
        {
            "args": {"expression": "softmax(x, axis=1) - logsumexp(x, axis=-1, keepdims=True)"},
            "inputs": [[None, 4]],
        },
        {
            "args": {"expression": "expand_dims(x, axis=1) ** 2", "output_shape": [1, 5]},
            "inputs": [[5]],
        },
        {"args": {"expression": "x / 2 - x // 3"}, "inputs": [[3]], "dtypes": ["int32"]},
    )

    @field_validator("expression")
    @classmethod
    def _parse(cls, text: str, info: ValidationInfo) -> str:
        known = "inputs" in info.data  # absent when `inputs` itself is invalid
        expr.parse(text, info.data.get("inputs"), lenient=not known)
        return text

    def tree(self) -> expr.Node:
        """The validated expression tree (cached by `netspec.expr.parse`)."""
        return expr.parse(self.expression, self.inputs)

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        try:
            full = expr.infer(self.tree(), [(None, *s) for s in shapes])
        except expr.ExprError as exc:
            raise ShapeError(str(exc), "expression") from None
        shape = tuple(full[1:])
        declared = self.declared_shape
        if declared is not None:
            agree = len(declared) == len(shape) and all(
                d is None or d == s for d, s in zip(declared, shape, strict=False)
            )
            if not agree:
                raise ShapeError(
                    f"output_shape {fmt_shape(tuple(declared))} does not match the "
                    f"expression's output shape {fmt_shape(shape)}",
                    "output_shape",
                )
        return shape

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.lambda_layer import LambdaModule

        return LambdaModule(self.expression, self.tree(), [(None, *s) for s in shapes])
