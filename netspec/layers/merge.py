"""Elementwise merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum."""

from __future__ import annotations

from typing import ClassVar, Literal

from .base import Context, Layer, Shape, ShapeError, fmt_shape, register_layer


class _Merge(Layer):
    """Base of the layers that merge several inputs (Keras's `Merge`).

    The elementwise rule is Keras's: non-batch shapes are aligned on their last axes (an input
    of lower rank gets size-1 axes after its batch axis, as Keras's `expand_dims(x, 1)`), a
    size-1 axis broadcasts, a variable (None) axis gives None, other sizes must be equal.
    """

    arity: ClassVar[tuple[int, int | None]] = (2, None)
    op: ClassVar[str] = ""  # the torch merge op (netspec.torch.merge.ElementwiseModule)
    mask_inputs: ClassVar[bool] = True

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        out = shapes[0]
        for k, shape in enumerate(shapes[1:], start=1):
            try:
                out = _broadcast(out, shape)
            except ValueError:
                seen = ", ".join(f"inputs[{j}] {fmt_shape(s)}" for j, s in enumerate(shapes[:k]))
                raise ShapeError(
                    f"inputs[{k}] {fmt_shape(shape)} does not broadcast with {seen}: "
                    "sizes must be equal, or 1 to broadcast"
                ) from None
        return out

    def merged_mask(self, masks: list[str | None], shapes: list[Shape], name: str) -> str | None:
        """Keras's Merge.compute_mask: no mask unless every input has one, then their OR (the
        values are merged ignoring the masks)."""
        if any(m is None for m in masks):
            return None
        if len({len(s) for s in shapes}) > 1:
            raise ShapeError(
                f"{self.type} ORs its inputs' masks (Keras), which need inputs of one rank, got "
                + ", ".join(fmt_shape(s) for s in shapes)
            )
        return masks[0] if len(set(masks)) == 1 else name

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.merge import ElementwiseModule

        return ElementwiseModule(self.op, [len(s) for s in shapes])


def _broadcast(a: Shape, b: Shape) -> Shape:
    """Keras's `_compute_elemwise_op_output_shape` (shapes without the batch axis)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return a
    out = list(a[: len(a) - len(b)])
    for i, j in zip(a[len(a) - len(b) :], b, strict=True):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ValueError(f"incompatible sizes {i} and {j}")
        else:
            out.append(i)
    return tuple(out)


_EXAMPLES = (
    {"args": {}, "inputs": [[4], [4]]},
    {"args": {}, "inputs": [[2, 3], [2, 3], [2, 3]]},
    {"args": {}, "inputs": [[3, 1], [1, 4]]},
    {"args": {}, "inputs": [[None, 3], [None, 3]]},
    {"args": {}, "inputs": [[None, 3], [1, 3]]},
    {"args": {}, "inputs": [[2, 3, 4], [4]]},
)


@register_layer
class Add(_Merge):
    """Elementwise sum of its inputs (Keras's `Add`); shapes broadcast as Keras's merge rule."""

    type: Literal["Add"] = "Add"
    op = "add"
    examples = _EXAMPLES


@register_layer
class Subtract(_Merge):
    """`inputs[0] - inputs[1]`, exactly two inputs (Keras's `Subtract`)."""

    type: Literal["Subtract"] = "Subtract"
    arity = (2, 2)
    op = "subtract"
    examples = tuple(e for e in _EXAMPLES if len(e["inputs"]) == 2)


@register_layer
class Multiply(_Merge):
    """Elementwise product of its inputs (Keras's `Multiply`)."""

    type: Literal["Multiply"] = "Multiply"
    op = "multiply"
    examples = _EXAMPLES


@register_layer
class Average(_Merge):
    """Elementwise mean of its inputs (Keras's `Average`: their sum divided by their number)."""

    type: Literal["Average"] = "Average"
    op = "average"
    examples = _EXAMPLES


@register_layer
class Maximum(_Merge):
    """Elementwise maximum of its inputs (Keras's `Maximum`)."""

    type: Literal["Maximum"] = "Maximum"
    op = "maximum"
    examples = _EXAMPLES


@register_layer
class Minimum(_Merge):
    """Elementwise minimum of its inputs (Keras's `Minimum`)."""

    type: Literal["Minimum"] = "Minimum"
    op = "minimum"
    examples = _EXAMPLES
