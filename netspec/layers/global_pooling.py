"""Global pooling: GlobalMaxPooling1D/2D/3D and GlobalAveragePooling1D/2D/3D (Keras 3's
`BaseGlobalPooling`): max or mean over every spatial axis."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from .base import Context, DataFormat, Shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION, Spatial


class _GlobalPooling(Spatial):
    """(batch, *spatial, channels) -> (batch, channels); with keepdims, the spatial axes stay
    with size 1 (as Keras's `compute_output_shape`). Variable spatial sizes are fine."""

    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    keepdims: bool = Field(
        False, description="Keep the spatial axes, with size 1 (default: drop them)."
    )

    mode: ClassVar[str] = "max"

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        spatial, channels = self.split(shapes[0], ctx)
        if not self.keepdims:
            return (channels,)
        return self.join((1,) * len(spatial), channels, ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.global_pooling import GlobalPoolModule

        first = self.first_spatial_axis(ctx)
        dims = tuple(range(first, first + self.rank))
        return GlobalPoolModule(self.mode, dims, self.keepdims)


def _examples(rank: int) -> tuple[dict, ...]:
    spatial = [4, 3, 2][:rank]
    return (
        {"args": {}, "inputs": [[*spatial, 5]]},
        {"args": {"keepdims": True}, "inputs": [[*spatial, 5]]},
        {"args": {}, "inputs": [[5, *spatial]], "data_format": "channels_first"},
        {"args": {"data_format": "channels_first", "keepdims": True}, "inputs": [[5, *spatial]]},
        {"args": {}, "inputs": [[*[None] * rank, 3]]},
        {"args": {"keepdims": True}, "inputs": [[*spatial, 2]], "dtypes": ["int32"]},
    )


@register_layer
class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over the steps of (batch, steps, features) inputs (Keras's
    `GlobalMaxPooling1D`)."""

    type: Literal["GlobalMaxPooling1D", "GlobalMaxPool1D"] = "GlobalMaxPooling1D"
    rank = 1
    examples = _examples(1)


@register_layer
class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over the rows and columns of images (Keras's `GlobalMaxPooling2D`)."""

    type: Literal["GlobalMaxPooling2D", "GlobalMaxPool2D"] = "GlobalMaxPooling2D"
    examples = _examples(2)


@register_layer
class GlobalMaxPooling3D(_GlobalPooling):
    """Maximum over the three spatial axes of volumes (Keras's `GlobalMaxPooling3D`)."""

    type: Literal["GlobalMaxPooling3D", "GlobalMaxPool3D"] = "GlobalMaxPooling3D"
    rank = 3
    examples = _examples(3)


@register_layer
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps of (batch, steps, features) inputs (Keras's
    `GlobalAveragePooling1D`). A timestep mask (Embedding with mask_zero, Masking) is used as
    Keras uses it: the mean of the valid steps only (NaN for a sample without any, as Keras);
    the output carries no mask. With channels_first, a masked input is refused when called
    (Keras would broadcast the (batch, steps) mask against the last axis)."""

    type: Literal["GlobalAveragePooling1D", "GlobalAvgPool1D"] = "GlobalAveragePooling1D"
    rank = 1
    mode = "average"
    consumes_mask = True
    examples = _examples(1)


@register_layer
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over the rows and columns of images (Keras's `GlobalAveragePooling2D`)."""

    type: Literal["GlobalAveragePooling2D", "GlobalAvgPool2D"] = "GlobalAveragePooling2D"
    mode = "average"
    examples = _examples(2)


@register_layer
class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial axes of volumes (Keras's `GlobalAveragePooling3D`)."""

    type: Literal["GlobalAveragePooling3D", "GlobalAvgPool3D"] = "GlobalAveragePooling3D"
    rank = 3
    mode = "average"
    examples = _examples(3)
