"""RandomRotation: each image rotated by a random angle about its centre, in training only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..vocab.bounds import Float32
from .augmentation import (
    FILL_MODE,
    FILL_VALUE,
    INTERPOLATION,
    FillMode,
    ImageAugmentation,
    Interpolation,
    Pair,
    data_format_field,
    seed_field,
)
from .base import Context, DataFormat, Shape, register_layer


@register_layer
class RandomRotation(ImageAugmentation):
    """Rotates each image by its own angle, drawn uniformly from [lower * 360, upper * 360]
    degrees, about the image's centre, in training mode (Keras's `RandomRotation`: Keras's
    affine transform, points outside the image filled by `fill_mode`); the identity at
    inference. A positive angle turns the image counter-clockwise. `factor: [0.25, 0.25]`
    turns every image by exactly 90 degrees."""

    type: Literal["RandomRotation"] = "RandomRotation"
    factor: Annotated[float, Field(ge=-1, le=1)] | Pair = Field(
        ...,
        description="The range of the rotation as a fraction of a full turn: a number f for "
        "[-|f|, |f|], in [-1, 1], or [lower, upper] (either order; Keras requires "
        "lower <= 1 and upper >= -1). Required.",
    )
    fill_mode: FillMode = Field("reflect", description=FILL_MODE)
    interpolation: Interpolation = Field("bilinear", description=INTERPOLATION)
    seed: int | None = seed_field()
    fill_value: Float32 = Field(0.0, description=FILL_VALUE)
    data_format: DataFormat | None = data_format_field()

    examples = (
        {"args": {"factor": 0.2}, "inputs": [[5, 4, 3]]},
        {
            "args": {"factor": [-0.1, 0.3], "fill_mode": "constant", "fill_value": 1.5},
            "inputs": [[None, None, 2]],
        },
        {
            "args": {"factor": 0.5, "interpolation": "nearest", "seed": 4},
            "inputs": [[2, 6, 5]],
            "data_format": "channels_first",
        },
        {"args": {"factor": [0.25, 0.25], "fill_mode": "wrap"}, "inputs": [[3, 3, 1]]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_rotation import RandomRotationModule

        return RandomRotationModule(
            self.keras_factor(),
            self.fill_mode,
            self.interpolation,
            self.fill_value,
            self.channels_first(ctx),
            self.seed,
        )
