"""RandomFlip: images flipped left-right and/or top-bottom at random, in training only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .augmentation import ImageAugmentation, data_format_field, seed_field
from .base import Context, DataFormat, Shape, register_layer


@register_layer
class RandomFlip(ImageAugmentation):
    """Flips each image of a batch with probability 1/2 in training mode (Keras's `RandomFlip`:
    one uniform draw per image, flipped where it is <= 0.5); the identity at inference. In
    `horizontal_and_vertical` mode the same draw flips both axes, as Keras 3 does: an image is
    either left as it is or turned by 180 degrees. Integer inputs come out as float32."""

    type: Literal["RandomFlip"] = "RandomFlip"
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = Field(
        "horizontal_and_vertical",
        description="horizontal (a left-right flip), vertical (a top-bottom flip) or "
        "horizontal_and_vertical (both, with one draw per image).",
    )
    seed: int | None = seed_field()
    data_format: DataFormat | None = data_format_field()

    examples = (
        {"args": {}, "inputs": [[4, 5, 3]]},
        {"args": {"mode": "horizontal", "seed": 1}, "inputs": [[None, 6, 2]]},
        {"args": {"mode": "vertical"}, "inputs": [[2, 4, 3]], "data_format": "channels_first"},
        {"args": {}, "inputs": [[3, 3, 1]], "dtypes": ["uint8"]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_flip import RandomFlipModule

        return RandomFlipModule(self.mode, self.channels_first(ctx), self.seed)
