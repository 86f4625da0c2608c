"""Shared checks of the applications zoo (specs/applications/NAME.yaml) against
`keras.applications` (KERAS_BACKEND=torch): parameter counts, layer names, output shapes, and
outputs with Keras's weights copied in (BatchNormalization statistics randomised)."""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import netspec  # noqa: E402
from netspec.compiler import param_counts  # noqa: E402
from netspec.training.spec.overrides import load_with_overrides  # noqa: E402
from tests.keras_oracle import copy_weights  # noqa: E402

ZOO = Path(__file__).resolve().parent.parent / "specs" / "applications"


def zoo_spec(name: str, **args):
    """The zoo spec NAME with its `args:` set (as `--set args.KEY=VALUE`)."""
    sets = [f"args.{k}={_yaml(v)}" for k, v in args.items()]
    return load_with_overrides(ZOO / f"{name}.yaml", sets)


def _yaml(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_yaml(x) for x in v) + "]"
    return str(v)


def keras_app(factory, **kwargs) -> keras.Model:
    """`factory(weights=None, **kwargs)` in a fresh naming scope (automatic names from 0)."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return factory(weights=None, **kwargs)


def _size(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def assert_same_counts(valid, kmodel: keras.Model) -> None:
    """Totals, every weight-holding layer's name and count, and the output shape."""
    counts = param_counts(valid.graph)
    ours = {n: c for n, c in counts.items() if sum(c)}
    theirs = {
        layer.name: (_size(layer.trainable_weights), _size(layer.non_trainable_weights))
        for layer in kmodel.layers
        if layer.weights
    }
    assert ours == theirs
    assert sum(t for t, _ in counts.values()) == _size(kmodel.trainable_weights)
    assert sum(f for _, f in counts.values()) == _size(kmodel.non_trainable_weights)
    shape = valid.graph.output_shapes()[0]
    assert (None, *shape) == tuple(kmodel.output.shape)


def randomise_batchnorm(kmodel: keras.Model, seed: int = 0) -> None:
    """Moving statistics (and gamma/beta) away from their defaults, so a wrong mapping shows."""
    rng = np.random.default_rng(seed)
    for layer in kmodel.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            weights = layer.get_weights()
            new = [rng.uniform(0.5, 1.5, w.shape).astype("float32") if i % 2 == 0 or i == 3
                   else rng.normal(0, 0.1, w.shape).astype("float32")
                   for i, w in enumerate(weights)]  # fmt: skip
            layer.set_weights(new)


def assert_same_outputs(valid, kmodel: keras.Model, batch: int = 2, seed: int = 0) -> float:
    """Keras's predict against netspec's eval-mode forward with Keras's weights copied in;
    returns the largest relative difference (asserted <= 1e-5 of the output's scale)."""
    shape = tuple(kmodel.input.shape[1:])
    x = np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")
    expected = np.asarray(kmodel.predict(x, verbose=0))
    model = netspec.build(valid, seed=0)
    copy_weights(kmodel, model)
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    scale = max(float(np.abs(expected).max()), 1e-6)
    diff = float(np.abs(got - expected).max()) / scale
    assert diff <= 1e-5, diff
    return diff
