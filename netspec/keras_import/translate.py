"""One Keras layer config as a netspec layer entry: the same class and argument names, Keras's
vocabulary objects in netspec's forms (arguments.py), every argument equal to netspec's default
left out, and the layers nested in wrappers (Bidirectional, TimeDistributed, RNN's cell)
translated the same way. What cannot be translated is collected as reasons, never raised one at
a time. A plugin's layer may import a user's Keras class (`imports_keras_class`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..layers import LAYERS
from ..registry import entry_names
from .arguments import Unsupported, field_names, value_of, without_defaults
from .arguments import is_custom as _is_users

# Keys of every Keras layer config that are not layer arguments (handled elsewhere or ignored);
# Keras 2's: the first layer's batch_input_shape and Embedding's input_length (the model's
# input says the shape) and the recurrent layers' implementation (a choice of kernels giving
# the same numbers).
NOT_ARGUMENTS = {
    "name", "trainable", "dtype", "build_config", "quantization_config",
    "batch_input_shape", "input_length", "implementation",
}  # fmt: skip
# Keras arguments netspec does not take, ignored at these (Keras's default) values only.
KERAS_DEFAULTS = {
    "seed": None, "unroll": False, "zero_output_for_mask": False, "sparse": False,
    "synchronized": False, "renorm": False, "renorm_momentum": 0.99, "rms_scaling": False,
    "time_major": False,
}  # fmt: skip
# Keras's explicit masks of a call (attention's), which netspec does not take.
CALL_MASKS = ("query_mask", "value_mask", "key_mask", "attention_mask")
# Arguments holding a serialized layer (or cell, or a list of cells), translated as entries.
NESTED = ("layer", "backward_layer", "cell", "cells")
# Keras call arguments that netspec takes as layer arguments (the attention layers').
CALL_ARGUMENTS = ("use_causal_mask", "return_attention_scores")
# {Keras registered name (`package>Class`): netspec layer type}, filled by plugins.
KERAS_CLASSES: dict[str, str] = {}

LayerClass = TypeVar("LayerClass", bound=type[BaseModel])


def imports_keras_class(registered_name: str) -> Callable[[LayerClass], LayerClass]:
    """Class decorator for a plugin's layer (after `register_layer`): `netspec import` writes
    the Keras custom class registered as `registered_name` (`package>Class`, as
    keras.saving.register_keras_serializable names it) as this layer, its config's arguments
    translated as a built-in layer's."""

    def declare(cls: LayerClass) -> LayerClass:
        KERAS_CLASSES[registered_name] = entry_names(cls)[0]  # its canonical `type`
        return cls

    return declare


def is_custom(config: dict[str, Any]) -> bool:
    """Whether a serialized Keras object is a user's class (registered, or not Keras's) that
    no plugin's layer imports."""
    return _is_users(config) and _plugin_type(config) is None


def _plugin_type(config: dict[str, Any]) -> str | None:
    LAYERS.names()  # the installed plugins register themselves when the catalogue is read
    name = config.get("registered_name") or config.get("class_name")
    return KERAS_CLASSES.get(name) if isinstance(name, str) else None


