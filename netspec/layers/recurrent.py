"""Recurrent layers: SimpleRNN, LSTM and GRU, with Keras's arguments, defaults and weights.

They run on PyTorch's fused kernels (`torch.lstm`, `torch.gru`, `torch.rnn_tanh/relu`, what
nn.LSTM/nn.GRU/nn.RNN call) whenever the arguments allow it, and on a step loop otherwise
(`netspec.torch.recurrent`). They take a mask (Embedding's mask_zero, Masking) and skip the
masked steps as Keras does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import register_layer
from .rnn_base import ForgetBiasInitializer, GatedRecurrent, Recurrent, plain

__all__ = [
    "GRU",
    "LSTM",
    "ForgetBiasInitializer",
    "GatedRecurrent",
    "Recurrent",
    "SimpleRNN",
    "plain",
]


_SEQ = [[5, 3]]


@register_layer
class SimpleRNN(Recurrent):
    """Fully-connected RNN: `h_t = activation(x_t kernel + h_{t-1} recurrent_kernel + bias)`,
    the output being the state (Keras's `SimpleRNN`). Input (batch, timesteps, features);
    output (batch, units), or (batch, timesteps, units) with return_sequences. Runs on
    PyTorch's fused RNN kernel with tanh or relu and no recurrent_dropout."""

    type: Literal["SimpleRNN"] = "SimpleRNN"

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

    def why_not_fused(self) -> str | None:
        if self.recurrent_dropout:
            return "recurrent_dropout"
        if not plain(self.activation, "tanh", "relu"):
            return "activation other than tanh or relu"
        return None


@register_layer
class LSTM(GatedRecurrent):
    """Long Short-Term Memory (Hochreiter 1997; Keras's `LSTM`): gates i, f, c, o in Keras's
    (and PyTorch's) order; the output is the hidden state h. Input (batch, timesteps,
    features); output (batch, units), or (batch, timesteps, units) with return_sequences;
    return_state adds h and c. Runs on PyTorch's fused LSTM kernel for Keras's default
    activations and no recurrent_dropout; Keras's single bias stands for PyTorch's two."""

    type: Literal["LSTM"] = "LSTM"
    unit_forget_bias: bool = Field(
        True,
        description="Add 1 to the forget gate's bias at initialization (its part of the bias "
        "is then ones, whatever bias_initializer says), as Jozefowicz et al. recommend.",
    )

    gates = 4
    state_count = 2
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

    def bias_initializer_spec(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return ForgetBiasInitializer(self.bias_initializer, self.units)


@register_layer
class GRU(GatedRecurrent):
    """Gated Recurrent Unit (Cho et al. 2014; Keras's `GRU`): gates z, r, h in Keras's order.
    With reset_after (Keras 3's default, PyTorch's and cuDNN's variant) the reset gate applies
    after the recurrent transformation and the bias is (2, 3 * units), input and recurrent
    biases; runs then on PyTorch's fused GRU kernel (weights stored in its r, z, n gate order)
    for Keras's default activations and no recurrent_dropout."""

    type: Literal["GRU"] = "GRU"
    reset_after: bool = Field(
        True,
        description="Apply the reset gate after the recurrent transformation (Keras 3's "
        "default; fused kernel) rather than before (Keras 2's original; step loop).",
    )

    gates = 3
    state_count = 1
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

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def why_not_fused(self) -> str | None:
        if not self.reset_after:
            return "reset_after: false"
        return super().why_not_fused()
