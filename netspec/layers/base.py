"""The base of every layer spec: common fields, the shape rule, weights and the builder.

A layer is one pydantic model (Keras's arguments and defaults), a static shape rule (no torch),
its weights (Keras-layout shapes: Keras's parameter counts) and `build` (an `nn.Module`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..registry import Registry
from ..vocab.bounds import Size
from .shapes import Dims, Shape, ShapeError, fmt_shape, known, need_rank

if TYPE_CHECKING:
    import torch

    from ..vocab import Constraint, Initializer, Regularizer
    from .attention import EinsumKernelInit

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
LAYER_NAME_PATTERN = r"^[A-Za-z0-9_]+$"  # a digit first too: a block's `0_conv`
DataFormat = Literal["channels_last", "channels_first"]


@dataclass
class Context:
    """What shape rules and builders know besides the layer's own arguments."""

    data_format: str = "channels_last"
    dtypes: list[str] = field(default_factory=list)  # dtypes of the inputs, when known
    generator: Any = None  # torch.Generator of the build (builders only)
    # Entries that refer to other layer entries (Shared): the graph's nodes by name (shape
    # rules), and the modules built so far by name (builders; referenced entries come first).
    layers: dict[str, Any] | None = None
    modules: dict[str, Any] | None = None
    # The layer's weights as the graph resolved them (computed once), for its builder; None
    # for a layer built inside a wrapper, whose weights the builder computes.
    weights: list[Weight] | None = None


@dataclass
class Weight:
    """A weight as Keras declares it: Keras-layout shape, and its initializer and friends."""

    name: str
    shape: Dims
    initializer: Initializer | EinsumKernelInit
    regularizer: Regularizer | None = None
    constraint: Constraint | None = None
    trainable: bool = True

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Layer(BaseModel):
    """Fields every layer takes."""

    # strict: values are taken as written, as the JSON Schema says (no "3" or true for 3,
    # no 1 or "yes" for true); see tests/test_schema_property.py.
    # defer_build: a layer class's validator is built when a spec first uses it, so importing
    # the whole catalogue stays cheap (`netspec validate` pays only for the types it meets).
    # frozen: a validated spec is immutable (netspec.loader.ValidSpec).
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=False, defer_build=True
    )

    type: str
    name: str | None = Field(
        None,
        pattern=LAYER_NAME_PATTERN,
        description="Unique layer name (identifier characters). Default: Keras-style automatic "
        "names from the type (dense, dense_1, ...), skipping names already taken.",
    )
    inputs: str | Annotated[list[str], Field(min_length=1)] | None = Field(
        None,
        description="Input(s): names of layers or model inputs; `name:k` picks output k of a "
        "multi-output layer. Default: the previous layer (the model's input for the first).",
    )
    trainable: bool = Field(
        True,
        description="False freezes the layer's weights (Keras's "
        "`trainable`); they count as non-trainable params.",
    )
    input_shape: list[Size | None] | None = Field(
        None,
        description="Shape of the model's input without the batch axis (first layer only, "
        "as in Keras's `Dense(32, input_shape=(16,))`).",
    )

    # (min, max) number of inputs; max None means unbounded.
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    # Layers that only move values around keep their input's dtype (others output float32).
    keeps_dtype: ClassVar[bool] = False
    # Whether Keras 3 has this layer (the parity tests compare against it).
    keras_parity: ClassVar[bool] = True
    # Test cases, used by the registry-parametrised tests: each is a dict with "args" (the
    # layer's arguments), "inputs" (a list of input shapes without batch) and optionally
    # "dtypes" (a list of input dtypes), "data_format", and "keras_parity": False to leave
    # that example out of the Keras comparison (where Keras's backends disagree and netspec
    # follows another one than torch; the layer's own tests check it against a reference).
    examples: ClassVar[tuple[dict, ...]] = ()
    # Masks (Keras's timestep masks; docs/spec-format.md, "Masks"): a mask covers every axis of
    # a value but the last, made by a producer (`produces_mask()`: Embedding, Masking; module's
    # `compute_mask(*inputs)`). `propagates_mask`: the output carries the input's mask (Keras's
    # supports_masking layers that keep the masked axes: Dense, ...). `consumes_mask`: the
    # module's forward takes `mask=` (bool, True = valid step); `output_mask()`: the outputs that
    # carry it on. `mask_inputs`: merges, attention (mask_inputs.py). Others: a located error.
    propagates_mask: ClassVar[bool] = False
    consumes_mask: ClassVar[bool] = False
    mask_inputs: ClassVar[bool] = False
    # Of the mask_inputs layers (mask_inputs.py): Keras reads their masks when the model runs;
    # and (MultiHeadAttention) removes the masks of the tensors it takes.
    runtime_masks: ClassVar[bool] = False
    clears_input_masks: ClassVar[bool] = False

    def ends_masks(self) -> bool:
        """Whether masks reaching this layer stop here on purpose (Lambda's drops_mask)."""
        return False

    def produces_mask(self) -> bool:
        """Whether this layer makes a new mask from its inputs (replacing any they carry)."""
        return False

    def output_mask(self) -> bool | list[bool]:
        """A mask consumer's outputs that carry the input's mask on (a list for several)."""
        return False

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape | list[Shape]:
        """Static shape rule: output shape(s) for input shapes, raising ShapeError."""
        return shapes[0]

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        """Keras weights for these input shapes (parameter counts come from here)."""
        return []

    def graph_weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        """The weights a builder uses: those the graph resolved (`ctx.weights`, computed once
        during validation), or, for a layer inside a wrapper, `weights()` now."""
        return ctx.weights if ctx.weights is not None else self.weights(shapes, ctx)

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        """Values of one sample that the layer holds besides its output (a padded copy of its
        input), for the memory budget; a variable dimension counts as 1."""
        return 0

    def build(self, shapes: list[Shape], ctx: Context) -> torch.nn.Module:
        """The torch module (imports torch). Input shapes are Keras shapes without the batch."""
        raise NotImplementedError

    def activity_regularizer_spec(self) -> Regularizer | None:
        """The activity regularizer applied to this layer's output, if any."""
        return getattr(self, "activity_regularizer", None)


LAYERS: Registry[type[Layer]] = Registry("layer type")
# `@register_layer`: registers a layer class under every value of its `type` Literal (first:
# canonical, the others aliases); the one registration path of netspec.registry.
register_layer = LAYERS.register()


@cache
def snake_case(name: str) -> str:
    """Keras's `to_snake_case`: Dense -> dense, Conv2D -> conv2d, ActivityRegularization ->
    activity_regularization."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


__all__ = ["Dims", "Shape", "ShapeError", "fmt_shape", "known", "need_rank"]
