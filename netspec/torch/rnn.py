"""Torch modules of the RNN layer: one cell is a RecurrentModule (recurrent.py), the module of
the layer of that name; stacked cells are a StackedRNNModule, their RecurrentModules chained."""

from __future__ import annotations

import torch
from torch import nn

from .recurrent import RecurrentModule


def rnn_module(spec, cells: list, weights: list[list], ctx) -> nn.Module:
    """The module of an RNN layer `spec`, whose cells have these weights (Keras's, per cell)."""
    loop = (spec.return_sequences, spec.return_state, spec.go_backwards)
    if len(cells) == 1:
        module = RecurrentModule(cells[0], weights[0], ctx, *loop)
        module.zero_output_for_mask = spec.zero_output_for_mask
        return module
    last = len(cells) - 1
    # Each cell but the last hands every step's output to the next one; all return their states.
    modules = [
        RecurrentModule(cell, cell_weights, ctx, i < last or spec.return_sequences, True, False)
        for i, (cell, cell_weights) in enumerate(zip(cells, weights, strict=True))
    ]
    stack = StackedRNNModule(modules, spec.return_state, spec.go_backwards)
    stack.zero_output_for_mask = spec.zero_output_for_mask
    return stack


class StackedRNNModule(nn.Module):
    """Keras's RNN of StackedRNNCells: at every step each cell takes the previous cell's output.
    Since a masked step keeps every cell's states, that is each cell's loop over the whole
    sequence in turn (the fused kernel where a cell allows it), the mask going to each; the
    direction is the stack's, so the sequence is reversed once, before the first cell."""

    def __init__(self, cells: list[RecurrentModule], return_state: bool, go_backwards: bool):
        super().__init__()
        self.cells = nn.ModuleList(cells)
        self.return_state = return_state
        self.go_backwards = go_backwards

    @property
    def zero_output_for_mask(self) -> bool:
        return self.cells[-1].zero_output_for_mask

    @zero_output_for_mask.setter
    def zero_output_for_mask(self, value: bool) -> None:
        # Only the last cell's outputs are the layer's: the others' masked steps are skipped
        # by the next cell whatever they hold.
        self.cells[-1].zero_output_for_mask = value

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        if self.go_backwards:
            x = x.flip(1)
            mask = mask.flip(1) if mask is not None else None
        states: list[torch.Tensor] = []
        for cell in self.cells:
            x, *cell_states = cell(x, mask)
            states += cell_states
        return (x, *states) if self.return_state else x

    def extra_repr(self) -> str:
        return f"{len(self.cells)} cells, go_backwards={self.go_backwards}"
