"""RandomContrast: each image's contrast scaled by a random factor, in training only."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .augmentation import (
    VALUE_RANGE,
    ImageAugmentation,
    Pair,
    data_format_field,
    seed_field,
)
from .base import Context, DataFormat, Shape, register_layer


@register_layer
class RandomContrast(ImageAugmentation):
    """Adjusts the contrast of each image in training mode (Keras's `RandomContrast`): with c
    drawn uniformly from [1 - lower, 1 + upper] per image and m the mean of each channel of
    the image over height and width, every value x becomes `(x - m) * c + m`, clipped to
    value_range. The identity at inference. (lower, upper) is Keras 3's: a number f gives
    (0, f), so c is in [1, 1 + f] (Keras's docstring says [1 - f, 1 + f]; netspec does what
    Keras does); a pair is sorted, and [-0.5, 0.5] gives c = 1.5 exactly. Integer inputs come
    out as float32 in both modes (Keras 3.15 returns them unchanged, integer, at inference)."""

    type: Literal["RandomContrast"] = "RandomContrast"
    factor: Annotated[float, Field(ge=0, le=1)] | Pair = Field(
        ...,
        description="The contrast range: a number f in [0, 1] (c in [1, 1 + f], as Keras 3 "
        "computes it), or [lower, upper] (sorted; Keras requires lower <= 1 and upper >= 0) "
        "for c in [1 - lower, 1 + upper]. Required.",
    )
    value_range: Pair = Field(
        [0, 255],
        description=VALUE_RANGE + " Taken as written, as Keras takes it: not sorted (with a "
        "reversed range every value becomes its second number, as torch.clip gives).",
    )
    seed: int | None = seed_field()
    data_format: DataFormat | None = data_format_field()

    factor_bounds: ClassVar[tuple[float, float]] = (0.0, 1.0)  # Keras's _FACTOR_BOUNDS
    examples = (
        {"args": {"factor": 0.5}, "inputs": [[5, 4, 3]]},
        {"args": {"factor": [0.2, 0.4], "value_range": [0, 1], "seed": 5}, "inputs": [[4, 4, 2]]},
        {"args": {"factor": 0.1}, "inputs": [[3, None, 4]], "data_format": "channels_first"},
        {"args": {"factor": 0.3}, "inputs": [[2, 2, 3]], "dtypes": ["uint8"]},
    )

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.random_contrast import RandomContrastModule

        low, high = self.value_range  # a Pair: two entries
        return RandomContrastModule(
            self.keras_factor(), (low, high), self.channels_first(ctx), self.seed
        )
