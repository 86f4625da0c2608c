"""The parts of the JSON Schema for blocks, arguments and nested models (netspec/blocks):
`blocks:` and `args:`, `{block: ...}` and `{model: ...}` entries, `if:`/`repeat:` on every
entry, and `${...}` expressions accepted wherever a value is (the editor must not flag
`filters: ${4 * filters}`). Applied to the generated schema by `netspec.schema.json_schema`."""

from __future__ import annotations

from typing import Any

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
    **_doc("Keep this entry only when true (`${conv_shortcut}`); a left-out entry passes its "
           "input through: its name then means its input."),  # fmt: skip
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
    **_doc("Repeat this entry n times, each copy taking the previous one's output; the "
           "repetition index `i` (1..n, or `{count: n, index: j}`) is usable in `${...}`."),
}  # fmt: skip


def _use(key: str, text: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "additionalProperties": True,  # the block's (or model's) own arguments
        **_doc(text),
        "properties": {
            "name": {"oneOf": [{"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}, _REF],
                     **_doc("Instance name: its layers are named `NAME_layer`.")},
            "inputs": {"$ref": "#/$defs/LayerInputs"},
            "if": {"$ref": "#/$defs/Condition"},
            "repeat": {"$ref": "#/$defs/Repeat"},
            **extra,
        },
    }  # fmt: skip


def _entry_defs(zoo: list[str]) -> dict[str, Any]:
    model_ref = {"anyOf": [{"enum": zoo}, {"type": "string"}],
                 **_doc("A spec path (relative to this spec) or an applications-zoo name.")}
    return {
        "BlockUse": _use("block", "A use of a block of `blocks:`; other keys are its arguments.",
                         {"block": {"type": "string", **_doc("The block's name.")}}),
        "ModelUse": _use("model", "Another spec used as one step of this model (Keras's nested "
                         "Model); other keys set its args (include_top, pooling, weights...).", {
            "model": model_ref,
            "trainable": {"oneOf": [{"type": "boolean"}, _REF],
                          **_doc("false freezes the model (BatchNormalization in inference).")},
            "trainable_from": {"type": "string", **_doc(
                "Freeze the layers before this one (fine-tuning the top of a base model).")},
        }),
        "BlockDefinition": {
            "type": "object",
            "additionalProperties": False,
            "required": ["layers"],
            **_doc("A named sub-graph with arguments, used by `{block: NAME, ...}` entries."),
            "properties": {
                "description": {"type": "string", **_doc("Free text, for people.")},
                "args": {"type": "object", "additionalProperties": True, **_doc(
                    "Arguments and their defaults (`required`: the use must give it).")},
                "inputs": {"oneOf": [{"type": "string"}, {"type": "array", "minItems": 1,
                           "items": {"type": "string"}}], **_doc("Input names. Default: [x].")},
                "outputs": {"type": "string", **_doc("The layer whose output the block "
                            "returns. Default: the last one.")},
                "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Entry"},
                           **_doc("The block's layers, as in `layers:`.")},
            },
        },
    }  # fmt: skip


def _widen(prop: dict[str, Any]) -> None:
    """Let `prop` also take a `${...}` expression, keeping its documentation on top."""
    if set(prop) <= set(_DOCS) or prop.get("const") is not None:
        return
    if "oneOf" in prop or "anyOf" in prop:
        key = "oneOf" if "oneOf" in prop else "anyOf"
        if _REF not in prop[key]:
            prop[key].append(dict(_REF))
        return
    simple = "type" in prop and not {"enum", "pattern", "$ref", "format"} & set(prop)
    types = prop.get("type")
    if simple and types != "object" and not (isinstance(types, list) and "object" in types):
        types = [types] if isinstance(types, str) else list(types)
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
    for name in [n for n in defs if n.startswith("Layer") and "." not in n]:
        _widen(defs[name])  # LayerName, LayerInputs...: shared property schemas
    # In a block, `1_conv` is the end of a name (`conv2_block1_1_conv`): the editor takes
    # names of identifier characters; netspec checks the expanded name.
    for branch in defs["LayerName"].get("oneOf", []):
        if "pattern" in branch and "type" in branch:
            branch["pattern"] = "^[A-Za-z0-9_]+$"
    items = schema["properties"]["layers"]["items"]
    defs["Layer"] = items
    defs["Entry"] = {"oneOf": [{"$ref": "#/$defs/Layer"}, {"$ref": "#/$defs/BlockUse"},
                               {"$ref": "#/$defs/ModelUse"}]}  # fmt: skip
    schema["properties"]["layers"]["items"] = {"$ref": "#/$defs/Entry"}
    defs.update(_entry_defs(zoo), Expression=EXPRESSION, Condition=CONDITION, Repeat=REPEAT)
    top = schema["properties"]
    top["blocks"].update(additionalProperties={"$ref": "#/$defs/BlockDefinition"},
                         propertyNames={"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"})  # fmt: skip
    top["blocks"].pop("type", None)
    top["blocks"]["type"] = "object"
    for key, prop in top.items():
        if key not in ("netspec", "args", "blocks", "layers", "compile", "train"):
            _widen(prop)
    schema["$defs"] = dict(sorted(defs.items()))
    return schema
