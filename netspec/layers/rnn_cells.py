"""Keras's recurrent cells SimpleRNNCell, LSTMCell and GRUCell: one step of SimpleRNN, LSTM and
GRU, the `cell` of an RNN layer (rnn.py, which registers them in `CELLS`).

A cell has its layer's arguments but the loop's (return_sequences, ...); the layers
(recurrent.py) are their cell plus the loop's arguments. A cell knows its weights (Keras's
names, layouts and initializers) and whether PyTorch's fused kernel computes it (`fused`); its
torch module is netspec.torch.recurrent's."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from ..vocab.bounds import MAX_SIZE
from .base import Layer, Shape, ShapeError, Weight, fmt_shape
from .rnn_base import CellArgs, GatedArgs


def plain(activation, *names: str) -> bool:
    """Whether `activation` is one of `names` with its default arguments (what a fused kernel
    computes)."""
    if activation is None or activation.type not in names:
        return False
    return all(
        getattr(activation, f) == info.default
        for f, info in type(activation).model_fields.items()
        if f != "type"
    )


class _Head(BaseModel):
    # A base of its own, so that `type` and `units` come first among a cell's fields (a model's
    # fields follow its reversed MRO).
    model_config = Layer.model_config

    type: str
    units: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Dimensionality of the output space (and state)."
    )


class RecurrentCell(CellArgs, _Head):
    """What SimpleRNN, LSTM and GRU cells share: `gates` blocks of `units` in the kernels, and
    `state_count` states; `kind` names the step the torch module computes."""

    kind: ClassVar[str]
    gates: ClassVar[int] = 1
    state_count: ClassVar[int] = 1

    def check_cell(self) -> None:
        """ShapeError for arguments this cell cannot run with."""
        self.check_step((self.units,))
        if getattr(self, "use_cudnn", "auto") is True and not self.fused():
            raise ShapeError(
                f"use_cudnn is true but {self.type}'s arguments need the step loop "
                f"({self.why_not_fused()}); set use_cudnn: auto",
                "use_cudnn",
            )

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def bias_initializer_spec(self):
        return self.bias_initializer

    def cell_weights(self, input_dim: int) -> list[Weight]:
        """Keras's weights of the cell for inputs of `input_dim` features, in Keras's order."""
        size = self.gates * self.units
        kernel, recurrent = (input_dim, size), (self.units, size)
        return self.recurrent_weights(
            kernel, recurrent, self.bias_shape(), self.bias_initializer_spec()
        )

    def why_not_fused(self) -> str | None:
        """Why the fused kernel cannot run this cell (None: it can)."""
        if self.recurrent_dropout:
            return "recurrent_dropout"
        if getattr(self, "use_cudnn", "auto") is False:
            return "use_cudnn: false"
        if not plain(self.activation, "tanh"):
            return "activation other than tanh"
        if not plain(getattr(self, "recurrent_activation", None), "sigmoid"):
            return "recurrent_activation other than sigmoid"
        return None

    def fused(self) -> bool:
        """Whether the cell runs on PyTorch's fused kernel."""
        return self.why_not_fused() is None


class SimpleRNNCell(RecurrentCell):
    """One step of a fully-connected RNN (Keras's `SimpleRNNCell`): `h_t = activation(x_t kernel
    + h_{t-1} recurrent_kernel + bias)`, the output being the state. Runs on PyTorch's fused RNN
    kernel with tanh or relu and no recurrent_dropout."""

    type: Literal["SimpleRNNCell"] = "SimpleRNNCell"
    kind = "SimpleRNN"

    def why_not_fused(self) -> str | None:
        if self.recurrent_dropout:
            return "recurrent_dropout"
        if not plain(self.activation, "tanh", "relu"):
            return "activation other than tanh or relu"
        return None


class LSTMCell(GatedArgs, RecurrentCell):
    """One step of a Long Short-Term Memory (Keras's `LSTMCell`): gates i, f, c, o in Keras's
    (and PyTorch's) order, states [h, c], the output being h. Runs on PyTorch's fused LSTM
    kernel for Keras's default activations and no recurrent_dropout."""

    type: Literal["LSTMCell"] = "LSTMCell"
    unit_forget_bias: bool = Field(
        True,
        description="Add 1 to the forget gate's bias at initialization (its part of the bias "
        "is then ones, whatever bias_initializer says), as Jozefowicz et al. recommend.",
    )

    kind = "LSTM"
    gates = 4
    state_count = 2

    def bias_initializer_spec(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return ForgetBiasInitializer(self.bias_initializer, self.units)


class GRUCell(GatedArgs, RecurrentCell):
    """One step of a Gated Recurrent Unit (Keras's `GRUCell`): gates z, r, h in Keras's order.
    With reset_after (Keras 3's default, PyTorch's and cuDNN's variant) the reset gate applies
    after the recurrent transformation and the bias is (2, 3 * units), input and recurrent
    biases; runs then on PyTorch's fused GRU kernel (weights stored in its r, z, n gate order)
    for Keras's default activations and no recurrent_dropout."""

    type: Literal["GRUCell"] = "GRUCell"
    reset_after: bool = Field(
        True,
        description="Apply the reset gate after the recurrent transformation (Keras 3's "
        "default; fused kernel) rather than before (Keras 2's original; step loop).",
    )

    kind = "GRU"
    gates = 3

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def why_not_fused(self) -> str | None:
        if not self.reset_after:
            return "reset_after: false"
        return super().why_not_fused()


class ForgetBiasInitializer:
    """unit_forget_bias (LSTM, ConvLSTM): the bias initializer's values, with the forget gate's
    block (the second of four) set to ones, as Keras's LSTMCell and ConvLSTMCell build it."""

    def __init__(self, base, units: int):
        self.base, self.units = base, units

    def sample(self, shape, generator=None):
        import torch

        u = self.units
        return torch.cat(
            [
                self.base.sample((u,), generator),
                torch.ones(u),
                self.base.sample((2 * u,), generator),
            ]
        )

    def __repr__(self) -> str:
        return f"ForgetBiasInitializer({self.base!r})"


def sequence_features(layer: str, shape: Shape) -> int:
    """The features of a (batch, timesteps, features) input; ShapeError for another rank or
    unknown features."""
    if len(shape) != 2:
        raise ShapeError(
            f"expects an input of rank 3 (batch, timesteps, features), got shape {fmt_shape(shape)}"
        )
    if shape[-1] is None:
        raise ShapeError(f"the features axis of {layer}'s input must be known, got None")
    return shape[-1]
