"""The base of the recurrent layers (Keras's `RNN` arguments, weights, masks and the choice
between PyTorch's fused kernels and a step loop); SimpleRNN, LSTM and GRU are in recurrent.py."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator

from ..vocab import ActivationField, ConstraintField, InitializerField, RegularizerField
from ..vocab.bounds import MAX_SIZE, SEED_END
from .base import Context, Layer, Shape, ShapeError, Weight, fmt_shape


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


class Recurrent(Layer):
    """Arguments shared by SimpleRNN, LSTM and GRU (Keras's names, defaults and order)."""

    units: int = Field(
        ..., gt=0, le=MAX_SIZE, description="Dimensionality of the output space (and state)."
    )
    activation: ActivationField | None = Field(
        "tanh",
        validate_default=True,
        description="Activation of the candidate state and output (none: linear).",
    )
    use_bias: bool = Field(True, description="Whether the layer uses a bias vector.")
    kernel_initializer: InitializerField = Field(
        "glorot_uniform",
        validate_default=True,
        description="Initializer of the kernel (the input transformation), Keras layout "
        "(input_dim, gates * units).",
    )
    recurrent_initializer: InitializerField = Field(
        "orthogonal",
        validate_default=True,
        description="Initializer of the recurrent kernel (the state transformation), Keras "
        "layout (units, gates * units).",
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
    activity_regularizer: RegularizerField | None = Field(
        None,
        description="Penalty on the layer's outputs (states included with return_state), "
        "divided by the batch size (as Keras).",
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
    return_sequences: bool = Field(
        False,
        description="Return the output of every step, (batch, timesteps, units), instead of "
        "the last one, (batch, units).",
    )
    return_state: bool = Field(
        False,
        description="Also return the final state(s), as more outputs ([output, h] for "
        "SimpleRNN and GRU, [output, h, c] for LSTM): pick them with `name:k`.",
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

    consumes_mask = True
    gates: ClassVar[int] = 1
    state_count: ClassVar[int] = 1

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

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        shape = shapes[0]
        if len(shape) != 2:
            raise ShapeError(
                f"expects an input of rank 3 (batch, timesteps, features), got shape "
                f"{fmt_shape(shape)}"
            )
        if shape[-1] is None:
            raise ShapeError(f"the features axis of {self.type}'s input must be known, got None")
        for name in ("activation", "recurrent_activation"):
            act = getattr(self, name, None)
            if act is not None and act.type == "glu":
                raise ShapeError(f"glu halves its input: it cannot be {self.type}'s {name}", name)
            try:  # applied to each step's (batch, units)
                act is None or act.output_shape((self.units,))
            except ValueError as exc:
                raise ShapeError(str(exc), name) from None
        if getattr(self, "use_cudnn", "auto") is True and not self.fused():
            raise ShapeError(
                f"use_cudnn is true but {self.type}'s arguments need the step loop "
                f"({self.why_not_fused()}); set use_cudnn: auto",
                "use_cudnn",
            )
        out = (shape[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [out] + [(self.units,)] * self.state_count
        return out

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def bias_initializer_spec(self):
        return self.bias_initializer

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        size = self.gates * self.units
        out = [
            Weight(
                "kernel",
                (shapes[0][-1], size),
                self.kernel_initializer,
                self.kernel_regularizer,
                self.kernel_constraint,
            ),
            Weight(
                "recurrent_kernel",
                (self.units, size),
                self.recurrent_initializer,
                self.recurrent_regularizer,
                self.recurrent_constraint,
            ),
        ]
        if self.use_bias:
            out.append(
                Weight(
                    "bias",
                    self.bias_shape(),
                    self.bias_initializer_spec(),
                    self.bias_regularizer,
                    self.bias_constraint,
                )
            )
        return out

    def why_not_fused(self) -> str | None:
        """Why the fused kernel cannot run this layer (None: it can)."""
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
        """Whether the layer runs on PyTorch's fused kernel."""
        return self.why_not_fused() is None

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.recurrent import RecurrentModule

        return RecurrentModule(self, self.weights(shapes, ctx), ctx)


class GatedRecurrent(Recurrent):
    """LSTM and GRU: a recurrent activation and Keras's use_cudnn."""

    recurrent_activation: ActivationField | None = Field(
        "sigmoid",
        validate_default=True,
        description="Activation of the gates (none: linear).",
    )
    use_cudnn: Literal["auto"] | bool = Field(
        "auto",
        description="Keras's switch for the fused kernel: auto uses it when the arguments "
        "allow (tanh, sigmoid, no recurrent_dropout), false never, true requires it.",
    )


class ForgetBiasInitializer:
    """LSTM's unit_forget_bias: the bias initializer's values, with the forget gate's block
    (the second of four) set to ones, as Keras's LSTMCell builds it."""

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
