"""Shared machinery of the vocabularies: a spec field that takes a name or a `{type: ...}` object.

A bare string may be a class name, a snake_case name or a Keras alias; it is resolved through
the registry (with "did you mean" for unknown names) into the object form with Keras's
defaults. The object form takes the canonical name only, so editors can narrow the union.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

from ..registry import Registry, UnknownName, tagged_union


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


class NameOrObject:
    """A vocabulary field: the name resolved (`_resolver`), then the object validated by the
    one class its `type` names, as a discriminated union would (the same errors, located
    under the tag), but building only the validators of the classes a spec uses: a union
    builds every member's (all the losses, metrics and optimizers for any `compile:`).
    JSON Schema: `oneOf` [enum of every accepted name, the object union] (netspec.schema makes
    each a shared definition)."""

    def __init__(self, registry: Registry, presets: dict[str, dict[str, Any]]):
        self.registry = registry
        self.resolve = _resolver(registry, presets)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def union(self) -> Any:
        """The type the field stands for: the discriminated union of the registry's classes
        (for the JSON Schema and the reference; validation dispatches instead)."""
        return tagged_union(self.registry)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        objects = handler(TypeAdapter(self.union()).core_schema)
        names = handler(core_schema.literal_schema(self.registry.all_names()))
        return {"oneOf": [names, objects]}

    def validate(self, value: Any) -> Any:
        value = self.resolve(value)
        if isinstance(value, BaseModel):  # an object made in Python: of this vocabulary's
            name = getattr(value, "type", None)
            if isinstance(name, str) and self.registry.is_canonical(name):
                if isinstance(value, self.registry.get(name)):
                    return value
            raise ValueError(f"should be {_article(self.registry.kind)} object")
        tag = value.get("type", _MISSING)
        if tag is _MISSING:
            raise _union_error("union_tag_not_found", {"discriminator": "'type'"}, value)
        if not isinstance(tag, str) or not self.registry.is_canonical(tag):
            expected = ", ".join(repr(n) for n in self.registry.names())
            ctx = {"discriminator": "'type'", "tag": str(tag), "expected_tags": expected}
            raise _union_error("union_tag_invalid", ctx, value)
        try:
            return self.registry.get(tag).model_validate(value)
        except ValidationError as exc:  # located under the tag, as the union's errors are
            details: list[InitErrorDetails] = [
                {"type": e["type"], "loc": (tag, *e["loc"]), "input": e["input"],
                 **({"ctx": e["ctx"]} if "ctx" in e else {})}  # type: ignore[typeddict-item]
                for e in exc.errors()
            ]  # fmt: skip
            raise ValidationError.from_exception_data(exc.title, details) from None


_MISSING = object()


def _union_error(kind: str, ctx: dict[str, Any], value: Any) -> ValidationError:
    details: list[InitErrorDetails] = [{"type": kind, "loc": (), "input": value, "ctx": ctx}]
    return ValidationError.from_exception_data("vocabulary", details)


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
        if isinstance(name, str) and not registry.is_canonical(name):
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
    """The annotated field type for a vocabulary: name resolution, then the class `type` names.

    `presets` maps a bare name (an alias in `registry`) to the arguments it stands for, for the
    few names whose arguments differ from the class defaults (`l1_l2`).
    """
    return Annotated[Any, NameOrObject(registry, dict(presets or {}))]
