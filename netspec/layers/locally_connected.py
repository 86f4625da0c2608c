"""LocallyConnected1D/2D: convolutions with unshared weights, as Keras 2 defined them (Keras 3
dropped these layers): `implementation=1`'s weight layout, `valid` padding."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from ..vocab.bounds import MAX_SIZE
from .base import Context, DataFormat, Shape, ShapeError, Weight, fmt_shape, known, register_layer
from .dense import WeightedLayer, activated
from .spatial import DATA_FORMAT_DESCRIPTION, IntOrTuple, Spatial, as_tuple


class _LocallyConnected(Spatial, WeightedLayer):
    """A different kernel at every output position (Keras 2's `LocallyConnectedND`,
    implementation 1): output[p] = activation(patch(p) . kernel[p] + bias[p]).

    Weights in Keras 2's layout: kernel (output positions, prod(kernel_size) * channels,
    filters), each patch flattened in the input's layout order ((rows, cols, channels) for
    channels_last, (channels, rows, cols) for channels_first, as Keras 2's `local_conv`
    reshapes its slices); bias (*output spatial, filters), which for channels_first Keras 2's
    `bias_add` reads reshaped, not transposed, to (filters, *output spatial): so does netspec.
    Spatial sizes and channels must be known (the kernel's shape depends on them).
    """

    filters: int = Field(..., gt=0, le=MAX_SIZE, description="Number of output channels.")
    kernel_size: IntOrTuple = Field(
        ..., description="Window size: an int (every spatial axis) or one int per spatial axis."
    )
    padding: Literal["valid", "same"] = Field(
        "valid",
        description="valid only: Keras 2 supported same only with implementation 2 or 3, "
        "whose weight layouts netspec does not provide.",
    )
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)
    implementation: Literal[1] = Field(
        1,
        description="Keras 2's weight layout: 1 (one kernel matrix per output position); "
        "2 (dense masked) and 3 (sparse) are not provided.",
    )

    @field_validator("implementation", mode="before")
    @classmethod
    def _not_a_bool(cls, value):
        # Literal[1] takes true (True == 1 in Python), strict or not.
        if isinstance(value, bool):
            raise ValueError(f"should be 1 (got {value!r})")
        return value

    keras_parity = False
    if TYPE_CHECKING:  # each subclass's own field (its default and description differ)
        strides: IntOrTuple

    def windows(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return as_tuple(self.kernel_size, self.rank), as_tuple(self.strides, self.rank)

    def output_spatial(self, shape: Shape, ctx: Context) -> tuple[tuple[int, ...], int]:
        spatial, channels = self.split(shape, ctx)
        if self.padding != "valid":
            raise ShapeError(
                "padding 'same' is not available: Keras 2's LocallyConnected layers take it "
                "only with implementation 2 or 3 (other weight layouts); use ZeroPadding "
                "before a 'valid' layer",
                "padding",
            )
        if not known(spatial) or channels is None:  # the input's every size
            raise ShapeError(
                f"the spatial sizes and channels of the input must be known, got "
                f"{fmt_shape(shape)} (the kernel has one matrix per output position)"
            )
        kernel, strides = self.windows()
        out = []
        for axis, (n, k, s) in enumerate(zip(spatial, kernel, strides, strict=True)):
            if n < k:
                raise ShapeError(
                    f"kernel_size {k} is larger than the input's size {n} on spatial axis "
                    f"{axis + 1} (input {fmt_shape(shape)})",
                    "kernel_size",
                )
            out.append((n - k) // s + 1)
        return tuple(out), channels

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        out, _ = self.output_spatial(shapes[0], ctx)
        return activated(self.activation, self.join(out, self.filters, ctx))

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        out, channels = self.output_spatial(shapes[0], ctx)
        kernel, _ = self.windows()
        features = math.prod(kernel) * channels
        shape = (math.prod(out), features, self.filters)
        weights = [
            Weight(
                "kernel",
                shape,
                self.kernel_initializer,
                self.kernel_regularizer,
                self.kernel_constraint,
            )
        ]
        if self.use_bias:
            weights.append(
                Weight(
                    "bias",
                    (*out, self.filters),
                    self.bias_initializer,
                    self.bias_regularizer,
                    self.bias_constraint,
                )
            )
        return weights

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.locally_connected import LocallyConnectedModule

        out, channels = self.output_spatial(shapes[0], ctx)
        kernel, strides = self.windows()
        return LocallyConnectedModule(
            self,
            self.graph_weights(shapes, ctx),
            ctx,
            kernel,
            strides,
            out,
            channels,
            self.channels_first(ctx),
        )


@register_layer
class LocallyConnected1D(_LocallyConnected):
    """Unshared-weight 1D convolution over (batch, steps, features) inputs (Keras 2's
    `LocallyConnected1D`, implementation 1): kernel (output_length, kernel_size * input_dim,
    filters), bias (output_length, filters)."""

    type: Literal["LocallyConnected1D"] = "LocallyConnected1D"
    strides: IntOrTuple = Field(1, description="Step between windows: an int or [int].")
    rank = 1
    examples = (
        {"args": {"filters": 3, "kernel_size": 2}, "inputs": [[5, 4]]},
        {
            "args": {"filters": 2, "kernel_size": 3, "strides": 2, "activation": "relu"},
            "inputs": [[8, 3]],
        },
        {
            "args": {"filters": 4, "kernel_size": [2], "use_bias": False},
            "inputs": [[3, 5]],
            "data_format": "channels_first",
        },
        {
            "args": {"filters": 2, "kernel_size": 3, "strides": [3], "bias_initializer": "ones"},
            "inputs": [[2, 7]],
            "data_format": "channels_first",
        },
    )


@register_layer
class LocallyConnected2D(_LocallyConnected):
    """Unshared-weight 2D convolution over images (Keras 2's `LocallyConnected2D`,
    implementation 1): kernel (output_rows * output_cols, kh * kw * input_channels, filters),
    bias (output_rows, output_cols, filters)."""

    type: Literal["LocallyConnected2D"] = "LocallyConnected2D"
    strides: IntOrTuple = Field([1, 1], description="Step between windows: an int or 2 ints.")
    examples = (
        {"args": {"filters": 3, "kernel_size": 2}, "inputs": [[4, 5, 2]]},
        {
            "args": {"filters": 2, "kernel_size": [3, 2], "strides": [2, 1], "activation": "tanh"},
            "inputs": [[7, 4, 3]],
        },
        {
            "args": {"filters": 4, "kernel_size": 2, "strides": 2, "bias_initializer": "ones"},
            "inputs": [[3, 5, 4]],
            "data_format": "channels_first",
        },
        {
            "args": {
                "filters": 2,
                "kernel_size": [2, 3],
                "use_bias": False,
                "data_format": "channels_first",
            },
            "inputs": [[2, 4, 4]],
        },
    )
