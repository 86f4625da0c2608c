"""RNN: Keras's generic recurrent layer, the loop around a cell (SimpleRNNCell, LSTMCell,
GRUCell: rnn_cells.py) or a stack of them (StackedRNNCells, or a list of cells).

`RNN(cell: LSTMCell)` is `LSTM` (the same module, the same numbers for the same weights); a stack
runs its cells one after the other at every step, which is their layers stacked with
return_sequences, run by one loop: a masked step keeps every cell's states.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field

from ..registry import Registry
from .base import Context, Layer, Shape, ShapeError, Weight, register_layer
from .rnn_base import RecurrentArgs
from .rnn_cells import GRUCell, LSTMCell, RecurrentCell, SimpleRNNCell, sequence_features

CELLS: Registry[type[BaseModel]] = Registry("RNN cell type")  # the catalogue's `rnn_cells`


def _known_cell(stack: bool) -> BeforeValidator:
    """A cell's `type` must be one of CELLS, StackedRNNCells only where `stack` (the
    discriminated union alone would say "unknown layer type" inside a layer's arguments)."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"a cell is an object: {{type: {value}, units: ...}}")
        name = value.get("type") if isinstance(value, dict) else None
        if name == "StackedRNNCells" and not stack:
            # Keras's RNN makes no symbolic (functional-model) output for nested stacks
            raise ValueError(
                "a StackedRNNCells cannot be in a stack of cells (Keras builds no model with "
                "nested stacks): list its cells in the outer one"
            )
        if isinstance(name, str) and name not in CELLS:
            raise ValueError(f"unknown {CELLS.kind} '{name}'{CELLS.hint(name)}")
        return value

    return BeforeValidator(check)


# A cell, {type: LSTMCell, units: 8}.
OneCell = Annotated[
    Annotated[Union[SimpleRNNCell, LSTMCell, GRUCell], Field(discriminator="type")],  # noqa: UP007
    _known_cell(stack=False),
]


class StackedRNNCells(BaseModel):
    """Cells run one after the other at every step, as one cell (Keras's `StackedRNNCells`):
    each cell's output is the next one's input; the output is the last cell's, and the states
    are every cell's, in turn."""

    model_config = Layer.model_config

    type: Literal["StackedRNNCells"] = "StackedRNNCells"
    cells: Annotated[list[OneCell], Field(min_length=1)] = Field(
        ..., description="The cells, first to last ({type: LSTMCell, units: 8}, ...)."
    )


# RNN's cell: a cell or a stack of them (StackedRNNCells).
CellField = Annotated[
    Annotated[
        Union[SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells],  # noqa: UP007
        Field(discriminator="type"),
    ],
    _known_cell(stack=True),
]

for _cell in (SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells):
    CELLS.register()(_cell)


class _CellFirst(Layer):
    # A base of its own, so that `cell` comes first among RNN's arguments (reversed MRO).
    cell: CellField | Annotated[list[OneCell], Field(min_length=1)] = Field(
        ...,
        description="The cell run at every step: {type: SimpleRNNCell | LSTMCell | GRUCell, "
        "units: ..., ...} (its layer's arguments but the loop's), {type: StackedRNNCells, "
        "cells: [...]}, or a list of cells (stacked, as Keras wraps a list in "
        "StackedRNNCells).",
    )


@register_layer
class RNN(RecurrentArgs, _CellFirst):
    """Runs a recurrent cell over the timesteps (Keras's `RNN`): SimpleRNNCell, LSTMCell or
    GRUCell, or a stack of them. Input (batch, timesteps, features); output the last cell's
    (batch, units), or (batch, timesteps, units) with return_sequences; return_state adds every
    cell's states in turn ([h] or [h, c] each). A single cell is the layer of that name (LSTMCell
    is LSTM: fused kernel where the arguments allow it); a mask skips the steps for every cell."""

    type: Literal["RNN"] = "RNN"
    zero_output_for_mask: bool = Field(
        False,
        description="Output zeros at masked steps (and as the last output when the last step "
        "is masked) instead of the previous step's output (Bidirectional sets it to "
        "return_sequences, as Keras).",
    )

    examples = (
        {"args": {"cell": {"type": "LSTMCell", "units": 4}}, "inputs": [[5, 3]]},
        {
            "args": {
                "cell": {"type": "GRUCell", "units": 3},
                "return_sequences": True,
                "return_state": True,
            },
            "inputs": [[5, 3]],
        },
        {
            "args": {
                "cell": [
                    {"type": "SimpleRNNCell", "units": 4},
                    {"type": "LSTMCell", "units": 3},
                    {"type": "GRUCell", "units": 2},
                ],
                "return_state": True,
            },
            "inputs": [[None, 3]],
        },
        {
            "args": {
                "cell": {
                    "type": "StackedRNNCells",
                    "cells": [
                        {"type": "GRUCell", "units": 2, "reset_after": False},
                        {"type": "SimpleRNNCell", "units": 3, "activation": "relu"},
                    ],
                },
                "return_sequences": True,
                "go_backwards": True,
            },
            "inputs": [[4, 2]],
        },
        {
            "args": {
                "cell": {"type": "LSTMCell", "units": 2, "recurrent_activation": "hard_sigmoid"},
                "zero_output_for_mask": True,
                "unroll": True,
            },
            "inputs": [[4, 3]],
        },
    )

    def cells(self) -> list[RecurrentCell]:
        """The cells, first to last (one for a single cell)."""
        return [cell for _, cell in self._cells()]

    def _cells(self) -> list[tuple[tuple[str | int, ...], RecurrentCell]]:
        """Each cell with its place in the spec (for located errors)."""
        cell = self.cell
        if isinstance(cell, list):
            return [(("cell", i), c) for i, c in enumerate(cell)]
        if isinstance(cell, StackedRNNCells):
            return [(("cell", "cells", i), c) for i, c in enumerate(cell.cells)]
        return [(("cell",), cell)]

    @property
    def state_count(self) -> int:  # type: ignore[override]
        return sum(cell.state_count for cell in self.cells())

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        sequence_features(self.type, shapes[0])
        states: list[Shape] = []
        for path, cell in self._cells():
            try:
                cell.check_cell()
            except ShapeError as exc:
                field = exc.field if isinstance(exc.field, tuple) else (exc.field,)
                raise ShapeError(str(exc), (*path, *field)) from None
            states += [(cell.units,)] * cell.state_count
        units = self.cells()[-1].units
        return self.sequence_output(shapes[0][0], (units,), states)

    def cell_weights(self, shapes: list[Shape]) -> list[list[Weight]]:
        """Each cell's weights (Keras's, in its order): a cell's input is the previous output."""
        out: list[list[Weight]] = []
        features = sequence_features(self.type, shapes[0])
        for cell in self.cells():
            out.append(cell.cell_weights(features))
            features = cell.units
        return out

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        return [w for weights in self.cell_weights(shapes) for w in weights]

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.rnn import rnn_module

        return rnn_module(self, self.cells(), self.cell_weights(shapes), ctx)
