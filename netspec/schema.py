"""The JSON Schema of spec files, generated from the same pydantic models that validate, and
shaped for editors while it is generated (`NetspecJsonSchema`, a pydantic `GenerateJsonSchema`).

yaml-language-server, the engine of VS Code's YAML extension and of most other editors' YAML
support, is what tests/test_editor.py measures:

- every property's `description` (plain) and `markdownDescription` (hover text) say what it
  does, its default (or that it is required) and the Keras argument it follows;
- `type`, the tag of the layer and vocabulary unions, is required (as the validator requires it)
  and documents its class; editors narrow a union by the `const` (or `enum`) of `type`;
- a layer's or vocabulary object's own title and description move onto its `type`, so hovering
  a key whose value is `{type: ...}` shows the key's documentation (editors show the innermost
  schema's text);
- `anyOf` whose branches cannot overlap (`X | None`, `str | list`) becomes one schema with a
  list of types, or a `oneOf` (an optional name-or-object field: one flat `oneOf` [names,
  objects, null]); same meaning, and yaml-language-server's hover garbles `anyOf`
  ("Name || Name").

Classes are known by identity, never by name: each registry entry's definition is keyed by its
kind (`Layer.Identity`, `Initializer.Identity`, `Loss.MeanSquaredError`), each vocabulary's
names and object union are shared definitions (`InitializerName`, `InitializerObject`), and the
keys every layer takes are too (`LayerName`, ...).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import CoreModeRef, CoreRef, DefsRef, GenerateJsonSchema
from pydantic_core import core_schema

from . import schematext as text
from .catalog import KINDS, Kind
from .layers import Layer
from .spec import InputSpec, spec_model

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://netspec.dev/schemas/netspec.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "netspec.schema.json"
# Layer keys that are netspec's, not a Keras constructor argument.
NETSPEC_LAYER_KEYS = {"type", "inputs"}
_OWN = "netspec:"  # the core refs of the definitions this generator adds itself


def json_schema() -> dict[str, Any]:
    """The schema (2020-12 dialect: tuple items and discriminated unions are checked)."""
    from .blocks.nested import zoo_names
    from .schema_blocks import add_blocks

    schema = spec_model().model_json_schema(schema_generator=NetspecJsonSchema)
    schema.pop("title", None)
    schema = add_blocks(schema, zoo_names())
    return {"$schema": DIALECT, "$id": SCHEMA_ID, "title": "netspec model spec", **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


@dataclass(frozen=True)
class _Owner:
    """What documents one object schema: its class, its kind and the Keras callable."""

    cls: type[BaseModel]
    kind: Kind | None  # None: a model of the spec itself or of its sections
    keras: str | None  # `keras.layers.Dense`; None where netspec has no Keras counterpart


class NetspecJsonSchema(GenerateJsonSchema):
    """pydantic's generator, plus the editor-facing shape described in this module's doc."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._entries: dict[int, tuple[Kind, str]] = {}  # id(class) -> its kind and name
        self._tags: dict[str, set[str]] = {}  # kind -> every `type` value of its union
        self._names: dict[tuple[str, ...], Kind] = {}  # the accepted names of a vocabulary
        self._kind_of_def: dict[str, Kind] = {}  # an entry's definition key -> its kind
        for kind in KINDS:
            registry = kind.registry()
            for name, cls in registry.items():
                self._entries[id(cls)] = (kind, name)
            vocabulary = kind.name != "layers"
            self._tags[kind.name] = set(registry.names() if vocabulary else registry.all_names())
            if vocabulary:
                self._names[tuple(registry.all_names())] = kind

    # Definitions ------------------------------------------------------------------------------

    def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
        """Registry entries are keyed by kind (`Initializer.Identity`); the definitions added
        here by their own key; other models as pydantic keys them (by class name)."""
        core_ref = core_mode_ref[0]
        key = None
        if core_ref.startswith(_OWN):
            key = core_ref.removeprefix(_OWN)
        else:  # pydantic's core refs end in the id of their class: `module.Qualname:id`
            number = core_ref.rpartition(":")[2]
            entry = self._entries.get(int(number)) if number.isdigit() else None
            if entry is not None:
                key = f"{entry[0].schema}.{entry[1]}"
                self._kind_of_def[key] = entry[0]
        if key is None:
            return super().get_defs_ref(core_mode_ref)
        ref = DefsRef(key)
        self._prioritized_defsref_choices[ref] = [ref]  # pydantic renames its own keys only
        return ref

    def _shared(self, key: str, schema: dict[str, Any]) -> dict[str, Any]:
        """`schema` as the definition `key`; a reference to it."""
        defs_ref, reference = self.get_cache_defs_ref_schema(CoreRef(_OWN + key))
        assert self.definitions.setdefault(defs_ref, schema) == schema, f"$defs/{key} differs"
        return reference

    # Shaping ----------------------------------------------------------------------------------

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        json_schema = super().model_schema(schema)
        owner = self._owner(schema["cls"])
        if owner.kind is not None:
            self._document_tag(json_schema, owner)
        required = set(json_schema.get("required", ()))
        for key, prop in json_schema.get("properties", {}).items():
            if key != "type" or owner.kind is None:
                _document_property(prop, key, key in required, owner)
        return json_schema

    def _owner(self, cls: type) -> _Owner:
        entry = self._entries.get(id(cls))
        if entry is None:
            return _Owner(cls, None, "keras.Input" if cls is InputSpec else None)
        kind, name = entry
        keras: str | None = f"{kind.keras}.{name}"
        if kind.name == "layers" and not (
            getattr(cls, "keras_parity", True) and cls.__module__.startswith("netspec.")
        ):
            keras = None  # netspec's own layer, or a plugin's
        return _Owner(cls, kind, keras)

    def _document_tag(self, obj: dict[str, Any], owner: _Owner) -> None:
        """`type` is required, has no default, and carries the class's documentation."""
        assert owner.kind is not None
        tag = obj["properties"]["type"]
        tag.pop("default", None)
        obj["required"] = ["type", *(k for k in obj.get("required", ()) if k != "type")]
        values = tag.get("enum") or [tag["const"]]
        union = self._tags[owner.kind.name]
        if any(v != other and v.startswith(other) for v in values for other in union):
            # While completing, yaml-language-server takes a value for any const or enum entry
            # it begins (`Average` for `AveragePooling1D`), and would offer both layers' keys;
            # an exact pattern keeps this branch out (unless the shorter one misses a required
            # key too: then both have problems and tie). Its message is the const's: reported
            # once.
            tag["pattern"] = "^(?:" + "|".join(re.escape(v) for v in values) + ")$"
            if "const" in tag:
                tag["patternErrorMessage"] = f'Value must be "{tag["const"]}".'
            else:
                shown = ", ".join(f'"{v}"' for v in values)
                tag["patternErrorMessage"] = f"Value is not accepted. Valid values: {shown}."
        doc = text.clean(owner.cls.__doc__ or "")
        # The key that holds this object documents it (editors show the innermost schema's
        # text, which would be the class's); hovering `type` shows the class.
        obj.pop("title", None)
        obj.pop("description", None)
        keras = f"Keras: {owner.keras}." if owner.keras else ""
        tag["description"] = text.join(" / ".join(values) + ":", doc, keras)
        tag["markdownDescription"] = text.join(
            " / ".join(f"`{v}`" for v in values) + ": " + text.markdown(doc),
            f"Keras: `{owner.keras}`" if owner.keras else "",
            sep="\n\n",
        )

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> dict[str, Any]:
        """A vocabulary's object union (all of its entries) is one shared definition
        (`InitializerObject`)."""
        json_schema = super().tagged_union_schema(schema)
        mapping = json_schema.get("discriminator", {}).get("mapping", {})
        kinds = {self._kind_of_def.get(self.json_to_defs_refs.get(r, "")) for r in mapping.values()}
        kind = kinds.pop() if len(kinds) == 1 else None
        if kind is None or kind.name == "layers" or set(mapping) != self._tags[kind.name]:
            return json_schema
        return self._shared(f"{kind.schema}Object", json_schema)

    def literal_schema(self, schema: core_schema.LiteralSchema) -> dict[str, Any]:
        """A vocabulary's names (`netspec.vocab.base.name_or_object`) are one shared definition
        (`InitializerName`), with each name's documentation for completion lists."""
        json_schema = super().literal_schema(schema)
        kind = self._names.get(tuple(json_schema.get("enum", ())))
        if kind is None:
            return json_schema
        described = dict(json_schema, markdownEnumDescriptions=text.describe_names(kind))
        return self._shared(f"{kind.schema}Name", described)

    def get_union_of_schemas(self, schemas: list[dict[str, Any]]) -> dict[str, Any]:
        return text.one_of(super().get_union_of_schemas(schemas), self._types_of_ref)

    def _types_of_ref(self, ref: str) -> set[str] | None:
        defs_ref = self.json_to_defs_refs.get(ref)  # type: ignore[call-overload]
        found = self.definitions.get(defs_ref) if defs_ref is not None else None
        if found is None:  # a model still being generated (a recursive reference)
            return {"object"}
        return text.types(found, self._types_of_ref)

    def dict_schema(self, schema: core_schema.DictSchema) -> dict[str, Any]:
        json_schema = super().dict_schema(schema)
        if "patternProperties" in json_schema and "properties" not in json_schema:
            # A dict with constrained keys (input names): other keys are errors, as when
            # validating.
            json_schema.setdefault("additionalProperties", False)
        return json_schema

    def generate(self, schema: core_schema.CoreSchema, mode: Any = "validation") -> Any:
        json_schema = super().generate(schema, mode)
        return _common_layer_keys(json_schema)


