"""The one place where validation defers work, so that `netspec validate` stays fast.

The spec model (`netspec.spec.Spec`) is typed with the real classes: `layers: list[Layer]`,
`compile: CompileSpec | None`, `train: TrainSpec | None`. Building a validator for every layer
class of the catalogue (and importing the training vocabulary for a spec without `compile:`)
would cost more than the rest of a `netspec validate` process together, so two annotations
defined here stand in at run time:

- `LayerEntry`: validates a `layers:` entry with the class its `type` names (imported and
  built on first use), and records each entry's result in the validation context, so that the
  loader can resolve the graph of the valid layers when others are invalid;
- `Deferred(module, name)`: validates with a model imported when a spec first has the section.

Their JSON Schemas are the full ones (the discriminated union of every layer type, the section
models), generated on demand: one model serves validation and the schema. Errors raised by the
classes they defer to keep their locations (pydantic merges a nested ValidationError).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pydantic import (
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

# Validation-context keys: LayerEntry appends each layers: entry's result (None: invalid) to
# context[LAYER_RESULTS]; Deferred stores a valid section under its name in
# context[SECTION_RESULTS].
LAYER_RESULTS = "layers"
SECTION_RESULTS = "sections"


def _layer_union() -> Any:
    from .layers import LAYERS, load_plugins
    from .registry import tagged_union

    load_plugins()
    return tagged_union(LAYERS)


class LayerEntry:
    """Annotation of one `layers:` entry: dispatch on `type` to the layer's own class."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(_validate_layer)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> Any:
        return handler(TypeAdapter(_layer_union()).core_schema)


def _validate_layer(value: Any, info: core_schema.ValidationInfo) -> Any:
    from .spec import layer_class

    results = info.context.get(LAYER_RESULTS) if isinstance(info.context, dict) else None
    layer = None
    try:
        try:
            cls = layer_class(value)
        except ValueError as exc:  # located on `type` when the entry has one
            at_type = isinstance(value, dict) and "type" in value
            error: InitErrorDetails = {"type": "value_error",
                     "loc": ("type",) if at_type else (), "input": value,
                     "ctx": {"error": exc}}  # fmt: skip
            raise ValidationError.from_exception_data("layer", [error]) from None
        layer = value if isinstance(value, cls) else cls.model_validate(value)
        return layer
    finally:  # list items are validated in order: one result per entry
        if results is not None:
            results.append(layer)


class Deferred:
    """Annotation of a section validated by `module.name`, imported on first use."""

    def __init__(self, section: str, module: str, name: str):
        self.section, self.module, self.name = section, module, name

    def model(self) -> Any:
        return import_module(self.module).__dict__[self.name]

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any, info: core_schema.ValidationInfo) -> Any:
            model = self.model()
            valid = value if isinstance(value, model) else model.model_validate(value)
            if isinstance(info.context, dict) and SECTION_RESULTS in info.context:
                info.context[SECTION_RESULTS][self.section] = valid
            return valid

        return core_schema.with_info_plain_validator_function(validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> Any:
        return handler(TypeAdapter(self.model()).core_schema)
