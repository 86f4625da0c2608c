"""Dropout: zeroes a random fraction of the input while training, identity at inference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import SEED_END, Size
from .base import Context, Layer, Shape, ShapeError, fmt_shape, register_layer

PositiveDim = Size


@register_layer
class Dropout(Layer):
    """Randomly sets input units to 0 with probability `rate` in training mode and scales the
    others by `1 / (1 - rate)`, so sums are unchanged in expectation; identity in inference
    mode (Keras's `Dropout`; torch's `module.train()` / `module.eval()` pick the mode)."""

    type: Literal["Dropout"] = "Dropout"
    rate: float = Field(
        ..., ge=0, lt=1, description="Fraction of the input units to drop, in [0, 1)."
    )
    noise_shape: list[PositiveDim | None] | None = Field(
        None,
        description="Shape of the binary mask, batch axis included, broadcast against the "
        "input (as Keras): one entry per input axis, each None (that axis's size), 1 (the same "
        "mask along that axis) or the axis's size; `[null, 1, null]` drops the same features at "
        "every timestep of a (batch, timesteps, features) input. Default: the input's shape.",
    )
    seed: int | None = Field(
        None,
        ge=0,
        lt=SEED_END,
        description="Seed of this layer's own random stream "
        "(reproducible masks); default: torch's global generator.",
    )

    propagates_mask = True  # Keras's supports_masking: the mask passes through
    keeps_dtype = True
    examples = (
        {"args": {"rate": 0.5}, "inputs": [[8]]},
        {"args": {"rate": 0.2, "seed": 3}, "inputs": [[None, 6]]},
        {"args": {"rate": 0.3, "noise_shape": [None, 1, 4]}, "inputs": [[5, 4]]},
        {"args": {"rate": 0.0}, "inputs": [[2, 3, 4]], "dtypes": ["float64"]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return noise_shape_rule(self.noise_shape, shapes[0])

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.dropout import DropoutModule

        return DropoutModule(self.rate, self.noise_shape, self.seed)


def noise_shape_rule(noise: list[int | None] | None, shape: Shape) -> Shape:
    """The input's shape, unchanged, once `noise_shape` (batch axis included) fits it: each
    entry None, 1 or the input's size (Keras's Dropout and AlphaDropout)."""
    if noise is None:
        return shape
    if len(noise) != len(shape) + 1:
        raise ShapeError(
            f"noise_shape has {len(noise)} entries but the input "
            f"{fmt_shape(shape)} has rank {len(shape) + 1} (noise_shape includes "
            "the batch axis)",
            "noise_shape",
        )
    for axis, (n, d) in enumerate(zip(noise[1:], shape, strict=True), start=1):
        if n is not None and n != 1 and d is not None and n != d:
            raise ShapeError(
                f"noise_shape[{axis}] is {n}: it must be null, 1 or the input's "
                f"size {d} on axis {axis} (input {fmt_shape(shape)})",
                "noise_shape",
            )
    return shape
