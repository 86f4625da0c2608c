"""RandomCrop: a random (height, width) window of the images in training; at inference, the
largest centred window of the target's aspect ratio, resized to (height, width)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import Size
from .augmentation import ImageAugmentation, data_format_field, seed_field
from .base import Context, DataFormat, Shape, ShapeError, fmt_shape, register_layer


@register_layer
class RandomCrop(ImageAugmentation):
    """Crops images to (height, width) (Keras's `RandomCrop`). In training mode, when the
    input is larger than the target on both axes, one window at a random offset (uniform over
    the valid offsets), the same for every image of the batch, as Keras; otherwise Keras's
    training rule: the window of the target's size from the offset of the largest centred
    window of the target's aspect ratio, bilinearly resized to (height, width) where it comes
    out smaller. At inference, the largest centred window of the target's aspect ratio, resized
    bilinearly to (height, width) (what Keras documents and its output shape says, and what
    `Resizing(crop_to_aspect_ratio=True)` computes; Keras 3.15's call returns the input
    unchanged there). The input's height and width must be known."""

    type: Literal["RandomCrop"] = "RandomCrop"
    height: Size = Field(..., description="Height of the output. Required.")
    width: Size = Field(..., description="Width of the output. Required.")
    seed: int | None = seed_field()
    data_format: DataFormat | None = data_format_field()

    examples = (
        {"args": {"height": 3, "width": 2}, "inputs": [[5, 4, 3]]},
        {"args": {"height": 4, "width": 4, "seed": 2}, "inputs": [[2, 6, 6]]},
        {"args": {"height": 2, "width": 3}, "inputs": [[3, 4, 5]], "data_format": "channels_first"},
        {"args": {"height": 6, "width": 5}, "inputs": [[3, 4, None]]},
        {"args": {"height": 3, "width": 3}, "inputs": [[3, 3, 1]], "dtypes": ["int32"]},
    )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape = super().output_shape(shapes, ctx)
        first = self.channels_first(ctx)
        height, width = shape[1:] if first else shape[:2]
        if height is None or width is None:
            raise ShapeError(
                "RandomCrop requires the input to have a fully defined height and width, got "
                f"shape {fmt_shape(shape)}"
            )
        if first:
            return (shape[0], self.height, self.width)
        return (self.height, self.width, shape[2])

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_crop import RandomCropModule

        return RandomCropModule(self.height, self.width, self.channels_first(ctx), self.seed)
