"""What the wrappers (bidirectional.py: Bidirectional, a recurrent layer run both ways;
time_distributed.py: TimeDistributed, a layer applied to every timestep) share: their `layer`
is a nested layer spec, validated like a layer entry, whose errors are located inside it."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from ..registry import tagged_union
from .base import LAYERS, Context, Layer, Shape, ShapeError, Weight


class _AnyLayer:
    """Pydantic schema of a nested layer spec: the discriminated union of every registered
    layer type, built when the wrapper's schema is (`defer_build`, so after every layer and
    plugin has registered)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return handler.generate_schema(tagged_union(LAYERS))


NestedLayer = Annotated[Layer, _AnyLayer]


def _nested_error(exc: ShapeError, key: str, inner: Layer) -> ShapeError:
    """A nested layer's shape error, located inside the wrapper's `key`."""
    if exc.field is None:
        return ShapeError(f"{inner.type}: {exc}")
    field = exc.field if isinstance(exc.field, tuple) else (exc.field,)
    return ShapeError(str(exc), (key, *field))


def _check_nested(inner: Layer, key: str) -> None:
    for name in ("inputs", "input_shape"):
        if getattr(inner, name) is not None:
            raise ShapeError(
                f"a wrapped layer takes the wrapper's input: drop '{name}' here", (key, name)
            )
    refs = getattr(inner, "layer_refs", None)
    if refs is not None and refs():
        raise ShapeError(f"{inner.type} cannot be wrapped", (key, "type"))


def _inner_weights(inner: Layer, shapes: list[Shape], ctx: Context, key: str) -> list[Weight]:
    try:
        weights = inner.weights(shapes, ctx)
    except ShapeError as exc:
        raise _nested_error(exc, key, inner) from None
    if not inner.trainable:
        for w in weights:
            w.trainable = False
    return weights


def _build_inner(inner: Layer, shapes: list[Shape], ctx: Context):
    module = inner.build(shapes, replace(ctx, weights=None))  # not the wrapper's weights
    if not inner.trainable:
        module.requires_grad_(False)
    return module
