"""Recurrent layers: SimpleRNN, LSTM and GRU, with Keras's arguments, defaults and weights.

They run on PyTorch's fused kernels (`torch.lstm`, `torch.gru`, `torch.rnn_tanh/relu`, what
nn.LSTM/nn.GRU/nn.RNN call) whenever the arguments allow it, and on a step loop otherwise
(`netspec.torch.recurrent`). They take a mask (Embedding's mask_zero, Masking) and skip the
masked steps as Keras does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, Layer, Shape, Weight, register_layer
from .rnn_base import RecurrentArgs
from .rnn_cells import GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell, sequence_features

__all__ = ["GRU", "LSTM", "Recurrent", "SimpleRNN"]


class Recurrent(RecurrentArgs, RecurrentCell, Layer):
    """A recurrent cell in Keras's RNN loop: SimpleRNN, LSTM and GRU are their cells' arguments
    plus the loop's (Keras's `LSTM` is `RNN(LSTMCell(...))`)."""

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        sequence_features(self.type, shapes[0])
        self.check_cell()
        return self.sequence_output(shapes[0][0], (self.units,), [(self.units,)] * self.state_count)

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return self.cell_weights(sequence_features(self.type, shapes[0]))

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.recurrent import RecurrentModule

        loop = (self.return_sequences, self.return_state, self.go_backwards)
        return RecurrentModule(self, self.graph_weights(shapes, ctx), ctx, *loop)


class GatedRecurrent(Recurrent):
    """LSTM and GRU: Keras's use_cudnn."""

    use_cudnn: Literal["auto"] | bool = Field(
        "auto",
        description="Keras's switch for the fused kernel: auto uses it when the arguments "
        "allow (tanh, sigmoid, no recurrent_dropout), false never, true requires it.",
    )


_SEQ = [[5, 3]]


@register_layer
class SimpleRNN(Recurrent, SimpleRNNCell):
    """Fully-connected RNN: `h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias)`,
    the output being the state (Keras's `SimpleRNN`). Input (batch, timesteps, features);
    output (batch, units), or (batch, timesteps, units) with return_sequences. Runs on
    PyTorch's fused RNN kernel with tanh or relu and no recurrent_dropout."""

    type: Literal["SimpleRNN"] = "SimpleRNN"  # type: ignore[assignment]  # its own, not its cell's

    examples = (
        {"args": {"units": 4}, "inputs": _SEQ},
        {"args": {"units": 3, "return_sequences": True, "activation": "relu"}, "inputs": _SEQ},
        {
            "args": {"units": 2, "return_state": True, "go_backwards": True, "use_bias": False},
            "inputs": [[None, 4]],
        },
        {"args": {"units": 3, "activation": "sigmoid", "return_sequences": True}, "inputs": _SEQ},
        {"args": {"units": 3}, "inputs": [[4, 2]], "dtypes": ["int64"]},
    )


@register_layer
class LSTM(GatedRecurrent, LSTMCell):
    """Long Short-Term Memory (Hochreiter 1997; Keras's `LSTM`): gates i, f, c, o in Keras's
    (and PyTorch's) order; the output is the hidden state h. Input (batch, timesteps,
    features); output (batch, units), or (batch, timesteps, units) with return_sequences;
    return_state adds h and c. Runs on PyTorch's fused LSTM kernel for Keras's default
    activations and no recurrent_dropout; Keras's single bias stands for PyTorch's two."""

    type: Literal["LSTM"] = "LSTM"  # type: ignore[assignment]  # its own, not its cell's

    examples = (
        {"args": {"units": 4}, "inputs": _SEQ},
        {"args": {"units": 3, "return_sequences": True, "return_state": True}, "inputs": _SEQ},
        {
            "args": {"units": 2, "go_backwards": True, "return_sequences": True},
            "inputs": [[None, 3]],
        },
        {
            "args": {
                "units": 3,
                "activation": "relu",
                "recurrent_activation": "hard_sigmoid",
                "use_bias": False,
            },
            "inputs": _SEQ,
        },
        {
            "args": {"units": 2, "unit_forget_bias": False, "bias_initializer": "ones"},
            "inputs": _SEQ,
        },
    )


@register_layer
class GRU(GatedRecurrent, GRUCell):
    """Gated Recurrent Unit (Cho et al. 2014; Keras's `GRU`): gates z, r, h in Keras's order.
    With reset_after (Keras 3's default, PyTorch's and cuDNN's variant) the reset gate applies
    after the recurrent transformation and the bias is (2, 3 * units), input and recurrent
    biases; runs then on PyTorch's fused GRU kernel (weights stored in its r, z, n gate order)
    for Keras's default activations and no recurrent_dropout."""

    type: Literal["GRU"] = "GRU"  # type: ignore[assignment]  # its own, not its cell's

    examples = (
        {"args": {"units": 4}, "inputs": _SEQ},
        {"args": {"units": 3, "return_sequences": True, "return_state": True}, "inputs": _SEQ},
        {"args": {"units": 3, "reset_after": False, "return_sequences": True}, "inputs": _SEQ},
        {
            "args": {"units": 2, "go_backwards": True, "use_bias": False},
            "inputs": [[None, 3]],
        },
        {"args": {"units": 2, "activation": "softsign", "return_state": True}, "inputs": _SEQ},
    )
