"""RandomTranslation: each image shifted by random fractions of its size, in training only."""

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
    data_format_field,
    seed_field,
    symmetric_range,
)
from .base import Context, DataFormat, Shape, register_layer

# Keras's RandomTranslation._check_factor_range: each number in [-1, 1].
ShiftFactor = Annotated[float, Field(ge=-1, le=1)]
ShiftRange = ShiftFactor | Annotated[list[ShiftFactor], Field(min_length=2, max_length=2)]


@register_layer
class RandomTranslation(ImageAugmentation):
    """Shifts each image by its own offsets in training mode (Keras's `RandomTranslation`):
    dy = height * a uniform draw from the height_factor range, dx = width * one from the
    width_factor range, and the output pixel (x, y) samples the input at (x - dx, y - dy)
    (positive values shift the content down and right); Keras's affine transform, points
    outside the image filled by `fill_mode`. The identity at inference."""

    type: Literal["RandomTranslation"] = "RandomTranslation"
    height_factor: ShiftRange = Field(
        ...,
        description="The vertical shift range as a fraction of the height: a number f for "
        "[-|f|, |f|] or [lower, upper] (either order), each in [-1, 1]. Required.",
    )
    width_factor: ShiftRange = Field(
        ...,
        description="The horizontal shift range as a fraction of the width, as "
        "height_factor. Required.",
    )
    fill_mode: FillMode = Field("reflect", description=FILL_MODE)
    interpolation: Interpolation = Field("bilinear", description=INTERPOLATION)
    seed: int | None = seed_field()
    fill_value: Float32 = Field(0.0, description=FILL_VALUE)
    data_format: DataFormat | None = data_format_field()

    examples = (
        {"args": {"height_factor": 0.2, "width_factor": 0.3}, "inputs": [[5, 4, 3]]},
        {
            "args": {"height_factor": [-0.5, 0.1], "width_factor": 0, "fill_mode": "wrap"},
            "inputs": [[None, 6, 2]],
        },
        {
            "args": {
                "height_factor": 1,
                "width_factor": [0.2, -0.2],
                "fill_mode": "nearest",
                "interpolation": "nearest",
                "seed": 7,
            },
            "inputs": [[2, 4, 5]],
            "data_format": "channels_first",
        },
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_translation import RandomTranslationModule

        return RandomTranslationModule(
            symmetric_range(self.height_factor),
            symmetric_range(self.width_factor),
            self.fill_mode,
            self.interpolation,
            self.fill_value,
            self.channels_first(ctx),
            self.seed,
        )
