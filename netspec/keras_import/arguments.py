"""Keras argument values in netspec's forms (translate.py's helpers): vocabulary objects
(initializers, regularizers, constraints, activations) as `{type: Name, ...}` or their plain
name, floats as the shortest decimal of their float32 value, and the arguments equal to
netspec's default left out of an entry."""

from __future__ import annotations

import math
import struct
from typing import Any

from pydantic import BaseModel, ValidationError

from ..registry import Registry
from ..vocab import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS

VOCABULARIES: dict[str, Registry[Any]] = {
    "initializer": INITIALIZERS,
    "regularizer": REGULARIZERS,
    "constraint": CONSTRAINTS,
}


class Unsupported(Exception):
    """One reason a layer (or one of its arguments) cannot be imported."""


def is_custom(config: dict[str, Any]) -> bool:
    """Whether a serialized Keras object is a user's class (registered, or not Keras's)."""
    module = config.get("module")
    registered = config.get("registered_name")
    if registered and registered != config.get("class_name"):
        return True
    return isinstance(module, str) and not module.startswith("keras")


def short_float(value: float) -> float:
    """The shortest decimal with `value`'s float32 value: Keras 3 stores float32 arguments
    (`l2 = 9.999999747378752e-05`), which people wrote as `1e-4`; netspec computes in float32,
    so both are the same number to it."""
    if not math.isfinite(value):
        return value
    try:
        single = struct.pack("<f", value)
    except OverflowError:  # beyond float32: left as it is for netspec's bounds to judge
        return value
    for digits in range(1, 10):  # 9 significant digits always round-trip a float32
        shorter = float(f"{value:.{digits}g}")
        if struct.pack("<f", shorter) == single:
            return shorter
    return value


def plain(value: Any) -> Any:
    """`value` with every float (in lists and dicts too) as its `short_float`."""
    if isinstance(value, float):
        return short_float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def value_of(key: str, value: Any) -> Any:
    """A Keras argument value (not a nested layer) in netspec's form."""
    if key.endswith("activation") and isinstance(value, str):
        return None if value == "linear" else value
    if isinstance(value, dict) and "class_name" in value:
        return vocabulary(key, value)
    return plain(value)


def vocabulary(key: str, value: dict[str, Any]) -> Any:
    """A serialized initializer, regularizer, constraint or activation: `{type: Name, ...}`,
    or its plain name when every argument is netspec's default."""
    name = value["class_name"]
    if is_custom(value):
        raise Unsupported(f"custom class '{value.get('registered_name') or name}'")
    registry: Registry[Any] = next(
        (r for k, r in VOCABULARIES.items() if key.endswith(k)), ACTIVATIONS
    )
    if name not in registry.names():
        raise Unsupported(f"{registry.kind} '{name}' is not supported by netspec")
    cls = registry.get(name)
    args = {}
    for k, v in (value.get("config") or {}).items():
        if k in cls.model_fields and k != "type":
            args[k] = plain(v)
        elif v is not None:
            raise Unsupported(f"{registry.kind} {name}: argument '{k}' is not supported")
    args = {k: v for k, v in args.items() if not _is_default(cls, k, v)}
    return {"type": name, **args} if args else _short_name(registry, name)


def _is_default(cls: type[BaseModel], key: str, value: Any) -> bool:
    default = cls.model_fields[key].default
    return value == default or (isinstance(value, list) and tuple(value) == default)


def _short_name(registry: Any, name: str) -> str:
    """The snake_case alias of a class name (`he_normal`), as people write it; else the name."""
    aliases = [a for a, c in registry.aliases().items() if c == name and a.islower()]
    return aliases[0] if aliases else name


def without_defaults(
    cls: type[BaseModel], kind: str, args: dict[str, Any], reasons: list[str], rank: int | None
) -> dict[str, Any]:
    """`args` without those equal to netspec's default (compared as validated values, or as
    what a None default derives: `_derived`); an all-equal list written as its one value where
    netspec reads it the same. `rank`: the (first) input's rank, batch axis included."""
    entry = {"type": kind, **args}
    try:
        full = cls.model_validate(entry)
    except ValidationError as exc:
        reasons.append(f"netspec refuses its arguments: {first_error(exc)}")
        return args
    out = dict(args)
    for key, value in args.items():
        if key == "data_format" and value == "channels_last":  # the spec's default
            del out[key]
            continue
        if _derived(cls, key, args, rank):
            del out[key]
            continue
        rest = {k: v for k, v in entry.items() if k != key}
        if _same(cls, rest, full, key):
            del out[key]
        else:
            out[key] = _collapsed(cls, entry, full, key, value)
    return out


def _collapsed(
    cls: type[BaseModel], entry: dict[str, Any], full: BaseModel, key: str, value: Any
) -> Any:
    """An all-equal list as its one value, level by level while netspec reads it the same:
    Keras's `((3, 3), (3, 3))` padding as `3`, but `((0, 1), (0, 1))` as it is."""
    while isinstance(value, list) and value and all(v == value[0] for v in value):
        if not _same(cls, {**entry, key: value[0]}, full, key):
            break
        value = value[0]
    return value


def _derived(cls: type[BaseModel], key: str, args: dict[str, Any], rank: int | None) -> bool:
    """Whether `args[key]` is what netspec's default None stands for, which Keras writes out:
    pooling's strides (pool_size), MultiHeadAttention's value_dim (key_dim) and attention_axes
    (every axis between the batch and the features of a query of rank `rank`); and an `axis`
    that is the last one, netspec's default -1 (Keras 2 writes LayerNormalization's as [2])."""
    fields = cls.model_fields
    if key == "axis" and key in fields and fields[key].default == -1 and rank is not None:
        return _norm(args[key]) in (-1, rank - 1)
    if key not in fields or fields[key].default is not None:
        return False
    if key == "strides" and "pool_size" in fields:
        implied = args.get("pool_size", fields["pool_size"].default)
    elif key == "value_dim" and "key_dim" in args:
        implied = args["key_dim"]
    elif key == "attention_axes" and rank is not None:
        implied = list(range(1, rank - 1))
    else:
        return False
    return _norm(args[key]) == _norm(implied)


def _same(cls: type[BaseModel], entry: dict[str, Any], full: BaseModel, key: str) -> bool:
    try:
        other = cls.model_validate(entry)
    except ValidationError:
        return False
    field = field_names(cls).get(key, key)  # `include` takes field names, not aliases
    return _norm(other.model_dump(include={field})) == _norm(full.model_dump(include={field}))


def field_names(cls: type[BaseModel]) -> dict[str, str]:
    """{argument name as written: field name}: an alias (MultiHeadAttention's `output_shape`)
    is what specs and Keras write."""
    return {info.alias or name: name for name, info in cls.model_fields.items()}


def _norm(value: Any) -> Any:
    """A value for comparison: an all-equal list as its one value (Keras's `3` for `(3, 3)`),
    only where that one value is a number: `((0, 1), (0, 1))` (one-sided padding) is not
    `(0, 1)`, which netspec reads as `((0, 0), (1, 1))`."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_norm(v) for v in value]
        scalar = items and not isinstance(items[0], (list, dict))
        return items[0] if scalar and all(v == items[0] for v in items) else items
    return value


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]
