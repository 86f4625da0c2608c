"""GroupNormalization: normalizes groups of channels of each sample (Wu and He, 2018)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab.bounds import FLOAT32_MAX
from .base import Context, Shape, ShapeError, Weight, register_layer
from .normalization import EPSILON, _Affine, axis_indices, known_sizes


@register_layer
class GroupNormalization(_Affine):
    """Splits the channels on `axis` into `groups` groups and normalizes each group of each
    sample over its channels and every other axis (Keras's `GroupNormalization`, Wu and He
    2018); gamma and beta have one value per channel. `groups: -1` is instance normalization
    (one group per channel)."""

    type: Literal["GroupNormalization"] = "GroupNormalization"
    propagates_mask = True  # Keras's supports_masking: the mask passes through
    groups: int = Field(
        32, description="Number of groups; must divide the channels. -1: one per channel."
    )
    axis: int = Field(-1, description="The channel axis (batch axis = 0).")
    epsilon: float = Field(1e-3, gt=0, le=FLOAT32_MAX, description=EPSILON)

    examples = (
        {"args": {"groups": 2}, "inputs": [[6]]},
        {"args": {"groups": 4}, "inputs": [[None, 8]]},
        {"args": {"groups": 2, "axis": 1}, "inputs": [[4, 3, 5]], "data_format": "channels_first"},
        {"args": {"groups": -1, "epsilon": 1e-5}, "inputs": [[3, 2, 3]]},
        {"args": {"groups": 3, "axis": -2, "center": False}, "inputs": [[2, 6, 4]]},
    )

    def channels(self, shape: Shape) -> tuple[int, int]:
        """(channels, groups), checked."""
        if self.groups == 0 or self.groups < -1:
            raise ShapeError(f"groups must be positive or -1, got {self.groups}", "groups")
        axis = axis_indices(self.axis, shape)
        (dim,) = known_sizes(axis, shape, "GroupNormalization")
        groups = dim if self.groups == -1 else self.groups
        if dim % groups:
            raise ShapeError(
                f"groups ({groups}) must divide the {dim} channels on axis {self.axis}", "groups"
            )
        return dim, groups

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        self.channels(shapes[0])
        return shapes[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return self.gamma_beta((self.channels(shapes[0])[0],))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.group_normalization import GroupNormModule

        axis = axis_indices(self.axis, shapes[0])[0]
        return GroupNormModule(
            self, self.graph_weights(shapes, ctx), ctx, self.channels(shapes[0]), axis
        )
