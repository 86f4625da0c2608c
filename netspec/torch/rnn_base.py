"""What the recurrent torch modules share (SimpleRNN, LSTM, GRU and RNN's cells: recurrent.py;
stacked cells: rnn.py; ConvLSTM: conv_lstm.py): the arguments of Keras's RNN loop, Keras's
dropout masks (drawn once per sequence, the same at every step), the recurrent projection of
the step loop, and the call of PyTorch's fused kernels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .compat import compiler_disable
from .random import SeededModule


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


@compiler_disable
def fused_call(op, *args):
    # torch.compile runs the fused RNN kernels eagerly, as it runs nn.LSTM (dynamo's
    # allow_rnn is off by default; inductor mis-compiles them on CPU): a graph break here.
    return op(*args)


def cudnn_can_flatten(weights: list[torch.Tensor]) -> bool:
    """Whether cuDNN takes `weights` into one buffer: all on CUDA, of one dtype, acceptable to
    cuDNN (nn.RNNBase.flatten_parameters's conditions)."""
    first = weights[0]
    if not all(
        w.is_cuda and w.dtype == first.dtype and torch.backends.cudnn.is_acceptable(w)
        for w in weights
    ):
        return False
    return torch._use_cudnn_rnn_flatten_weight()


class RecurrentLoop(SeededModule):
    """Keras's RNN loop around a cell: direction, what it returns, and the cell's dropout rates
    and seed. `zero_output_for_mask` (Keras's RNN argument; Bidirectional sets it to
    return_sequences) makes a masked step's output zeros instead of the previous output."""

    def __init__(
        self, cell, return_sequences: bool, return_state: bool, go_backwards: bool
    ) -> None:
        super().__init__(cell.seed)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.zero_output_for_mask = False
        self.dropout = float(cell.dropout)
        self.recurrent_dropout = float(cell.recurrent_dropout)

    def dropout_masks(
        self, x: torch.Tensor, rate: float, shape: tuple[int, ...], count: int
    ) -> list[torch.Tensor]:
        """`count` dropout masks of `shape` (batch first), scaled by 1 / (1 - rate) as Keras's
        are, in `x`'s dtype and device."""
        keep = 1.0 - rate
        bits = self.keep_mask((count, *shape), keep, x.device).to(x.dtype)
        return list((bits / keep).unbind(0))


class RecurrentProjection:
    """h times the recurrent kernel in the step loop, with Keras's recurrent dropout: one mask
    per gate, or one shared by the gates. The per-gate blocks are sliced once per call of the
    loop, not at every step: one autograd node, so the gradients sum as they always did."""

    def __init__(
        self,
        kernel: torch.Tensor,
        bias: torch.Tensor | None,
        gates: int,
        masks: list[torch.Tensor] | None,
    ):
        self.kernel, self.bias, self.gates, self.masks = kernel, bias, gates, masks
        self.kernels = kernel.chunk(gates, 0)
        self.biases = bias.chunk(gates, 0) if bias is not None else [None] * gates

    def __call__(self, h: torch.Tensor, gate_slice: slice | None = None) -> torch.Tensor:
        """h times the recurrent kernel (all gates, or the gates of `gate_slice`)."""
        gates = self.gates
        idx = range(gates)[gate_slice] if gate_slice is not None else range(gates)
        kernels, biases = self.kernels, self.biases
        if self.masks is None:
            if gate_slice is None:
                return F.linear(h, self.kernel, self.bias)
            return torch.cat([F.linear(h, kernels[g], biases[g]) for g in idx], -1)
        masks = self.masks if len(self.masks) > 1 else self.masks * gates
        return torch.cat([F.linear(h * masks[g], kernels[g], biases[g]) for g in idx], -1)

    def reset_before(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """GRU with reset_after false: the reset gate `r` times h (after its dropout mask),
        times the candidate's block of the kernel, without bias (Keras's GRUCell)."""
        h_in = h * self.masks[-1] if self.masks is not None else h
        return F.linear(r * h_in, self.kernels[2])
