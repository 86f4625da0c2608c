"""The base of the recurrent layers: the arguments of Keras's `RNN` loop (return_sequences, ...)
and of its cells (activations, initializers, dropout, ...), which SimpleRNN, LSTM, GRU, RNN's
cells (rnn_cells.py) and ConvLSTM share. Mixins, with Layer's config: a model's fields follow
its reversed MRO, so a layer lists the loop's mixin first and Layer last among its bases
(Layer's fields first, then the cell's, then the loop's: Keras's order)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, Field, field_validator

from ..vocab import ActivationField, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import SEED_END
from .base import Dims, Layer, Shape, ShapeError, Weight


class CellArgs(BaseModel):
    """The arguments of Keras's recurrent cells besides their size (units, filters)."""

    model_config = Layer.model_config
    if TYPE_CHECKING:  # the `type` of the layer or cell these arguments are part of
        type: str

    activation: ActivationField | None = Field(
        "tanh",
        validate_default=True,
        description="Activation of the candidate state and output (none: linear).",
    )
    use_bias: bool = Field(True, description="Whether the layer uses a bias vector.")
    kernel_initializer: InitializerField = Field(
        "glorot_uniform",
        validate_default=True,
        description="Initializer of the kernel (the input transformation), in Keras's layout: "
        "(input_dim, gates * units), or (*kernel_size, channels, 4 * filters) for ConvLSTM.",
    )
    recurrent_initializer: InitializerField = Field(
        "orthogonal",
        validate_default=True,
        description="Initializer of the recurrent kernel (the state transformation), in "
        "Keras's layout: (units, gates * units), or (*kernel_size, filters, 4 * filters).",
    )
    bias_initializer: InitializerField = Field(
        "zeros", validate_default=True, description="Initializer of the bias."
    )
    kernel_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the kernel, added to the training loss."
    )
    recurrent_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the recurrent kernel, added to the training loss."
    )
    bias_regularizer: RegularizerField | None = Field(
        None, description="Penalty on the bias, added to the training loss."
    )
    kernel_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the kernel after each optimizer step."
    )
    recurrent_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the recurrent kernel after each optimizer step."
    )
    bias_constraint: ConstraintField | None = Field(
        None, description="Projection applied to the bias after each optimizer step."
    )
    dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the input units to drop in training mode, in [0, 1) (one "
        "mask per sequence, the same at every step, as Keras).",
    )
    recurrent_dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the state units to drop for the recurrent transformation in "
        "training mode, in [0, 1) (one mask per sequence). Runs the step loop, not the fused "
        "kernel.",
    )
    seed: int | None = Field(
        None,
        ge=0,
        lt=SEED_END,
        description="Seed of the dropout masks (default: torch's global generator).",
    )

    def check_step(self, step: Shape) -> None:
        """ShapeError unless the activations take a step's output `step` (batch axis aside) and
        keep its shape (glu halves it)."""
        for name in ("activation", "recurrent_activation"):
            act = getattr(self, name, None)
            if act is not None and act.type == "glu":
                raise ShapeError(f"glu halves its input: it cannot be {self.type}'s {name}", name)
            try:
                act is None or act.output_shape(step)
            except ValueError as exc:
                raise ShapeError(str(exc), name) from None

    def recurrent_weights(self, kernel: Dims, recurrent: Dims, bias: Dims, bias_init) -> list:
        """Keras's kernel, recurrent_kernel and bias (with use_bias) of these shapes, with the
        cell's initializers (`bias_init` for the bias), regularizers and constraints."""
        out = [
            Weight(
                "kernel",
                kernel,
                self.kernel_initializer,
                self.kernel_regularizer,
                self.kernel_constraint,
            ),
            Weight(
                "recurrent_kernel",
                recurrent,
                self.recurrent_initializer,
                self.recurrent_regularizer,
                self.recurrent_constraint,
            ),
        ]
        if self.use_bias:
            out.append(Weight("bias", bias, bias_init, self.bias_regularizer, self.bias_constraint))
        return out


class GatedArgs(BaseModel):
    """The gates' activation of LSTM, GRU and ConvLSTM cells."""

    model_config = Layer.model_config

    recurrent_activation: ActivationField | None = Field(
        "sigmoid",
        validate_default=True,
        description="Activation of the gates (none: linear).",
    )


class RecurrentArgs(BaseModel):
    """The arguments of Keras's `RNN` loop, which every recurrent layer takes. A class using it
    says how many states its cell has (`state_count`)."""

    model_config = Layer.model_config

    activity_regularizer: RegularizerField | None = Field(
        None,
        description="Penalty on the layer's outputs (states included with return_state), "
        "divided by the batch size (as Keras).",
    )
    return_sequences: bool = Field(
        False,
        description="Return the output of every step, (batch, timesteps, ...), instead of the "
        "last one, (batch, ...).",
    )
    return_state: bool = Field(
        False,
        description="Also return the final state(s), as more outputs after the output ([h] "
        "for SimpleRNN and GRU, [h, c] for LSTM and ConvLSTM, each cell's in turn for stacked "
        "cells): pick them with `name:k`.",
    )
    go_backwards: bool = Field(
        False,
        description="Process the sequence backwards; with return_sequences the outputs come "
        "in that reversed order (as Keras).",
    )
    stateful: bool = Field(
        False,
        description="Keras's stateful RNNs (state kept from batch to batch) are not "
        "supported: must be false.",
        json_schema_extra={"const": False},
    )
    unroll: bool = Field(
        False,
        description="Accepted for Keras compatibility, without effect (a Keras speed/memory "
        "trade-off; netspec runs the fused kernel or a step loop either way).",
    )

    consumes_mask: ClassVar[bool] = True
    state_count: ClassVar[int]

    @field_validator("stateful")
    @classmethod
    def _not_stateful(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "stateful RNNs are not supported: a netspec model keeps no state between "
                "batches (set stateful: false)"
            )
        return value

    def output_mask(self) -> bool | list[bool]:
        # keras RNN.compute_mask: the output carries the mask with return_sequences; the
        # states never do.
        if self.return_state:
            return [self.return_sequences] + [False] * self.state_count
        return self.return_sequences

    def sequence_output(
        self, steps: int | None, step: Shape, states: list[Shape]
    ) -> Shape | list[Shape]:
        """The output shape(s) for a step output `step`: (steps, *step) with return_sequences,
        then the `states` with return_state."""
        out = (steps, *step) if self.return_sequences else step
        return [out, *states] if self.return_state else out
