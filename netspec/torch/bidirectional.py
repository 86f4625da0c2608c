"""Torch module of the Bidirectional wrapper."""

from __future__ import annotations

import torch
from torch import nn


class BidirectionalModule(nn.Module):
    """Keras Bidirectional: `forward_layer` and `backward_layer` (recurrent modules, the second
    with go_backwards) over the same input and mask; the backward outputs are flipped back to
    time order with return_sequences, then merged. With return_sequences the masked steps'
    outputs are zeros (Keras forces zero_output_for_mask)."""

    def __init__(self, forward_layer, backward_layer, merge_mode, return_sequences, return_state):
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        for layer in (forward_layer, backward_layer):
            layer.zero_output_for_mask = return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = return_sequences
        self.return_state = return_state

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        y = self.forward_layer(x, mask)
        y_rev = self.backward_layer(x, mask)
        states = ()
        if self.return_state:
            y, *fwd_states = y
            y_rev, *bwd_states = y_rev
            states = (*fwd_states, *bwd_states)
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        mode = self.merge_mode
        if mode is None:
            return (y, y_rev, *states)
        if mode == "concat":
            out = torch.cat([y, y_rev], dim=-1)
        elif mode == "sum":
            out = y + y_rev
        elif mode == "ave":
            out = (y + y_rev) / 2
        else:
            out = y * y_rev
        return (out, *states) if states else out

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode}"
