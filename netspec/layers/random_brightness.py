"""RandomBrightness: a random offset added to each image, in training only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .augmentation import VALUE_RANGE, ImageAugmentation, Pair, seed_field
from .base import Context, Shape, register_layer


@register_layer
class RandomBrightness(ImageAugmentation):
    """Adds to every value of each image the same offset, drawn uniformly from
    [lower, upper] * (high - low) per image, then clips to [low, high] = value_range, in
    training mode (Keras's `RandomBrightness`); the identity at inference. Integer inputs are
    computed in float32 (Keras 3.15 casts the offset to the input's integer dtype, truncating
    it, and leaves integers integers)."""

    type: Literal["RandomBrightness"] = "RandomBrightness"
    factor: Annotated[float, Field(ge=-1, le=1)] | Pair = Field(
        ...,
        description="The offset range as a fraction of value_range's width: a number f in "
        "[-1, 1] for [-|f|, |f|], or [lower, upper] (sorted; Keras requires lower <= 1 and "
        "upper >= -1); [0.2, 0.2] adds exactly 0.2 * (high - low). Required.",
    )
    value_range: Pair = Field([0, 255], description=VALUE_RANGE + " Sorted, as Keras does.")
    seed: int | None = seed_field()

    examples = (
        {"args": {"factor": 0.2}, "inputs": [[5, 4, 3]]},
        {"args": {"factor": [-0.5, 0.1], "value_range": [0, 1], "seed": 6}, "inputs": [[4, 4, 2]]},
        {"args": {"factor": 1}, "inputs": [[None, 3, 1]], "dtypes": ["int32"]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_brightness import RandomBrightnessModule

        low, high = sorted(self.value_range)
        return RandomBrightnessModule(self.keras_factor(), (low, high), self.seed)
