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


def _norms(kmodel: keras.Model) -> list:
    found = []
    for layer in kmodel.layers:
        if isinstance(layer, keras.Model):
            found += _norms(layer)
        elif isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
    return found


def randomise_batchnorm(kmodel: keras.Model, seed: int = 0) -> None:
    """gamma and beta away from their defaults, then the moving statistics set from one
    training-mode batch (momentum 0 for that call) and perturbed: a wrong mapping shows, and
    the deep ReLU stacks stay alive (with random statistics MobileNet's and Xception's outputs
    are exactly 0 for every input; with the defaults a random MobileNetV2's vanish)."""
    rng = np.random.default_rng(seed)
    norms = _norms(kmodel)
    for layer in norms:  # gamma and beta, where the layer has them (scale/center)
        new = []
        for var, value in zip(layer.weights, layer.get_weights(), strict=True):
            kind = var.path.rsplit("/", 1)[-1]
            if kind == "gamma":
                value = rng.uniform(0.8, 1.2, value.shape).astype("float32")
            elif kind == "beta":
                value = rng.normal(0, 0.1, value.shape).astype("float32")
            new.append(value)
        layer.set_weights(new)
    momenta = [layer.momentum for layer in norms]
    shape = tuple(kmodel.input.shape[1:])
    x = rng.uniform(0, 255, (8, *shape)).astype("float32")
    for layer in norms:
        layer.momentum = 0.0
    kmodel(x, training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum
        *affine, mean, var = layer.get_weights()  # moving statistics come last
        mean = mean + rng.normal(0, 0.05, mean.shape).astype("float32") * np.sqrt(var)
        # a floor on the variances: a channel with almost none (dead after a ReLU on these
        # few samples) would get a gain of 1/sqrt(epsilon) and make float32 rounding chaotic
        # (1e-5 to 1e-4 of the outputs, in Keras and netspec alike); with it, both stay within
        # about 1e-6 of a float64 computation
        floor = 0.5 * float(var.mean()) + 1e-3
        var = (var + floor) * rng.uniform(0.8, 1.25, var.shape).astype("float32")
        layer.set_weights([*affine, mean, var])


def relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """||got - want|| / ||want|| (Frobenius norms over the batch)."""
    return float(np.linalg.norm(got - want) / max(float(np.linalg.norm(want)), 1e-30))


def assert_same_outputs(valid, kmodel: keras.Model, batch: int = 2, seed: int = 0) -> float:
    """Keras's predict against netspec's eval-mode forward with Keras's weights copied in;
    returns the relative difference ||got - want|| / ||want||, asserted <= 1e-5, on outputs
    that depend on the input (a dead network would pass any mapping)."""
    shape = tuple(kmodel.input.shape[1:])
    x = np.random.default_rng(seed).uniform(0, 255, (batch, *shape)).astype("float32")
    expected = np.asarray(kmodel.predict(x, verbose=0))
    model = netspec.build(valid, seed=0)
    copy_weights(kmodel, model)
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    flat = expected.reshape(batch, -1)
    if batch > 1:  # a dead or input-blind network would pass any mapping
        assert np.abs(flat[0] - flat[1]).max() > 1e-5 * np.abs(flat).max() > 0, "dead outputs"
    diff = relative_difference(got, expected)
    assert diff <= 1e-5, diff
    return diff
