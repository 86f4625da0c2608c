"""RandomZoom: each image zoomed in or out by random factors about its centre, in training."""

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

# Keras's RandomZoom._check_factor_range: each number in (-1, 1].
ZoomFactor = Annotated[float, Field(gt=-1, le=1)]
ZoomRange = ZoomFactor | Annotated[list[ZoomFactor], Field(min_length=2, max_length=2)]


@register_layer
class RandomZoom(ImageAugmentation):
    """Zooms each image by its own factors in training mode (Keras's `RandomZoom`): the output
    pixel (x, y) samples the input at `zx * x + (width - 1) / 2 * (1 - zx)` (and likewise in
    y), with zy = 1 + a uniform draw from the height_factor range and zx = 1 + one from the
    width_factor range (the same as zy when width_factor is null); Keras's affine transform,
    points outside the image filled by `fill_mode`. A positive factor zooms out, a negative one
    in. The identity at inference."""

    type: Literal["RandomZoom"] = "RandomZoom"
    height_factor: ZoomRange = Field(
        ...,
        description="The vertical zoom range: a number f for [-|f|, |f|] or [lower, upper] "
        "(either order), each in (-1, 1]; positive values zoom out (0.2: up to 20% smaller "
        "content), negative values in. Required.",
    )
    width_factor: ZoomRange | None = Field(
        None,
        description="The horizontal zoom range, as height_factor; null: the vertical factor "
        "of each image, which keeps its aspect ratio.",
    )
    fill_mode: FillMode = Field("reflect", description=FILL_MODE)
    interpolation: Interpolation = Field("bilinear", description=INTERPOLATION)
    seed: int | None = seed_field()
    fill_value: Float32 = Field(0.0, description=FILL_VALUE)
    data_format: DataFormat | None = data_format_field()

    examples = (
        {"args": {"height_factor": 0.2}, "inputs": [[5, 4, 3]]},
        {
            "args": {"height_factor": [-0.3, -0.1], "width_factor": 0.5, "seed": 3},
            "inputs": [[None, 6, 2]],
        },
        {
            "args": {"height_factor": 0.4, "fill_mode": "constant", "interpolation": "nearest"},
            "inputs": [[2, 5, 5]],
            "data_format": "channels_first",
        },
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_zoom import RandomZoomModule

        width = None if self.width_factor is None else symmetric_range(self.width_factor)
        return RandomZoomModule(
            symmetric_range(self.height_factor),
            width,
            self.fill_mode,
            self.interpolation,
            self.fill_value,
            self.channels_first(ctx),
            self.seed,
        )
