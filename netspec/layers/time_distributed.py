"""TimeDistributed: a layer applied to every timestep of its input."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape, register_layer
from .wrappers import NestedLayer, _build_inner, _check_nested, _inner_weights, _nested_error


@register_layer
class TimeDistributed(Layer):
    """Applies a layer to every timestep of its input (Keras's `TimeDistributed`): an input
    (batch, timesteps, ...) goes through `layer` as (batch * timesteps, ...), one set of
    weights for every step, and comes back as (batch, timesteps, ...). A mask on the input
    passes through when the wrapped layer keeps the timesteps (see docs/spec-format.md)."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["TimeDistributed"] = "TimeDistributed"
    layer: NestedLayer = Field(
        ...,
        description="The layer spec applied to each timestep; it sees inputs without the "
        "timesteps axis (a Dense on (batch, timesteps, features) sees (batch, features)).",
    )

    examples = (
        {"args": {"layer": {"type": "Dense", "units": 3}}, "inputs": [[5, 4]]},
        {
            "args": {"layer": {"type": "Dense", "units": 2, "activation": "relu"}},
            "inputs": [[None, 3, 4]],
        },
        {"args": {"layer": {"type": "Flatten"}}, "inputs": [[3, 2, 4]]},
        {"args": {"layer": {"type": "Dropout", "rate": 0.5}}, "inputs": [[4, 3]]},
        {
            "args": {"layer": {"type": "Embedding", "input_dim": 10, "output_dim": 2}},
            "inputs": [[3, 4]],
            "dtypes": ["int64"],
        },
        {
            "args": {"layer": {"type": "LSTM", "units": 2}},
            "inputs": [[3, 4, 5]],
        },
    )

    @property
    def keeps_dtype(self) -> bool:  # type: ignore[override]
        return self.layer.keeps_dtype

    @property
    def propagates_mask(self) -> bool:  # type: ignore[override]
        return not (self.layer.consumes_mask or self.layer.produces_mask())

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        inner = self.layer
        _check_nested(inner, "layer")
        shape = shapes[0]
        if len(shape) < 2:
            raise ShapeError(
                "expects an input of rank >= 3 (batch, timesteps, ...), got shape "
                f"{fmt_shape(shape)}"
            )
        if inner.arity[0] > 1:
            raise ShapeError(f"{inner.type} takes several inputs: it cannot be wrapped", "layer")
        if inner.produces_mask():
            raise ShapeError(
                f"the mask {inner.type} would make inside TimeDistributed is not carried "
                "(Keras drops it too): make the mask outside the wrapper",
                "layer",
            )
        try:
            out = inner.output_shape([shape[1:]], ctx)
        except ShapeError as exc:
            raise _nested_error(exc, "layer", inner) from None
        if isinstance(out, list):
            raise ShapeError(
                f"{inner.type} here has {len(out)} outputs; TimeDistributed takes a layer with one",
                "layer",
            )
        return (shape[0], *out)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return _inner_weights(self.layer, [shapes[0][1:]], ctx, "layer")

    def activity_regularizer_spec(self):
        return self.layer.activity_regularizer_spec()

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.time_distributed import TimeDistributedModule

        return TimeDistributedModule(_build_inner(self.layer, [shapes[0][1:]], ctx))
