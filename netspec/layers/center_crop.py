"""CenterCrop: the central (height, width) window of images (Keras's `CenterCrop`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, DataFormat, Shape, register_layer
from .resizing import ImageSize
from .spatial import DATA_FORMAT_DESCRIPTION


@register_layer
class CenterCrop(ImageSize):
    """Crops the central (height, width) window of images (Keras's `CenterCrop`): from row
    (H - height) // 2 and column (W - width) // 2. An image smaller than the window on either
    axis is instead resized as Keras's `smart_resize` does: the largest centred window of the
    target's aspect ratio, resized bilinearly (half-pixel centres) to (height, width). Output
    float32 (Keras casts the images to its compute dtype first)."""

    type: Literal["CenterCrop"] = "CenterCrop"
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)

    examples = (
        {"args": {"height": 2, "width": 3}, "inputs": [[4, 6, 2]]},
        {"args": {"height": 3, "width": 3}, "inputs": [[4, 5, 1]]},  # uneven: starts at 0, 1
        {"args": {"height": 2, "width": 4}, "inputs": [[2, 5, 3]], "data_format": "channels_first"},
        {"args": {"height": 6, "width": 4, "data_format": "channels_first"}, "inputs": [[2, 3, 8]]},
        {"args": {"height": 5, "width": 7}, "inputs": [[3, 4, 2]]},  # smaller: smart_resize
        {"args": {"height": 4, "width": 2}, "inputs": [[5, 3, 2]]},  # smaller on one axis
        {"args": {"height": 2, "width": 2}, "inputs": [[None, None, 3]]},
        {"args": {"height": 3, "width": 2}, "inputs": [[5, 4, 2]], "dtypes": ["uint8"]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.center_crop import CenterCropModule

        return CenterCropModule(self.height, self.width, not self.channels_first(ctx))
