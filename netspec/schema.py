"""The JSON Schema of spec files, generated from the same pydantic models that validate.

pydantic's schema is shaped for editors afterwards (yaml-language-server, the engine of VS Code's
YAML extension and of most other editors' YAML support, is what tests/test_editor.py measures):

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
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import registries
from .layers import Layer
from .spec import InputSpec, SpecBase, spec_model

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://netspec.dev/schemas/netspec.schema.json"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "netspec.schema.json"

# The Keras namespace of each registry's canonical names.
KERAS_MODULES = {
    "layers": "keras.layers",
    "initializers": "keras.initializers",
    "regularizers": "keras.regularizers",
    "constraints": "keras.constraints",
    "activations": "keras.activations",
}
# Layer keys that are netspec's, not a Keras constructor argument.
NETSPEC_LAYER_KEYS = {"type", "inputs"}


def json_schema() -> dict[str, Any]:
    """The schema (2020-12 dialect: tuple items and discriminated unions are checked)."""
    schema = spec_model().model_json_schema()
    schema = _for_editors(schema)
    schema.pop("title", None)
    return {"$schema": DIALECT, "$id": SCHEMA_ID, "title": "netspec model spec", **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"


@dataclass
class _Owner:
    """What documents one object schema: its class and the Keras callable it mirrors."""

    cls: type
    kind: str  # a key of registries(), or "spec"
    keras: str | None  # `keras.layers.Dense`; None where netspec has no Keras counterpart
    tagged: bool  # a member of a discriminated union on `type`


def _owners() -> dict[tuple[str, Any], _Owner]:
    """Owners by (schema title, value of `type`), the pair that identifies a $defs entry."""
    owners: dict[tuple[str, Any], _Owner] = {
        (SpecBase.__name__, None): _Owner(SpecBase, "spec", None, False),
        ("Spec", None): _Owner(SpecBase, "spec", None, False),
        (InputSpec.__name__, None): _Owner(InputSpec, "spec", "keras.Input", False),
    }
    for kind, registry in registries().items():
        for name, cls in registry.items():
            keras = f"{KERAS_MODULES[kind]}.{name}"
            if kind == "layers" and not (
                getattr(cls, "keras_parity", True) and cls.__module__.startswith("netspec.")
            ):
                keras = None  # netspec's own layer, or a plugin's
            owners[(_title(cls), name)] = _Owner(cls, kind, keras, True)
    return owners


def _title(cls: type) -> str:
    return cls.model_config.get("title") or cls.__name__


def _for_editors(schema: dict[str, Any]) -> dict[str, Any]:
    owners = _owners()
    # Every `type` value of each union (a layer's aliases included; objects take class names).
    tags = {
        kind: set(registry.all_names() if kind == "layers" else registry.names())
        for kind, registry in registries().items()
    }
    objects = [schema, *schema.get("$defs", {}).values()]
    for obj in objects:
        props = obj.get("properties", {})
        tag = props.get("type", {})
        value = tag.get("const", (tag.get("enum") or [None])[0])
        owner = owners.get((obj.get("title"), value)) or owners.get((obj.get("title"), None))
        if owner is None:
            continue
        if owner.tagged:
            _document_tag(obj, owner, tags[owner.kind])
        required = set(obj.get("required", ()))
        for key, prop in props.items():
            if key == "type" and owner.tagged:
                continue
            _document_property(prop, key, key in required, owner)
    return _common_layer_keys(_vocabulary_defs(_one_of(schema)))


def _common_layer_keys(schema: dict[str, Any]) -> dict[str, Any]:
    """The keys every layer takes (name, inputs, trainable, input_shape), where identical in
    most layers, become `$defs` entries (`LayerName`, ...) those layers refer to."""
    defs = schema["$defs"]
    entries = [d for d in defs.values() if "type" in d.get("properties", {})]
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


def _vocabulary_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """Each vocabulary's names (with per-name documentation, which completion lists show) and
    object union become two `$defs` entries (`InitializerName`, `InitializerObject`), which
    every field refers to instead of carrying its own copy."""
    from .vocab.regularizers import STRING_PRESETS

    defs: dict[str, Any] = {}
    by_names, by_tags = {}, {}
    for kind, registry in registries().items():
        if kind == "layers":
            continue
        prefix = kind[:-1].capitalize()
        by_names[tuple(registry.all_names())] = (f"{prefix}Name", registry)
        by_tags[frozenset(registry.names())] = f"{prefix}Object"

    def describe(registry, name: str) -> str:
        canonical = registry.canonical(name)
        doc = _markdown(_clean(registry.get(name).__doc__ or ""))
        if name in STRING_PRESETS:
            args = ", ".join(f"{k}={v}" for k, v in STRING_PRESETS[name].items())
            return f"`{canonical}({args})`: {doc}"
        return doc if name == canonical else f"`{canonical}`: {doc}"

    def hoist(node: Any) -> Any:
        if isinstance(node, list):
            return [hoist(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: hoist(v) for k, v in node.items()}
        names = by_names.get(tuple(node.get("enum", ())))
        tags = frozenset(node.get("discriminator", {}).get("mapping", {}))
        if names is not None and set(node) == {"type", "enum"}:
            ref, registry = names
            node["markdownEnumDescriptions"] = [describe(registry, n) for n in node["enum"]]
        elif tags in by_tags and set(node) == {"discriminator", "oneOf"}:
            ref = by_tags[tags]
        else:
            return node
        assert ref not in schema.get("$defs", {}), f"$defs/{ref} is taken"
        defs[ref] = node
        return {"$ref": f"#/$defs/{ref}"}

    schema = hoist(schema)
    schema["$defs"] = dict(sorted({**schema.get("$defs", {}), **defs}.items()))
    return schema


def _document_tag(obj: dict[str, Any], owner: _Owner, union: set[str]) -> None:
    """`type` is required, has no default, and carries the class's documentation."""
    tag = obj["properties"]["type"]
    tag.pop("default", None)
    obj["required"] = ["type", *(k for k in obj.get("required", ()) if k != "type")]
    values = tag.get("enum") or [tag["const"]]
    if any(v != other and v.startswith(other) for v in values for other in union):
        # While completing, yaml-language-server takes a value for any const or enum entry it
        # begins (`Average` for `AveragePooling1D`), and would offer both layers' keys; an
        # exact pattern keeps this branch out (unless the shorter one misses a required key
        # too: then both have problems and tie). Its message is the const's: reported once.
        tag["pattern"] = "^(?:" + "|".join(re.escape(v) for v in values) + ")$"
        if "const" in tag:
            tag["patternErrorMessage"] = f'Value must be "{tag["const"]}".'
        else:
            shown = ", ".join(f'"{v}"' for v in values)
            tag["patternErrorMessage"] = f"Value is not accepted. Valid values: {shown}."
    doc = _clean(owner.cls.__doc__ or "")
    # The key that holds this object documents it (editors show the innermost schema's text,
    # which would be the class's); hovering `type` shows the class.
    obj.pop("title", None)
    obj.pop("description", None)
    keras = f"Keras: {owner.keras}." if owner.keras else ""
    tag["description"] = _join(" / ".join(values) + ":", doc, keras)
    tag["markdownDescription"] = _join(
        " / ".join(f"`{v}`" for v in values) + ": " + _markdown(doc),
        f"Keras: `{owner.keras}`" if owner.keras else "",
        sep="\n\n",
    )


