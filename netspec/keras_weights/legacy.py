"""Keras 2 HDF5 weight files (the legacy format, also written by Keras 3's `model.save("x.h5")`
and `legacy_h5_format.save_weights_to_hdf5_group`): the root (or a full model file's
`model_weights` group) lists `layer_names`; each layer's group lists its `weight_names`, in the
order of Keras 2's `get_weights()`, with a dataset at each weight name. The format of the
published ImageNet files (`resnet50_weights_tf_dim_ordering_tf_kernels.h5`).

A nested model is one entry there, its sublayers' weights under names like `sub/dense/kernel`
(Keras 3) or `dense/kernel:0` (Keras 2): split by the component that names a layer of the
target model (netspec's graph is flat; its nested layers keep their names).
"""

from __future__ import annotations

import json
from collections.abc import Collection

import numpy as np

from ..errors import NetspecError


def read_legacy(h5, label: str, names: Collection[str] | None) -> dict[str, list[np.ndarray]]:
    root = h5["model_weights"] if "model_weights" in h5 else h5
    nested = _nested_models(h5)
    out: dict[str, list[np.ndarray]] = {}
    for layer in attribute(root, "layer_names"):
        if layer not in root:
            raise NetspecError(f"{label}: layer '{layer}' is listed but has no group")
        group = root[layer]
        weights = []
        for wname in attribute(group, "weight_names"):
            if wname not in group:
                raise NetspecError(f"{label}: layer '{layer}': weight '{wname}' is missing")
            weights.append((wname, np.asarray(group[wname])))
        is_nested = layer in nested or (names is not None and layer not in names and weights)
        if is_nested and names is not None and _all_owned(weights, names):
            for wname, array in weights:
                out.setdefault(_owner(wname, names), []).append(array)
        else:
            out[layer] = [array for _, array in weights]
    return out


def _owner(wname: str, names: Collection[str]) -> str:
    return next(part for part in wname.split("/")[:-1] if part in names)


def _all_owned(weights, names: Collection[str]) -> bool:
    return all(any(p in names for p in w.split("/")[:-1]) for w, _ in weights)


def _nested_models(h5) -> set[str]:
    """Names of the nested models of a full model file (from its `model_config`)."""
    text = h5.attrs.get("model_config")
    if text is None:
        return set()
    try:
        config = json.loads(text.decode() if isinstance(text, bytes) else text)
        layers = config["config"]["layers"]
        return {
            c["config"]["name"]
            for c in layers
            if c.get("class_name") in ("Functional", "Sequential", "Model")
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


def attribute(group, name: str) -> list[str]:
    """A list of strings attribute, as Keras writes it: `name`, or (over HDF5's 64 KiB limit on
    an attribute) chunks `name0`, `name1`, ..."""
    if name in group.attrs:
        return _strings(group.attrs[name])
    values: list[str] = []
    for chunk in range(_count(group, name)):
        values += _strings(group.attrs[f"{name}{chunk}"])
    return values


def _count(group, name: str) -> int:
    count = 0
    while f"{name}{count}" in group.attrs:
        count += 1
    return count


def _strings(values) -> list[str]:
    return [
        v.decode("utf8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()
    ]
