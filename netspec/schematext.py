"""The pieces of the JSON Schema's editor-facing shape that need no generator state
(netspec.schema uses them while generating): description text, the names' documentation,
and unions whose branches cannot overlap as one schema or a flat `oneOf`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import Kind

# The JSON types a `$ref` resolves to (None when unknown).
RefTypes = Callable[[str], "set[str] | None"]


def clean(text: str) -> str:
    """Docstring or description as one paragraph per blank-line block."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(b.split()) for b in blocks if b.strip())


def markdown(text: str) -> str:
    """Plain text as markdown: `code` spans kept, other markdown characters escaped."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(
        p if p.startswith("`") else re.sub(r"([\\*_\[\]<>#|])", r"\\\1", p) for p in parts
    )


def yaml(value: Any) -> str:
    """A default as it is written in a spec (flow style)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def join(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def describe_names(kind: Kind) -> list[str]:
    """What each name of a vocabulary stands for, in `all_names()` order (completion lists
    show it): its class's doc, after the canonical name for an alias, with the arguments of a
    bare name that are not the class defaults (`l1_l2`)."""
    from .vocab.regularizers import STRING_PRESETS

    registry = kind.registry()
    presets = STRING_PRESETS if kind.name == "regularizers" else {}
    out = []
    for name in registry.all_names():
        canonical = registry.canonical(name)
        doc = markdown(clean(registry.get(name).__doc__ or ""))
        if name in presets:
            args = ", ".join(f"{k}={v}" for k, v in presets[name].items())
            out.append(f"`{canonical}({args})`: {doc}")
        else:
            out.append(doc if name == canonical else f"`{canonical}`: {doc}")
    return out


def one_of(node: dict[str, Any], ref_types: RefTypes) -> dict[str, Any]:
    """`anyOf` whose branches cannot overlap becomes one schema with a list of types where each
    branch only constrains its own type (`str | None`, `list[int] | None`, `int | list[int]`),
    else `oneOf`, nested plain `oneOf` flattened (an optional name-or-object field)."""
    branches = node.get("anyOf")
    if branches is None or not _disjoint(branches, ref_types):
        return node
    node = {k: v for k, v in node.items() if k != "anyOf"}
    merged = _merged(branches)
    if merged is not None:
        return {**merged, **node}
    flat: list[dict[str, Any]] = []
    for branch in branches:  # an inner union's `oneOf` joins this one (its `type` list too)
        inner = set(branch) == {"oneOf"} or (
            set(branch) == {"type", "oneOf"} and isinstance(branch["type"], list)
        )
        flat.extend(branch["oneOf"] if inner else [branch])
    kinds = [k for b in flat for k in sorted(types(b, ref_types) or ()) if k != "null"]
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
    """One schema equivalent to `anyOf` of simple branches of distinct types, else None (a
    branch may be such a merged schema already: an inner union)."""
    kinds: list[str] = []
    out: dict[str, Any] = {}
    enum: list[Any] | None = None
    for branch in branches:
        own = branch.get("type")
        own = [own] if isinstance(own, str) else own
        if not isinstance(own, list) or not set(own) <= set(TYPE_KEYWORDS):
            return None
        extra = [k for k in branch if k != "type"]  # in order: the output is deterministic
        if "enum" in extra and enum is None:
            enum = [v for v in branch["enum"] if v is not None]
            extra.remove("enum")
        if not set(extra) <= set().union(*(TYPE_KEYWORDS[k] for k in own)):
            return None
        kinds.extend(own)
        out.update({k: branch[k] for k in extra})
    if {"integer", "number"} <= set(kinds):
        return None
    if enum is not None:
        if len(kinds) != 1 + kinds.count("null") or any(k not in ("string", "null") for k in kinds):
            return None
        out["enum"] = enum + ([None] if "null" in kinds else [])
    return {"type": kinds, **out}


JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def types(schema: dict[str, Any], ref_types: RefTypes) -> set[str] | None:
    """The JSON types a schema can accept, or None when unknown."""
    if "const" in schema:
        return {JSON_TYPES.get(type(schema["const"]), "object")}
    if "enum" in schema:
        return {JSON_TYPES.get(type(v), "object") for v in schema["enum"]}
    if "type" in schema:
        kinds = schema["type"]
        return set(kinds) if isinstance(kinds, list) else {kinds}
    if "$ref" in schema:
        return ref_types(schema["$ref"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out: set[str] = set()
            for branch in schema[key]:
                kinds = types(branch, ref_types)
                if kinds is None:
                    return None
                out |= kinds
            return out
    return None


def _disjoint(branches: list[dict[str, Any]], ref_types: RefTypes) -> bool:
    seen: set[str] = set()
    for branch in branches:
        kinds = types(branch, ref_types)
        if kinds is None:
            return False
        if "number" in kinds or "integer" in kinds:
            kinds = kinds | {"number", "integer"}
        if kinds & seen:
            return False
        seen |= kinds
    return True