def layer_entry(
    class_name: str,
    config: dict[str, Any],
    reasons: list[str],
    build_config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """{type, trainable?, arguments...} of one Keras layer; problems appended to `reasons`.
    `class_name` is Keras's class name, or the registered name of a custom class (a plugin's
    layer may import it); `build_config` (the layer's, beside its config) tells the input's
    rank, which some of Keras's written-out defaults depend on."""
    if class_name == "Lambda":
        reasons.append("a Lambda holding Python bytecode (write it as a netspec Lambda expression)")
        return {}
    kind = _plugin_type({"class_name": class_name}) or class_name
    if kind not in LAYERS or LAYERS.canonical(kind) != kind:
        reasons.append("not a netspec layer type (a custom or unsupported Keras layer)")
        return {}
    if kind == "Bidirectional":
        config = _bidirectional(config)
    entry = _entry(LAYERS.get(kind), kind, config, reasons, _rank(build_config))
    if kind == "Bidirectional" and "backward_layer" in entry and "layer" in entry:
        if entry["backward_layer"] == {**entry["layer"], "go_backwards": True}:
            del entry["backward_layer"]  # Keras's own backward copy: netspec's default
    return entry


def _bidirectional(config: dict[str, Any]) -> dict[str, Any]:
    """Bidirectional's config without the zero_output_for_mask Keras sets on its layers (to
    their return_sequences; netspec's Bidirectional does the same)."""
    out = dict(config)
    for key in ("layer", "backward_layer"):
        inner = config.get(key)
        if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
            args = dict(inner["config"])
            if args.get("zero_output_for_mask") == args.get("return_sequences", False):
                args.pop("zero_output_for_mask", None)
            out[key] = {**inner, "config": args}
    return out


def _rank(build_config: dict[str, Any] | None) -> int | None:
    """The rank (batch axis included) of the first input in a Keras build_config."""
    config = build_config or {}
    shapes = list((config.get("shapes_dict") or {}).values())  # MultiHeadAttention's: query first
    shape = config.get("input_shape") or (shapes[0] if shapes else None)
    flat = isinstance(shape, list) and not any(isinstance(d, list) for d in shape)
    return len(shape) if flat and isinstance(shape, list) else None


def _entry(
    cls: type[BaseModel],
    kind: str,
    config: dict[str, Any],
    reasons: list[str],
    rank: int | None = None,
) -> dict[str, Any]:
    """The entry of a layer (or cell) of netspec class `cls` from its Keras config."""
    _check_dtype(config.get("dtype"), reasons)
    fields = field_names(cls)
    args: dict[str, Any] = {}
    for key, value in config.items():
        if key in NOT_ARGUMENTS:
            continue
        if key not in fields or key in ("inputs", "input_shape", "type"):
            if KERAS_DEFAULTS.get(key, ...) == value or (value is None and key != "activation"):
                continue
            reasons.append(f"argument '{key}' ({value!r}) is not supported by netspec")
            continue
        try:
            args[key] = _nested(key, value, reasons) if key in NESTED else value_of(key, value)
        except Unsupported as exc:
            reasons.append(f"argument '{key}': {exc}")
    if config.get("trainable") is False:
        if "trainable" in fields:
            args["trainable"] = False
        else:
            reasons.append(f"a frozen {kind} (trainable: false) is not supported here")
    return {"type": kind, **without_defaults(cls, kind, args, reasons, rank)}


def _nested(key: str, value: Any, reasons: list[str]) -> Any:
    """A serialized layer or cell (a list of them for `cells`) as a netspec entry."""
    if isinstance(value, list):
        return [_nested(key, v, reasons) for v in value]
    if value is None:
        return None
    if not isinstance(value, dict) or "class_name" not in value:
        raise Unsupported(f"expected a serialized Keras layer, got {value!r}")
    name = value["class_name"]
    if is_custom(value):
        raise Unsupported(f"custom class '{value.get('registered_name') or name}'")
    config = value.get("config") or {}
    problems: list[str] = []
    if key in ("cell", "cells"):
        from ..layers.rnn import CELLS

        if name not in CELLS:
            raise Unsupported(f"'{name}' is not a netspec RNN cell type")
        entry = _entry(CELLS.get(name), name, config, problems)
    else:
        kind = _plugin_type(value) or name
        entry = layer_entry(kind, config, problems, value.get("build_config"))
    reasons.extend(f"argument '{key}' ({name}): {p}" for p in problems)
    return entry


def _check_dtype(dtype: Any, reasons: list[str]) -> None:
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32"):
        reasons.append(f"dtype policy '{name}' is not supported (netspec computes in float32)")


def call_arguments(class_name: str, kwargs: dict[str, Any], reasons: list[str]) -> dict[str, Any]:
    """Layer arguments for the keyword arguments of a layer's call in functional code (other
    than tensors, `training` and `mask`, which the importer handles), or reasons: the
    attention layers' `use_causal_mask` and `return_attention_scores` are netspec layer
    arguments (written only when true, false being their default)."""
    kind = _plugin_type({"class_name": class_name}) or class_name
    fields = field_names(LAYERS.get(kind)) if kind in LAYERS else {}
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in CALL_ARGUMENTS and key in fields and isinstance(value, bool):
            if value:
                out[key] = True
        else:
            reasons.append(_call_reason(kind, key, value))
    return out


def _call_reason(kind: str, key: str, value: Any) -> str:
    """Why the call argument `key` of a `kind` layer cannot be imported."""
    if key == "initial_state":
        return (
            "call argument 'initial_state' is not supported: netspec's recurrent layers start "
            "from zero states"
        )
    if key in CALL_MASKS:
        return (
            f"call argument '{key}' is not supported: netspec's masks come from "
            "Embedding(mask_zero) or Masking layers"
        )
    shown = "a tensor" if _is_tensor(value) else repr(value)
    return f"call argument '{key}' ({shown}) of {kind} has no netspec equivalent"


def _is_tensor(value: Any) -> bool:
    if isinstance(value, list):
        return any(_is_tensor(v) for v in value)
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"
