"""Keras 3 weight files: `.weights.h5` (model.save_weights) and the `model.weights.h5` inside a
`.keras` archive (model.save), read with h5py.

Keras 3's saving_lib names each group by the snake_case class of the object and a counter
(`layers/conv2d`, `layers/conv2d_1`, ...; a nested model's layers under
`layers/functional/layers/...` or `layers/sequential/layers/...`), not by the layer's name, and
stores a layer's own variables as `vars/0`, `vars/1`, ... (trainable, then non-trainable); a
layer's sublayers (an LSTM's `cell`, a Bidirectional's `forward_layer`) are groups below it.
The layer name is found, in this order: the `name` attribute of the `vars` group (written by
recent Keras 3 releases; 3.15 does), the archive's config.json (layers and classes in
`model.layers` order), or the order and classes of the target model's layers (`layers`, see
order.keras_layer_order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import NetspecError
from .order import group_keys

# A layer's weights are its own, then its sublayers' in the order Keras tracks them (its
# `weights`); the file walks attributes sorted by name instead. Where the two differ
# (Bidirectional, MultiHeadAttention, GroupedQueryAttention), these sublayers come first, in
# this order (an attribute matched without its leading underscores).
SUBLAYER_ORDER = (
    "forward_layer", "backward_layer", "query_dense", "key_dense", "value_dense", "output_dense",
)  # fmt: skip
MODEL_CLASSES = ("Functional", "Sequential", "Model")


def read_keras3(h5, label: str, config: dict | None, layers: Sequence[tuple[str, str]] | None):
    """{layer name: arrays in get_weights() order} of an open Keras 3 weights file."""
    out: dict[str, list[np.ndarray]] = {}
    if "layers" in h5:
        names = _config_keys(config) if config is not None else None
        if names is None and layers is not None:
            names = {key: (name, None) for key, name in group_keys(layers).items()}
        _read_layers(h5["layers"], "layers", names, out, label)
    return out


def _config_keys(config: dict) -> dict[str, tuple[str, Any]]:
    """{group key: (layer name, nested keys or None)} from a model's config."""
    layer_configs = config.get("config", {}).get("layers", [])
    keys = group_keys((c["config"]["name"], c["class_name"]) for c in layer_configs)
    by_name = {c["config"]["name"]: c for c in layer_configs}
    return {
        key: (name, _config_keys(by_name[name]) if _is_model(by_name[name]) else None)
        for key, name in keys.items()
    }


def _is_model(config: dict) -> bool:
    return config.get("class_name") in MODEL_CLASSES and "layers" in config.get("config", {})


def _read_layers(group, path: str, names, out: dict, label: str) -> None:
    for key in group:
        sub = group[key]
        if not _is_group(sub):
            continue
        name, nested = _name(sub, key, names, f"{path}/{key}", label)
        if "layers" in sub and _is_group(sub["layers"]):  # a nested model: its layers are flat
            _read_layers(sub["layers"], f"{path}/{key}/layers", nested, out, label)
            continue
        arrays = _layer_arrays(sub)
        if out.get(name) or (name in out and arrays):
            raise NetspecError(f"{label}: two layers named '{name}' ({path}/{key})")
        out[name] = arrays


def _name(sub, key: str, names, path: str, label: str) -> tuple[str, Any]:
    vars_ = sub.get("vars")
    if vars_ is not None and _is_group(vars_) and "name" in vars_.attrs:
        name = vars_.attrs["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        return name, names[key][1] if names and key in names else None
    if names is None:
        raise NetspecError(
            f"{label}: the file does not name its layers ({path}: no name attribute; written by "
            "an older Keras 3): its layers cannot be matched by name (save it as .keras, or "
            "load it into a model, where their order is known)"
        )
    if key not in names:
        raise NetspecError(f"{label}: {path}: no layer of the model matches this group")
    return names[key]


def _layer_arrays(group) -> list[np.ndarray]:
    """A layer's own vars, then its sublayers' (recursively), in Keras's weights order."""
    arrays = []
    vars_ = group.get("vars")
    if vars_ is not None and _is_group(vars_):
        arrays = [np.asarray(vars_[k]) for k in sorted(vars_, key=_var_index)]
    children = [k for k in group if k != "vars" and _is_group(group[k])]
    children.sort(key=lambda k: (_rank(k), _attr_key(k)))
    for child in children:
        arrays += _layer_arrays(group[child])
    return arrays


def _rank(key: str) -> int:
    key = key.lstrip("_")
    return SUBLAYER_ORDER.index(key) if key in SUBLAYER_ORDER else len(SUBLAYER_ORDER)


def _attr_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name  # saving_lib._name_key


def _var_index(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def _is_group(obj) -> bool:
    import h5py

    return isinstance(obj, h5py.Group)


def archive_config(zf, label: str) -> dict:
    try:
        config = json.loads(zf.read("config.json"))
    except KeyError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetspecError(f"{label}: config.json is not valid JSON: {exc}") from None
    return config if isinstance(config, dict) else {}