def _document_property(prop: dict[str, Any], key: str, required: bool, owner: _Owner) -> None:
    text = _clean(prop.get("description", ""))
    if required:
        default, default_md = "Required.", "**Required.**"
    elif "default" not in prop or re.search(r"(^|[.;(]\s*)default:", text, re.IGNORECASE):
        default = default_md = ""  # the description says it (`Default: the previous layer`)
    elif prop["default"] is None:
        default, default_md = "Default: none.", "Default: none"
    else:
        shown = _yaml(prop["default"])
        default, default_md = f"Default: {shown}.", f"Default: `{shown}`"
    keras = _keras_argument(key, owner)
    prop["description"] = _join(text, default, f"Keras: {keras}." if keras else "")
    prop["markdownDescription"] = _join(
        _markdown(text),
        " · ".join(p for p in (default_md, f"Keras: `{keras}`" if keras else "") if p),
        sep="\n\n",
    )
    if prop.get("default", 0) is None:
        # "Default value: null" duplicates the `null` proposal in completion lists.
        del prop["default"]


def _keras_argument(key: str, owner: _Owner) -> str | None:
    if owner.keras is None:
        return None
    if owner.kind == "layers":
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
    if owner.kind == "activations":
        return f"{owner.keras}(x, {key}=...)"
    return f"{owner.keras}({key}=...)"


