"""The spec format v1: one typed, immutable pydantic model (`Spec`) that validation and the
JSON Schema both use.

A `layers:` entry is validated by the class its `type` names and the `compile:`/`train:`
sections by their own models, built when a spec first uses them (netspec/deferred.py), so
plugin layers (entry points in the group `netspec.layers`) validate like built-ins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .deferred import Deferred, LayerEntry
from .layers import LAYERS, Layer, load_plugins
from .layers.base import NAME_PATTERN, DataFormat
from .registry import did_you_mean
from .vocab.bounds import Size

DType = Literal[
    "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"
]
Dim = Size | None  # bounded: netspec.vocab.bounds
InputName = Annotated[str, Field(pattern=NAME_PATTERN)]
OutputRef = Annotated[str, Field(pattern=NAME_PATTERN[:-1] + r"(:[0-9]+)?$")]


class InputSpec(BaseModel):
    """One model input (Keras's `keras.Input`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    shape: list[Dim] = Field(
        ...,
        description="Shape without the batch axis; null marks a "
        "variable dimension (a sequence length, say).",
    )
    dtype: DType = Field("float32", description="Element type of the input.")


_COMPILE = "Keras's compile(): optimizer, loss, loss_weights, metrics."
_TRAIN = "Keras's fit(): epochs, batch_size, shuffle, validation_split, seed, callbacks."

if TYPE_CHECKING:
    from .training.spec.data_section import DataSpec
    from .training.spec.sections import CompileSpec, TrainSpec

    AnyLayer = Layer
else:  # validated through netspec.deferred: only the layer types a spec uses get built
    AnyLayer = Annotated[Layer, LayerEntry()]
    CompileSpec = Annotated[
        Any, Deferred("compile", "netspec.training.spec.sections", "CompileSpec")
    ]
    TrainSpec = Annotated[Any, Deferred("train", "netspec.training.spec.sections", "TrainSpec")]
    DataSpec = Annotated[Any, Deferred("data", "netspec.training.spec.data_section", "DataSpec")]


class Spec(BaseModel):
    """A netspec model spec (format version 1)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

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
        min_length=1,
        description="Named inputs of a graph model, in forward's positional order "
        "(instead of input_shape).",
    )
    outputs: OutputRef | list[OutputRef] | None = Field(
        None,
        description="Names of the layers whose outputs the model returns, `name:k` for "
        "output k of a multi-output layer (default: the last layer).",
    )
    args: dict[str, Any] | None = Field(
        None,
        description="Arguments of the spec, with their defaults: `${name}` in any value "
        "uses one; `--set args.NAME=VALUE` or a `model:` entry that uses this spec sets them.",
    )
    blocks: dict[str, Any] | None = Field(
        None,
        description="Reusable blocks: named sub-graphs with arguments, used by `layers:` "
        "entries `{block: NAME, ...}`.",
    )
    weights: str | None = Field(
        None,
        description="Weights loaded when the model is built: a .safetensors or Keras file "
        "(relative to this spec), or `imagenet` for an applications-zoo spec.",
    )
    layers: list[AnyLayer] = Field(..., min_length=1, description="The layers, in order.")
    compile: CompileSpec | None = Field(None, description=_COMPILE)
    train: TrainSpec | None = Field(None, description=_TRAIN)
    data: DataSpec | None = Field(
        None, description="How --data reads a CSV or Parquet table or an image folder."
    )

    @field_validator("netspec", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        # Literal[1] takes True (True == 1 in Python); the version is the number 1.
        if isinstance(value, bool):
            raise ValueError(f"should be 1, the format version (got {value!r})")
        return value


def spec_model() -> type[Spec]:
    """The spec model, with every registered layer type (plugins loaded: the JSON Schema's
    union of layer types is generated from the registry)."""
    load_plugins()
    return Spec


def layer_class(entry: Any) -> type[Layer]:
    """The class of a layer entry, by its `type`; ValueError (with hints) when there is none."""
    if isinstance(entry, Layer):  # Python callers may give layer models themselves
        return type(entry)
    if not isinstance(entry, dict):
        raise ValueError("a layer is a mapping with a 'type' key")
    kind = entry.get("type")
    if kind is None:
        raise ValueError("a layer needs a 'type' key")
    if not isinstance(kind, str) or kind not in LAYERS:
        raise ValueError(
            f"unknown layer type {kind!r}" + did_you_mean(str(kind), LAYERS.all_names())
        )
    return LAYERS.get(kind)


__all__ = [
    "DType",
    "InputSpec",
    "Layer",
    "Spec",
    "layer_class",
    "spec_model",
]
