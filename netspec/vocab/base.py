"""Shared machinery of the vocabularies: a spec field that takes a name or a `{type: ...}` object.

A bare string may be a class name, a snake_case name or a Keras alias; it is resolved through
the registry (with "did you mean" for unknown names) into the object form with Keras's
defaults. The object form takes the canonical name only, so editors can narrow the union.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, GetJsonSchemaHandler
from pydantic_core import core_schema

from ..registry import Registry, UnknownName


class VocabModel(BaseModel):
    """Base of initializer, regularizer, constraint and activation objects."""

    # strict and deferred, as Layer's
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)

    type: str

    def describe(self) -> str:
        """Short text for summaries: `HeUniform` or `L2(l2=0.001)`."""
        args = {
            k: v
            for k, v in self.model_dump(exclude={"type"}).items()
            if v != type(self).model_fields[k].default
        }
        inner = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"{self.type}({inner})" if inner else self.type


def require_type(extra: dict[str, Any] | None = None):
    """A `json_schema_extra` that makes `type` required in the object form (as the validator
    does: the discriminated union needs it), plus `extra`."""

    def edit(schema: dict[str, Any], cls: type) -> None:
        schema["required"] = ["type", *(k for k in schema.get("required", ()) if k != "type")]
        schema.update(extra or {})

    return edit


class _NameOrObjectSchema:
    """JSON Schema: `oneOf` [enum of every accepted name, the object union] (netspec.schema
    makes each a shared definition)."""

    def __init__(self, registry: Registry):
        self.registry = registry

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        objects = handler(schema)
        names = handler(core_schema.literal_schema(self.registry.all_names()))
        return {"oneOf": [names, objects]}


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _resolver(registry: Registry, presets: dict[str, dict[str, Any]]):
    def resolve(value: Any) -> Any:
        if not isinstance(value, (str, dict, BaseModel)):  # say what is wanted, in our words
            got = "" if isinstance(value, (list, tuple)) else f" (got {value!r})"
            wanted = f"{_article(registry.kind)} name or a {{type: ...}} object"
            raise ValueError(f"should be {wanted}{got}")
        if isinstance(value, str):
            try:
                return {"type": registry.canonical(value), **presets.get(value, {})}
            except UnknownName as exc:
                raise ValueError(str(exc)) from None
        name = value.get("type") if isinstance(value, dict) else None
        if isinstance(name, str) and name not in registry.names():
            if name in registry:
                canonical = registry.canonical(name)
                raise ValueError(f"the object form takes the name '{canonical}', not '{name}'")
            hint = registry.hint(name, canonical_only=True)
            raise ValueError(f"unknown {registry.kind} '{name}'{hint}")
        return value

    return resolve


def name_or_object(
    registry: Registry[Any], presets: dict[str, dict[str, Any]] | None = None
) -> Any:
    """The annotated field type for a vocabulary (a discriminated union plus name resolution).

    `presets` maps a bare name (an alias in `registry`) to the arguments it stands for, for the
    few names whose arguments differ from the class defaults (`l1_l2`).
    """
    classes = tuple(cls for _, cls in registry.items())
    # a union of the registry's classes, built at run time: not a static type
    union = Annotated[Union[classes], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    resolver = BeforeValidator(_resolver(registry, dict(presets or {})))
    return Annotated[union, resolver, _NameOrObjectSchema(registry)]
