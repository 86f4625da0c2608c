"""ConvLSTM1D, ConvLSTM2D, ConvLSTM3D: LSTMs whose input and recurrent transformations are
convolutions (Keras's `ConvLSTM`, Shi et al. 2015), over sequences of 1-3-D feature maps."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..vocab.bounds import MAX_SIZE
from .base import Context, Dims, Layer, Shape, ShapeError, Weight, fmt_shape, known, register_layer
from .conv_base import CF, SpatialConv, example
from .rnn_base import CellArgs, GatedArgs, RecurrentArgs
from .rnn_cells import ForgetBiasInitializer


class _Filters(BaseModel):
    # A base of its own, so that `filters` comes before the cell's arguments (reversed MRO).
    model_config = Layer.model_config

    filters: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Number of output channels (of the state too)."
    )


class ConvLSTMCellArgs(GatedArgs, CellArgs, _Filters):
    """The arguments of Keras's `ConvLSTMCell` besides the window's."""

    unit_forget_bias: bool = Field(
        True,
        description="Add 1 to the forget gate's bias at initialization (its part of the bias "
        "is then ones, whatever bias_initializer says), as Jozefowicz et al. recommend.",
    )


class ConvLSTM(RecurrentArgs, ConvLSTMCellArgs, SpatialConv):
    """Keras's `ConvLSTM`: gates i, f, c, o computed as `conv(x_t, kernel) + bias +
    conv(h_{t-1}, recurrent_kernel)`, the input convolution with the layer's window (strides,
    padding, dilation_rate) and the recurrent one with `same` padding and stride 1; states
    [h, c], feature maps of `filters` channels. Input (batch, timesteps, *spatial, channels), or
    (batch, timesteps, channels, *spatial) with channels_first; the spatial sizes must be known
    (as Keras). Masks are not taken."""

    consumes_mask = False  # Keras's ConvLSTM would need a mask per position, not per step
    state_count = 2

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        shape = shapes[0]
        if len(shape) != self.rank + 2:
            first = self.channels_first(ctx)
            layout = "channels, spatial axes" if first else "spatial axes, channels"
            raise ShapeError(
                f"expects an input of rank {self.rank + 3} (batch, timesteps, {layout}; "
                f"{self.rank} spatial axes), got shape {fmt_shape(shape)}"
            )
        spatial = self.spatial_sizes(shape, ctx)
        state = self.join(self.conv_spatial(shape, spatial), self.filters, ctx)
        self.check_step(state)
        return self.sequence_output(shape[0], state, [state, state])

    def spatial_sizes(self, shape: Shape, ctx: Context) -> Dims:
        """The spatial sizes of an input (batch axis included), which must be known."""
        spatial, _ = self.split(shape[1:], ctx)
        if not known(spatial):
            raise ShapeError(
                f"{self.type} needs known spatial sizes (Keras's static input shapes), got shape "
                f"{fmt_shape(shape)}"
            )
        return spatial

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        channels, window = self.split(shapes[0][1:], ctx)[1], self.tup("kernel_size")
        size = 4 * self.filters  # gates i, f, c, o
        bias = self.bias_initializer
        if self.unit_forget_bias:
            bias = ForgetBiasInitializer(bias, self.filters)
        kernel, recurrent = (*window, channels, size), (*window, self.filters, size)
        return self.recurrent_weights(kernel, recurrent, (size,), bias)

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        # the input convolution runs on every step at once, on a padded copy with `same`
        steps = shapes[0][0] or 1
        return steps * SpatialConv.temporary_elements(self, [shapes[0][1:]], ctx)

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.conv_lstm import ConvLSTMModule

        spatial = self.spatial_sizes(shapes[0], ctx)
        return ConvLSTMModule(self, spatial, self.graph_weights(shapes, ctx), ctx)


@register_layer
class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM (Keras's `ConvLSTM1D`): input (batch, timesteps, steps, channels),
    or (batch, timesteps, channels, steps) with channels_first."""

    type: Literal["ConvLSTM1D"] = "ConvLSTM1D"

    rank = 1
    examples = (
        example([[4, 7, 2]], filters=3, kernel_size=3),
        example([[None, 6, 2]], filters=2, kernel_size=2, padding="same", return_sequences=True),
        example([[3, 2, 8]], CF, filters=2, kernel_size=3, strides=2, return_state=True),
        example([[3, 9, 1]], filters=2, kernel_size=2, dilation_rate=2, go_backwards=True),
    )


@register_layer
class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM (Keras's `ConvLSTM2D`): input (batch, timesteps, rows, cols,
    channels), or (batch, timesteps, channels, rows, cols) with channels_first."""

    type: Literal["ConvLSTM2D"] = "ConvLSTM2D"

    rank = 2
    examples = (
        example([[3, 5, 4, 2]], filters=2, kernel_size=3),
        example(
            [[3, 2, 6, 5]],
            CF,
            filters=2,
            kernel_size=[3, 2],
            padding="same",
            return_sequences=True,
            return_state=True,
        ),
        example(
            [[None, 7, 6, 1]],
            filters=3,
            kernel_size=2,
            strides=[2, 1],
            activation="relu",
            recurrent_activation="hard_sigmoid",
            use_bias=False,
        ),
        example([[2, 4, 4, 3]], CF, filters=2, kernel_size=2, unit_forget_bias=False),
    )


@register_layer
class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM (Keras's `ConvLSTM3D`): input (batch, timesteps, d1, d2, d3,
    channels), or (batch, timesteps, channels, d1, d2, d3) with channels_first."""

    type: Literal["ConvLSTM3D"] = "ConvLSTM3D"

    rank = 3
    examples = (
        example([[2, 4, 3, 3, 2]], filters=2, kernel_size=2),
        example([[3, 2, 4, 4, 3]], CF, filters=2, kernel_size=[2, 3, 1], padding="same", strides=2),
    )
