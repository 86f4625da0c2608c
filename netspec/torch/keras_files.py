"""Loading a Keras weight file (netspec.keras_weights reads it) into a built model: strict, all
problems reported at once, nothing copied unless every weight fits."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import torch

from ..errors import NetspecError
from ..keras_weights import KerasWeights, read_keras_file
from ..keras_weights.order import keras_layer_order


def model_weights(model) -> dict[str, list]:
    """{layer name: [(module, attribute, KerasWeight)]} in Keras's get_weights() order."""
    return {
        name: [
            (sub, n, info)
            for sub in module.modules()
            for n, info in sub.__dict__.get("keras_weights", {}).items()
        ]
        for name, module in model.layers.items()
    }


def load_keras_file(
    model,
    path: str | Path,
    *,
    allow_extra: bool = False,
    layers: Collection[str] | None = None,
    graph=None,
) -> list[str]:
    """Copy the weights of a Keras weight file (.weights.h5, .keras, Keras 2 .h5) into a built
    model; returns the names of the layers loaded. Every layer of the model that holds weights
    (only those in `layers`, when given) must be in the file with as many weights of the same
    shapes (Keras layout); layers of the file with weights that are not loaded are an error
    unless `allow_extra`. Every problem is reported in one NetspecError; nothing is copied then.
    `graph` (the spec's, `valid.graph`) is needed only for a `.weights.h5` of an older
    Keras 3, which does not name its layers: they are matched by Keras's order then."""
    path = Path(path)
    order = keras_layer_order(graph) if graph is not None else None
    file = read_keras_file(path, list(model.layers), order)
    return load_keras_weights_strict(model, file, str(path), allow_extra=allow_extra, layers=layers)


def load_keras_weights_strict(
    model, file: KerasWeights, label: str, *, allow_extra=False, layers=None
) -> list[str]:
    """`load_keras_file` for weights already read ({layer name: arrays})."""
    own = model_weights(model)
    if layers is not None:
        unknown = sorted(set(layers) - set(own))
        if unknown:
            raise NetspecError(f"{label}: the model has no layer {', '.join(map(repr, unknown))}")
        own = {name: own[name] for name in own if name in set(layers)}
    wanted = {name: infos for name, infos in own.items() if infos or file.get(name)}
    problems = [p for name, infos in wanted.items() for p in _check(name, infos, file.get(name))]
    extra = [name for name, arrays in file.items() if arrays and name not in wanted]
    if extra and not allow_extra:
        problems.append(
            f"layers in the file but not in the model: {', '.join(extra)} "
            "(allow them with --allow-extra-weights / allow_extra=True)"
        )
    if problems:
        raise NetspecError(f"{label}: weights do not match the model:\n  " + "\n  ".join(problems))
    with torch.no_grad():
        for name, infos in wanted.items():
            for (sub, n, info), array in zip(infos, file[name], strict=True):
                value = torch.as_tensor(array, dtype=torch.float32)
                getattr(sub, n).copy_(info.from_keras(value))
    return [name for name, infos in wanted.items() if infos]


def _check(name: str, infos: list, arrays) -> list[str]:
    want = [(n, tuple(info.weight.shape)) for _, n, info in infos]
    if arrays is None:
        return [f"layer '{name}': not in the file (it holds {_shapes(want)})"]
    found = [tuple(a.shape) for a in arrays]
    if len(found) != len(want):
        return [
            f"layer '{name}': the file has {len(found)} weights "
            f"{', '.join(map(str, found)) or ''}, the model's layer {len(want)} "
            f"({_shapes(want) or 'none'})"
        ]
    return [
        f"layer '{name}', weight '{n}': expected shape {shape} (Keras layout), found {got}"
        for (n, shape), got in zip(want, found, strict=True)
        if shape != got
    ]


def _shapes(want: list[tuple[str, tuple]]) -> str:
    return ", ".join(f"{n} {shape}" for n, shape in want)
