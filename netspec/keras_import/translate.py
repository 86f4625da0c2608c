"""One Keras layer config as a netspec layer entry: the same class and argument names, Keras's
vocabulary objects in netspec's forms, and every argument equal to netspec's default left out.
What cannot be translated is collected as reasons, never raised one at a time."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..layers import LAYERS
from ..registry import Registry
from ..vocab import ACTIVATIONS, CONSTRAINTS, INITIALIZERS, REGULARIZERS

# Keys of every Keras layer config that are not layer arguments (handled elsewhere or ignored).
NOT_ARGUMENTS = {"name", "trainable", "dtype", "build_config", "quantization_config"}
# Keras arguments netspec does not take, ignored at these (Keras's default) values only.
KERAS_DEFAULTS = {
    "seed": None, "unroll": False, "zero_output_for_mask": False, "sparse": False,
    "synchronized": False, "renorm": False, "renorm_momentum": 0.99,
}  # fmt: skip
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


def layer_entry(class_name: str, config: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """{type, trainable?, arguments...} of one Keras layer; problems appended to `reasons`."""
    if class_name == "Lambda":
        reasons.append("a Lambda holding Python bytecode (write it as a netspec Lambda expression)")
        return {}
    if class_name not in LAYERS or LAYERS.canonical(class_name) != class_name:
        reasons.append("not a netspec layer type (a custom or unsupported Keras layer)")
        return {}
    cls = LAYERS.get(class_name)
    _check_dtype(config.get("dtype"), reasons)
    args: dict[str, Any] = {}
    for key, value in config.items():
        if key in NOT_ARGUMENTS:
            continue
        if key not in cls.model_fields or key in ("inputs", "input_shape", "type"):
            if KERAS_DEFAULTS.get(key, ...) == value or (value is None and key != "activation"):
                continue
            reasons.append(f"argument '{key}' ({value!r}) is not supported by netspec")
            continue
        try:
            args[key] = _value(key, value)
        except Unsupported as exc:
            reasons.append(f"argument '{key}': {exc}")
    if config.get("trainable") is False:
        args["trainable"] = False
    return {"type": class_name, **_without_defaults(cls, class_name, args, reasons)}


def _check_dtype(dtype: Any, reasons: list[str]) -> None:
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32"):
        reasons.append(f"dtype policy '{name}' is not supported (netspec computes in float32)")


def _value(key: str, value: Any) -> Any:
    """A Keras argument value in netspec's form."""
    if key.endswith("activation") and isinstance(value, str):
        return None if value == "linear" else value
    if isinstance(value, dict) and "class_name" in value:
        return _vocabulary(key, value)
    return value


def _vocabulary(key: str, value: dict[str, Any]) -> Any:
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
            args[k] = v
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


def _without_defaults(
    cls: type[BaseModel], kind: str, args: dict[str, Any], reasons: list[str]
) -> dict[str, Any]:
    """`args` without those equal to netspec's default (compared as validated values); an
    all-equal list written as its one value where netspec reads it the same."""
    entry = {"type": kind, **args}
    try:
        full = cls.model_validate(entry)
    except ValidationError as exc:
        reasons.append(f"netspec refuses its arguments: {_first_error(exc)}")
        return args
    out = dict(args)
    for key, value in args.items():
        if key == "data_format" and value == "channels_last":  # the spec's default
            del out[key]
            continue
        rest = {k: v for k, v in entry.items() if k != key}
        if _same(cls, rest, full, key):
            del out[key]
        elif isinstance(value, list) and value and all(v == value[0] for v in value):
            if _same(cls, {**entry, key: value[0]}, full, key):
                out[key] = value[0]
    return out


def _same(cls: type[BaseModel], entry: dict[str, Any], full: BaseModel, key: str) -> bool:
    try:
        other = cls.model_validate(entry)
    except ValidationError:
        return False
    return _norm(other.model_dump(include={key})) == _norm(full.model_dump(include={key}))


def _norm(value: Any) -> Any:
    """A value for comparison: an all-equal list as its one value (Keras's `3` for `(3, 3)`)."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_norm(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else items
    return value


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]
