"""The spec format v1: the top-level pydantic model, assembled from the layer registry.

The layer union is built when first needed, after plugins (entry points in the group
`netspec.layers`) have registered their layer types, so plugin layers validate like built-ins.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, field_validator

from .layers import LAYERS, Layer, load_plugins
from .layers.base import NAME_PATTERN, DataFormat

DType = Literal[
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"
]
Dim = Annotated[int, Field(gt=0)] | None
InputName = Annotated[str, Field(pattern=NAME_PATTERN)]
OutputRef = Annotated[str, Field(pattern=NAME_PATTERN[:-1] + r"(:[0-9]+)?$")]


class InputSpec(BaseModel):
    """One model input (Keras's `keras.Input`)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    shape: list[Dim] = Field(
        ...,
        description="Shape without the batch axis; null marks a "
        "variable dimension (a sequence length, say).",
    )
    dtype: DType = Field("float32", description="Element type of the input.")


class SpecBase(BaseModel):
    """A netspec model spec (format version 1)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    netspec: Literal[1] = Field(..., description="Spec format version; required, must be 1.")
    name: str = Field(
        "model", pattern=r"^[A-Za-z0-9_.-]+$", description="Model name (letters, digits, _ . -)."
    )
    description: str | None = Field(None, description="Free text, for people.")
    data_format: DataFormat = Field(
        "channels_last",
        description="Default of every layer's data_format argument (as "
        "keras.config.image_data_format): channels_last is (batch, ..., channels).",
    )
    input_shape: list[Dim] | None = Field(
        None, description="Shape of the single input, named `input`, without the batch axis."
    )
    input_dtype: DType = Field("float32", description="Element type of the single input.")
    inputs: dict[InputName, InputSpec] | None = Field(
        None,
        description="Named inputs of a graph model, in forward's positional order "
        "(instead of input_shape).",
    )
    outputs: OutputRef | list[OutputRef] | None = Field(
        None,
        description="Names of the layers whose outputs the model returns, `name:k` for "
        "output k of a multi-output layer (default: the last layer).",
    )
    _graph: Any = PrivateAttr(None)

    @field_validator("netspec", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        # Literal[1] takes True (True == 1 in Python); the version is the number 1.
        if isinstance(value, bool):
            raise ValueError(f"should be 1, the format version (got {value!r})")
        return value


def _layer_union() -> Any:
    classes = tuple(cls for _, cls in LAYERS.items())
    if len(classes) == 1:
        return classes[0]
    return Annotated[Union[classes], Field(discriminator="type")]  # noqa: UP007


@lru_cache(maxsize=1)
def spec_model() -> type[SpecBase]:
    """The Spec model with every registered layer type (plugins included)."""
    load_plugins()
    union = _layer_union()

    class Spec(SpecBase):
        __doc__ = SpecBase.__doc__
        layers: list[union] = Field(..., min_length=1, description="The layers, in order.")

    return Spec


@lru_cache(maxsize=1)
def layer_adapter() -> TypeAdapter:
    """Validator of one layer entry (used to keep the valid layers when others are not)."""
    spec_model()
    return TypeAdapter(_layer_union())


__all__ = ["DType", "InputSpec", "Layer", "SpecBase", "layer_adapter", "spec_model"]
