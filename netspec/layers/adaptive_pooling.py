"""Adaptive pooling: AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D (Keras
3.15's `BaseAdaptivePooling`): pools to a fixed spatial size whatever the input's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from ..vocab.bounds import Size
from .base import Context, DataFormat, Shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, Spatial, as_tuple

OUTPUT_SIZE = "Spatial size of the output: an int (every spatial axis) or one int per spatial axis."
# An int or exactly one int per spatial axis, as Keras's constructors take it (the length is
# in the type, so the JSON Schema says it too).
Size1 = Size | Annotated[list[Size], Field(min_length=1, max_length=1)]
Size2 = Size | Annotated[list[Size], Field(min_length=2, max_length=2)]
Size3 = Size | Annotated[list[Size], Field(min_length=3, max_length=3)]


class _AdaptivePooling(Spatial):
    """Max or mean over windows that tile the input into `output_size` cells per spatial axis:
    output cell i of an axis of size n covers [floor(i * n / out), ceil((i + 1) * n / out)),
    as torch's adaptive pooling that Keras's torch backend calls (windows overlap when n is
    not a multiple of out, and repeat elements when out > n). Integer inputs are pooled in
    float32 (Keras's torch backend refuses them)."""

    mode: ClassVar[str] = "max"
    if TYPE_CHECKING:  # each subclass's own field (its length is in its type)
        output_size: Size | list[Size]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        _, channels = self.split(shapes[0], ctx)  # checks the rank
        return self.join(as_tuple(self.output_size, self.rank), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.adaptive_pooling import AdaptivePoolModule

        size = as_tuple(self.output_size, self.rank)
        return AdaptivePoolModule(self.mode, size, not self.channels_first(ctx))


def _examples(rank: int) -> tuple[dict, ...]:
    """Examples of an adaptive pooling layer of `rank` spatial axes."""

    def shape(*spatial, channels=3):
        return [*spatial[:rank], channels]

    cf = "channels_first"
    return (
        {"args": {"output_size": 2}, "inputs": [shape(4, 6, 4)]},
        {"args": {"output_size": [3, 2, 2][:rank]}, "inputs": [shape(7, 5, 3)]},
        {"args": {"output_size": 3}, "inputs": [shape(5, 4, 3, channels=2)]},
        {"args": {"output_size": [5, 4, 3][:rank]}, "inputs": [shape(3, 2, 2)]},  # out > in
        {"args": {"output_size": 1}, "inputs": [shape(None, 3, None)]},
        {"args": {"output_size": 2}, "inputs": [[2, *shape(5, 6, 3)[:rank]]], "data_format": cf},
        {
            "args": {"output_size": [2, 3, 1][:rank], "data_format": cf},
            "inputs": [[4, *shape(6, 7, 2)[:rank]]],
        },
        {
            "args": {"output_size": 2},
            "inputs": [shape(4, 4, 4)],
            "dtypes": ["int32"],
            "keras_parity": False,
        },
    )


@register_layer
class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Adaptive average pooling of the steps of (batch, steps, features) inputs to
    `output_size` steps (Keras's `AdaptiveAveragePooling1D`)."""

    type: Literal["AdaptiveAveragePooling1D"] = "AdaptiveAveragePooling1D"
    output_size: Size1 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 1
    mode = "average"
    examples = _examples(1)


@register_layer
class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Adaptive average pooling of images to `output_size` rows and columns (Keras's
    `AdaptiveAveragePooling2D`)."""

    type: Literal["AdaptiveAveragePooling2D"] = "AdaptiveAveragePooling2D"
    output_size: Size2 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    mode = "average"
    examples = _examples(2)


@register_layer
class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Adaptive average pooling of volumes to `output_size` cells on each of the three spatial
    axes (Keras's `AdaptiveAveragePooling3D`)."""

    type: Literal["AdaptiveAveragePooling3D"] = "AdaptiveAveragePooling3D"
    output_size: Size3 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 3
    mode = "average"
    examples = _examples(3)


@register_layer
class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Adaptive max pooling of the steps of (batch, steps, features) inputs to `output_size`
    steps (Keras's `AdaptiveMaxPooling1D`)."""

    type: Literal["AdaptiveMaxPooling1D"] = "AdaptiveMaxPooling1D"
    output_size: Size1 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 1
    examples = _examples(1)


@register_layer
class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Adaptive max pooling of images to `output_size` rows and columns (Keras's
    `AdaptiveMaxPooling2D`)."""

    type: Literal["AdaptiveMaxPooling2D"] = "AdaptiveMaxPooling2D"
    output_size: Size2 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    examples = _examples(2)


@register_layer
class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Adaptive max pooling of volumes to `output_size` cells on each of the three spatial axes
    (Keras's `AdaptiveMaxPooling3D`)."""

    type: Literal["AdaptiveMaxPooling3D"] = "AdaptiveMaxPooling3D"
    output_size: Size3 = Field(..., description=OUTPUT_SIZE)
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    rank = 3
    examples = _examples(3)
