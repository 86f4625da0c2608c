"""The parts of the JSON Schema for blocks, arguments and nested models (netspec/blocks):
`blocks:` and `args:`, `{block: ...}` and `{model: ...}` entries, `if:`/`repeat:` on every
entry, and `${...}` expressions accepted wherever a value is (the editor must not flag
`filters: ${4 * filters}`). Applied to the generated schema by `netspec.schema.json_schema`."""

from __future__ import annotations

from typing import Any

from .blocks.docs import BLOCK_KEYS, ENTRY_KEYS, MODEL_KEYS, USE_KEYS

_DOCS = ("title", "description", "markdownDescription", "default", "examples")
EXPRESSION = {
    "type": "string",
    "pattern": r"\$\{[^{}]*\}",
    "description": "An expression over the arguments: `${4 * filters}` is a value, "
    "`block${i}` a text template (netspec.expr.scalar).",
}
_REF = {"$ref": "#/$defs/Expression"}


def _doc(text: str) -> dict[str, str]:
    return {"description": text, "markdownDescription": text}


CONDITION = {
    "oneOf": [{"type": "boolean"}, _REF],
    **_doc(
        "Keep this entry only when true (`${conv_shortcut}`); a left-out entry passes its "
        "input through: its name then means its input."
    ),  # fmt: skip
}
REPEAT = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": 1000},
        _REF,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["count"],
            "properties": {
                "count": {"oneOf": [{"type": "integer", "minimum": 0}, _REF]},
                "index": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            },
        },
    ],
    **_doc(ENTRY_KEYS["repeat"]),
}  # fmt: skip


_NAME_SCHEMA = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}


def _use(key: str, text: str, docs: dict[str, str], extra: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        key: {"type": "string"},
        "name": {"oneOf": [dict(_NAME_SCHEMA), dict(_REF)]},
        "inputs": {"$ref": "#/$defs/LayerInputs"},
        "if": {"$ref": "#/$defs/Condition"},
        "repeat": {"$ref": "#/$defs/Repeat"},
        "as": {"$ref": "#/$defs/Handle"},
        **extra,
    }
    for name, doc in docs.items():
        props[name] = {**props[name], **_doc(doc)} if "$ref" not in props[name] else props[name]
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": True,  # the block's (or model's) own arguments
        **_doc(text),
        "properties": props,
    }


def _entry_defs(zoo: list[str]) -> dict[str, Any]:
    flag = {"oneOf": [{"type": "boolean"}, dict(_REF)]}
    model = _use("model", "Another spec used as one step of this model (Keras's nested Model).",
                 MODEL_KEYS, {"model": {"anyOf": [{"enum": zoo}, {"type": "string"}]},
                              "trainable": flag, "trainable_from": {"type": "string"}})  # fmt: skip
    block_props: dict[str, Any] = {
        "description": {"type": "string"},
        "args": {"type": "object", "additionalProperties": True},
        "inputs": {"oneOf": [{"type": "string"},
                             {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
        "outputs": {"type": "string"},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Entry"}},
    }  # fmt: skip
    for name, doc in BLOCK_KEYS.items():
        block_props[name].update(_doc(doc))
    return {
        "BlockUse": _use("block", "A use of a block of `blocks:`.", USE_KEYS, {}),
        "ModelUse": model,
        "BlockDefinition": {
            "type": "object",
            "additionalProperties": False,
            "required": ["layers"],
            **_doc("A named sub-graph with arguments, used by `{block: NAME, ...}` entries."),
            "properties": block_props,
        },
    }


def _widen_items(schema: dict[str, Any]) -> None:
    """Widen the items of `schema` (and of its branches): `[["${pad}", 1], ...]`."""
    if isinstance(schema.get("items"), dict):
        _widen(schema["items"])
    for item in schema.get("prefixItems", []):
        _widen(item)
    for key in ("oneOf", "anyOf"):
        for branch in schema.get(key, []):
            if isinstance(branch, dict):
                _widen_items(branch)


def _widen(prop: dict[str, Any]) -> None:
    """Let `prop` (and its items) also take a `${...}` expression, keeping its documentation
    on top."""
    if set(prop) <= set(_DOCS) or prop.get("const") is not None:
        return
    ref = prop.get("$ref", "")
    if ref.startswith("#/$defs/Layer") and "." not in ref:
        return  # a shared layer key (LayerName): widened itself, once
    _widen_items(prop)
    if "oneOf" in prop or "anyOf" in prop:
        key = "oneOf" if "oneOf" in prop else "anyOf"
        if _REF not in prop[key]:
            prop[key].append(dict(_REF))
        return
    simple = "type" in prop and not {"enum", "pattern", "$ref", "format"} & set(prop)
    types = prop.get("type")
    if simple and types != "object" and not (isinstance(types, list) and "object" in types):
        types = [types] if isinstance(types, str) else list(types or [])
        if "string" not in types:
            prop["type"], prop["pattern"] = [*types, "string"], EXPRESSION["pattern"]
        return
    inner = {k: prop.pop(k) for k in list(prop) if k not in _DOCS}
    prop["oneOf"] = [inner, dict(_REF)]


def add_blocks(schema: dict[str, Any], zoo: list[str]) -> dict[str, Any]:
    defs = schema["$defs"]
    for name, body in defs.items():
        for key, prop in (body.get("properties") or {}).items():
            if key != "type" and isinstance(prop, dict):
                _widen(prop)
        if name.startswith("Layer.") and "properties" in body:
            body["properties"]["if"] = {"$ref": "#/$defs/Condition"}
            body["properties"]["repeat"] = {"$ref": "#/$defs/Repeat"}
            body["properties"]["as"] = {"$ref": "#/$defs/Handle"}
    for name in [n for n in defs if n.startswith("Layer") and "." not in n]:
        _widen(defs[name])  # LayerName, LayerInputs...: shared property schemas
    items = schema["properties"]["layers"]["items"]
    defs["Layer"] = items
    defs["Entry"] = {"oneOf": [{"$ref": "#/$defs/Layer"}, {"$ref": "#/$defs/BlockUse"},
                               {"$ref": "#/$defs/ModelUse"}]}  # fmt: skip
    schema["properties"]["layers"]["items"] = {"$ref": "#/$defs/Entry"}
    handle = {**_NAME_SCHEMA, **_doc(ENTRY_KEYS["as"])}
    defs.update(_entry_defs(zoo), Expression=EXPRESSION, Condition=CONDITION, Repeat=REPEAT,
                Handle=handle)  # fmt: skip
    top = schema["properties"]
    top["blocks"].update(additionalProperties={"$ref": "#/$defs/BlockDefinition"},
                         propertyNames={"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})  # fmt: skip
    top["blocks"]["type"] = "object"
    for key, prop in top.items():
        if key not in ("netspec", "args", "blocks", "layers", "compile", "train"):
            _widen(prop)
    for key in ("compile", "train", "data"):  # sections pydantic inlined (used once)
        for section in top.get(key, {}).get("oneOf", []):
            for prop in (section.get("properties") or {}).values():
                if isinstance(prop, dict):
                    _widen(prop)
    schema["$defs"] = dict(sorted(defs.items()))
    return schema