def _common_layer_keys(schema: dict[str, Any]) -> dict[str, Any]:
    """The keys every layer takes (name, inputs, trainable, input_shape), where identical in
    most layers, become `$defs` entries (`LayerName`, ...) those layers refer to."""
    defs = schema["$defs"]
    prefix = next(kind.schema for kind in KINDS if kind.name == "layers") + "."
    entries = [d for key, d in defs.items() if key.startswith(prefix)]
    for key in Layer.model_fields:
        if key == "type":
            continue
        shapes = [json.dumps(e["properties"][key]) for e in entries if key in e["properties"]]
        if not shapes:
            continue
        common = max(set(shapes), key=shapes.count)
        if shapes.count(common) < 2:
            continue
        ref = "Layer" + "".join(p.capitalize() for p in key.split("_"))
        assert ref not in defs, f"$defs/{ref} is taken"
        defs[ref] = json.loads(common)
        for entry in entries:
            if json.dumps(entry["properties"].get(key)) == common:
                entry["properties"][key] = {"$ref": f"#/$defs/{ref}"}
    schema["$defs"] = dict(sorted(defs.items()))
    return schema


def _document_property(prop: dict[str, Any], key: str, required: bool, owner: _Owner) -> None:
    description = text.clean(prop.get("description", ""))
    if required:
        default, default_md = "Required.", "**Required.**"
    elif "default" not in prop or re.search(r"(^|[.;(]\s*)default:", description, re.IGNORECASE):
        default = default_md = ""  # the description says it (`Default: the previous layer`)
    elif prop["default"] is None:
        default, default_md = "Default: none.", "Default: none"
    else:
        shown = text.yaml(prop["default"])
        default, default_md = f"Default: {shown}.", f"Default: `{shown}`"
    keras = _keras_argument(key, owner)
    prop["description"] = text.join(description, default, f"Keras: {keras}." if keras else "")
    prop["markdownDescription"] = text.join(
        text.markdown(description),
        " · ".join(p for p in (default_md, f"Keras: `{keras}`" if keras else "") if p),
        sep="\n\n",
    )
    if prop.get("default", 0) is None:
        # "Default value: null" duplicates the `null` proposal in completion lists.
        del prop["default"]


def _keras_argument(key: str, owner: _Owner) -> str | None:
    if owner.keras is None:
        return None
    kind = owner.kind.name if owner.kind is not None else None
    if kind == "layers":
        if key in NETSPEC_LAYER_KEYS:
            return None
        base, field = Layer.model_fields.get(key), owner.cls.model_fields.get(key)
        if (
            base
            and field
            and (base.description, base.default) == (field.description, field.default)
        ):
            return f"keras.layers.Layer({key}=...)"  # an argument of every Keras layer
        return f"{owner.keras}({key}=...)"
    if kind == "activations":
        return f"{owner.keras}(x, {key}=...)"
    return f"{owner.keras}({key}=...)"