def _one_of(node: Any) -> Any:
    """`anyOf` whose branches cannot overlap becomes one schema with a list of types where each
    branch only constrains its own type (`str | None`, `list[int] | None`, `int | list[int]`),
    else `oneOf`, nested plain `oneOf` flattened (an optional name-or-object field)."""
    if isinstance(node, list):
        return [_one_of(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _one_of(v) for k, v in node.items()}
    if "patternProperties" in node and "properties" not in node:
        # A dict with constrained keys (input names): other keys are errors, as when validating.
        node.setdefault("additionalProperties", False)
    branches = node.get("anyOf")
    if branches is None or not _disjoint(branches):
        return node
    del node["anyOf"]
    merged = _merged(branches)
    if merged is not None:
        return {**merged, **node}
    flat = []
    for branch in branches:
        flat.extend(branch["oneOf"] if set(branch) == {"oneOf"} else [branch])
    kinds = [k for b in flat for k in sorted(_types(b) or ()) if k != "null"]
    if any(b.get("type") == "null" for b in flat):
        kinds.append("null")
    # The union's types, for editors that guess what to insert from `type` (yaml-language-server
    # inserts a bare key, without ":", for a `oneOf` without `type`).
    return {"type": list(dict.fromkeys(kinds)), "oneOf": flat, **node}


# The keywords that constrain only values of one JSON type (other values pass them).
TYPE_KEYWORDS = {
    "string": {"pattern", "minLength", "maxLength", "format"},
    "integer": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"},
    "object": {"properties", "patternProperties", "additionalProperties", "propertyNames"},
    "boolean": set(),
    "null": set(),
}


def _merged(branches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One schema equivalent to `anyOf` of simple branches of distinct types, else None."""
    kinds: list[str] = []
    out: dict[str, Any] = {}
    enum: list[Any] | None = None
    for branch in branches:
        kind = branch.get("type")
        if not isinstance(kind, str) or kind not in TYPE_KEYWORDS:
            return None
        extra = [k for k in branch if k != "type"]  # in order: the output is deterministic
        if "enum" in extra and enum is None:
            enum = list(branch["enum"])
            extra.remove("enum")
        if not set(extra) <= TYPE_KEYWORDS[kind]:
            return None
        kinds.append(kind)
        out.update({k: branch[k] for k in extra})
    if {"integer", "number"} <= set(kinds):
        return None
    if enum is not None:
        if len(kinds) != 1 + kinds.count("null") or any(k not in ("string", "null") for k in kinds):
            return None
        out["enum"] = enum + ([None] if "null" in kinds else [])
    return {"type": kinds, **out}


JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def _types(schema: dict[str, Any]) -> set[str] | None:
    """The JSON types a schema can accept, or None when unknown."""
    if "const" in schema:
        return {JSON_TYPES.get(type(schema["const"]), "object")}
    if "enum" in schema:
        return {JSON_TYPES.get(type(v), "object") for v in schema["enum"]}
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds) if isinstance(kinds, list) else {kinds}
    if "$ref" in schema:
        return {"object"} if schema["$ref"].startswith("#/$defs/") else None
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out: set[str] = set()
            for branch in schema[key]:
                kinds = _types(branch)
                if kinds is None:
                    return None
                out |= kinds
            return out
    return None


def _disjoint(branches: list[dict[str, Any]]) -> bool:
    seen: set[str] = set()
    for branch in branches:
        kinds = _types(branch)
        if kinds is None:
            return False
        if "number" in kinds or "integer" in kinds:
            kinds = kinds | {"number", "integer"}
        if kinds & seen:
            return False
        seen |= kinds
    return True


def _clean(text: str) -> str:
    """Docstring or description as one paragraph per blank-line block."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(b.split()) for b in blocks if b.strip())


def _markdown(text: str) -> str:
    """Plain text as markdown: `code` spans kept, other markdown characters escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        p if p.startswith("`") else re.sub(r"([\\*_\[\]<>#|])", r"\\\1", p) for p in parts
    )


def _yaml(value: Any) -> str:
    """A default as it is written in a spec (flow style)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _join(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)
