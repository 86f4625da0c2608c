"""Shared by the image-augmentation layers (RandomFlip, RandomCrop, RandomRotation, RandomZoom,
RandomTranslation, RandomContrast, RandomBrightness; Keras 3's
`keras.layers.preprocessing.image_preprocessing`): their common fields, factor forms and rules.

Every one takes a batch of images, rank 4 with the batch axis ((batch, height, width, channels)
channels_last); Keras also takes a single unbatched image (rank 3), which a model's tensors,
always batched, cannot be. They are active in training only (`module.train()`), draw their
random values (per image, as Keras; RandomCrop one window per batch) from torch's global
generator, or from the layer's own when `seed` is set, and output float32, as Keras's layers
declare.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from ..vocab.bounds import SEED_END, Float32
from .base import Context, DataFormat, Layer, Shape, need_rank

FillMode = Literal["reflect", "wrap", "constant", "nearest"]
Interpolation = Literal["nearest", "bilinear"]
Pair = Annotated[list[Float32], Field(min_length=2, max_length=2)]

SEED = (
    "Seed of this layer's own random stream (the same augmentations on every build with this "
    "seed); default: torch's global generator."
)
DATA_FORMAT = (
    "Layout of the images: channels_last (batch, height, width, channels) or channels_first "
    "(batch, channels, height, width). Default: the spec's data_format."
)
FILL_MODE = (
    "How points outside the image are filled (Keras's `fill_mode`): reflect "
    "(d c b a | a b c d | d c b a, about the edge of the last pixel), wrap "
    "(a b c d | a b c d | a b c d), constant (k k k k | a b c d | k k k k, k = fill_value) or "
    "nearest (a a a a | a b c d | d d d d)."
)
INTERPOLATION = "How output pixels are sampled: bilinear or nearest."
FILL_VALUE = "The value of points outside the image when fill_mode is constant."
VALUE_RANGE = (
    "[low, high]: the range of the images' values (typically [0, 1] or [0, 255]); outputs are "
    "clipped to it."
)


def seed_field() -> Any:
    return Field(None, ge=0, lt=SEED_END, description=SEED)


def data_format_field() -> Any:
    return Field(None, description=DATA_FORMAT)


def symmetric_range(factor: float | list[float]) -> tuple[float, float]:
    """Keras's (lower, upper) of a zoom or translation factor: a number f is (-|f|, |f|), a
    pair is sorted."""
    if isinstance(factor, list):
        low, high = sorted(factor)
        return low, high
    return -abs(factor), abs(factor)


class ImageAugmentation(Layer):
    """A random transformation of a batch of images, in training mode only."""

    # Keras's BaseImagePreprocessingLayer._FACTOR_BOUNDS, for layers with a `factor` argument.
    factor_bounds: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    @field_validator("factor", check_fields=False)
    @classmethod
    def _keras_factor_pair(cls, value: Any) -> Any:
        """Keras's `_set_factor` check of a pair: only factor[0] <= upper bound and factor[1]
        >= lower bound (a number is bounded by the field; a pair's other ends are free, as
        Keras lets them be)."""
        low, high = cls.factor_bounds
        if isinstance(value, list) and (value[0] > high or value[1] < low):
            raise ValueError(
                "should be a number (or a list of two numbers) in the range "
                f"[{low:g}, {high:g}]: Keras requires factor[0] <= {high:g} and "
                f"factor[1] >= {low:g} (got {value})"
            )
        return value

    def keras_factor(self) -> tuple[float, float]:
        """Keras's `self.factor` (lower, upper): a number f is (max(-|f|, lower bound), |f|),
        a pair is sorted."""
        factor = self.factor  # type: ignore[attr-defined]
        if isinstance(factor, list):
            low, high = sorted(factor)
            return low, high
        return max(-abs(factor), self.factor_bounds[0]), abs(factor)

    def channels_first(self, ctx: Context) -> bool:
        fmt: DataFormat | None = getattr(self, "data_format", None)
        return (fmt or ctx.data_format) == "channels_first"

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        need_rank(shapes[0], 4, "image batch")
        return shapes[0]
