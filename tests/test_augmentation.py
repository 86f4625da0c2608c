"""The image-augmentation layers (RandomFlip, RandomCrop, RandomRotation, RandomZoom,
RandomTranslation, RandomContrast, RandomBrightness) in training mode against Keras 3 in
training mode (the registry's example tests, tests/test_layers.py, cover inference):

- exact: where a degenerate factor makes Keras's transform deterministic, netspec's output
  equals Keras's value for value (every fill_mode, interpolation and data_format);
- per sample: netspec's own random draws, handed to Keras's `transform_images`, give
  netspec's output, image by image;
- distributions: thousands of netspec's draws and of Keras's (`get_random_transformation`)
  have the same ranges and distributions (two-sample Kolmogorov-Smirnov, counts);
- seeds, inference, and validation: netspec refuses, located, what Keras refuses.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import assert_located  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402

import netspec  # noqa: E402
from netspec.errors import SpecError  # noqa: E402
from netspec.loader import from_data  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
FORMATS = ("channels_last", "channels_first")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def spec(layer: dict, shape: list, data_format: str = "channels_last") -> dict:
    layers = [{**layer, "name": "aug"}]
    return {"netspec": 1, "input_shape": shape, "data_format": data_format, "layers": layers}


def build(layer: dict, shape: list, data_format: str = "channels_last"):
    return netspec.build(spec(layer, shape, data_format), seed=0)


def keras_layer(layer: dict, data_format: str = "channels_last") -> keras.layers.Layer:
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.items() if k != "type"}
    return getattr(keras.layers, layer["type"])(data_format=data_format, **args)


def image_shape(data_format: str, height: int = 5, width: int = 7, channels: int = 3) -> list:
    if data_format == "channels_first":
        return [channels, height, width]
    return [height, width, channels]


def images(shape: list, batch: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((batch, *shape), generator=gen)


def as_numpy(value) -> np.ndarray:
    return keras.ops.convert_to_numpy(value)


# ----------------------------------------------------------------- exact, deterministic factors

AFFINE = [
    {"type": "RandomRotation", "factor": [0.25, 0.25]},  # 90 degrees
    {"type": "RandomRotation", "factor": [-0.1, -0.1]},  # -36 degrees
    {"type": "RandomZoom", "height_factor": [0.3, 0.3], "width_factor": [-0.4, -0.4]},
    {"type": "RandomZoom", "height_factor": [-0.5, -0.5]},  # width: the same zoom
    {"type": "RandomTranslation", "height_factor": [0.3, 0.3], "width_factor": [-0.45, -0.45]},
]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("layer", AFFINE, ids=lambda d: f"{d['type']}-{list(d.values())[1]}")
def test_affine_transform_equals_keras(layer, fill_mode, interpolation, data_format):
    layer = {**layer, "fill_mode": fill_mode, "interpolation": interpolation, "fill_value": 0.7}
    shape = image_shape(data_format)
    x = images(shape)
    out = build(layer, shape, data_format).train()(x)
    want = as_numpy(keras_layer(layer, data_format)(x.numpy(), training=True))
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6, atol=1e-6)


COLOUR = [
    ({"type": "RandomBrightness", "factor": [0.2, 0.2], "value_range": [0, 1]}, (0.0, 1.0)),
    ({"type": "RandomBrightness", "factor": [-0.3, -0.3], "value_range": [255, 0]}, (0, 255)),
    ({"type": "RandomContrast", "factor": [-0.5, 0.5], "value_range": [-1, 1]}, (-1.5, 1.5)),
    ({"type": "RandomContrast", "factor": [0, 0]}, (0, 255)),
]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize(("layer", "span"), COLOUR, ids=lambda v: str(v))
def test_colour_adjustment_equals_keras(layer, span, data_format):
    shape = image_shape(data_format)
    x = span[0] + torch.rand((4, *shape), generator=torch.Generator().manual_seed(1)) * (
        span[1] - span[0]
    )
    out = build(layer, shape, data_format).train()(x)
    want = as_numpy(keras_layer(layer, data_format)(x.numpy(), training=True))
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6, atol=1e-5)
    assert not torch.equal(out, x) or layer["factor"] == [0, 0]


# Keras's deterministic training rule where the input is not larger than the target on both
# axes: (input height, width, target height, width).
CROP_FALLBACK = [(4, 6, 4, 3), (2, 2, 3, 2), (3, 5, 6, 4), (5, 4, 5, 4), (6, 3, 2, 3)]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("sizes", CROP_FALLBACK, ids=str)
def test_crop_fallback_in_training_equals_keras(sizes, data_format):
    height, width, target_h, target_w = sizes
    layer = {"type": "RandomCrop", "height": target_h, "width": target_w}
    shape = image_shape(data_format, height, width, 2)
    x = images(shape)
    out = build(layer, shape, data_format).train()(x)
    want = as_numpy(keras_layer(layer, data_format)(x.numpy(), training=True))
    assert out.shape == want.shape
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------- per-sample random draws


def keras_transformation(layer_type: str, params, kl, x: torch.Tensor, data_format: str):
    """netspec's drawn parameters in the form of Keras's `get_random_transformation`."""
    if layer_type == "RandomFlip":
        return {"flips": params, "input_shape": tuple(x.shape)}
    if layer_type == "RandomCrop":
        return int(params[0]), int(params[1])
    if layer_type == "RandomRotation":
        height, width = x.shape[1:3] if data_format == "channels_last" else x.shape[2:4]
        zeros, ones = torch.zeros_like(params), torch.ones_like(params)
        matrix = kl._compute_affine_matrix(
            0.5, 0.5, params, zeros, zeros, ones, zeros, zeros, height, width
        )
        return {"rotation_matrix": matrix}
    if layer_type == "RandomZoom":
        return {"height_zoom": params[:, 1:], "width_zoom": params[:, :1]}
    if layer_type == "RandomTranslation":
        return {"translations": params}
    key = "contrast_factor" if layer_type == "RandomContrast" else "rgb_delta"
    return {key: params}


PER_SAMPLE = [
    {"type": "RandomFlip"},
    {"type": "RandomFlip", "mode": "horizontal"},
    {"type": "RandomFlip", "mode": "vertical"},
    {"type": "RandomCrop", "height": 3, "width": 4},
    {"type": "RandomRotation", "factor": 0.3, "fill_mode": "wrap"},
    {"type": "RandomRotation", "factor": [-0.2, 0.1], "interpolation": "nearest"},
    {"type": "RandomZoom", "height_factor": [-0.4, 0.3], "width_factor": 0.5},
    {"type": "RandomZoom", "height_factor": 0.5, "fill_mode": "constant", "fill_value": -2},
    {"type": "RandomTranslation", "height_factor": 0.4, "width_factor": [-0.3, 0.5]},
    {"type": "RandomContrast", "factor": [0.5, 0.8], "value_range": [-2, 2]},
    {"type": "RandomContrast", "factor": 0.9},
    {"type": "RandomBrightness", "factor": [-0.6, 0.5], "value_range": [-1, 1]},
]


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("layer", PER_SAMPLE, ids=lambda d: "-".join(map(str, d.values())))
def test_per_sample_draws_transform_as_keras(layer, data_format):
    """Two builds with the same seed draw the same values: one gives its draws, the other
    its output, and Keras's transform of the same draws gives that output."""
    layer = {**layer, "seed": 11}
    shape = image_shape(data_format, 6, 7, 3)
    x = images(shape, batch=8, seed=2)
    params = build(layer, shape, data_format).layers["aug"].train().sample(x)
    out = build(layer, shape, data_format).train()(x)
    kl = keras_layer(layer, data_format)
    transformation = keras_transformation(layer["type"], params, kl, x, data_format)
    want = as_numpy(kl.transform_images(torch.tensor(x.numpy()), transformation, training=True))
    np.testing.assert_allclose(out.detach().numpy(), want, rtol=1e-5, atol=1e-5)
    if layer["type"] not in ("RandomCrop", "RandomFlip"):  # one value per image, all distinct
        assert params.reshape(len(x), -1).unique(dim=0).shape[0] == len(x)


# ------------------------------------------------------------------------------ distributions

N = 4000  # draws per distribution; the Kolmogorov-Smirnov bound below is about 3.5 sigma


def keras_draws(layer_type: str, transformation) -> np.ndarray:
    """Keras's drawn parameters as netspec's `sample` gives them, (N, k)."""
    if layer_type == "RandomRotation":
        return as_numpy(transformation["angle"]).reshape(N, 1)
    if layer_type == "RandomZoom":
        width, height = transformation["width_zoom"], transformation["height_zoom"]
        return np.concatenate([as_numpy(width), as_numpy(height)], axis=1)
    key = {
        "RandomTranslation": "translations",
        "RandomContrast": "contrast_factor",
        "RandomBrightness": "rgb_delta",
        "RandomFlip": "flips",
    }[layer_type]
    return as_numpy(transformation[key]).reshape(N, -1).astype(np.float64)


DISTRIBUTIONS = [
    ({"type": "RandomRotation", "factor": 0.2}, [(-72, 72)]),
    ({"type": "RandomRotation", "factor": [0.3, -0.1]}, [(-36, 108)]),
    # (zx, zy): x first, as Keras's zoom matrix takes them
    (
        {"type": "RandomZoom", "height_factor": [-0.3, 0.2], "width_factor": 0.5},
        [(0.5, 1.5), (0.7, 1.2)],
    ),
    ({"type": "RandomZoom", "height_factor": 0.4}, [(0.6, 1.4), (0.6, 1.4)]),
    # (dx, dy) in pixels of a 4 x 8 image
    (
        {"type": "RandomTranslation", "height_factor": 0.25, "width_factor": [0.5, -0.1]},
        [(-0.8, 4), (-1, 1)],
    ),
    # Keras 3's (lower, upper) of a number f is (0, f): c in [1, 1 + f], not [1 - f, 1 + f]
    ({"type": "RandomContrast", "factor": 0.5}, [(1, 1.5)]),
    ({"type": "RandomContrast", "factor": [0.2, 0.4]}, [(0.8, 1.4)]),
    ({"type": "RandomBrightness", "factor": 0.3, "value_range": [0, 2]}, [(-0.6, 0.6)]),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "ranges"), DISTRIBUTIONS, ids=lambda v: str(v))
def test_draws_are_distributed_as_keras(layer, ranges):
    shape = [4, 8, 1]
    x = torch.zeros((N, *shape))
    ours = build({**layer, "seed": 3}, shape).layers["aug"].sample(x).reshape(N, -1).numpy()
    kl = keras_layer({**layer, "seed": 3})
    theirs = keras_draws(layer["type"], kl.get_random_transformation(x.numpy(), training=True))
    assert ours.shape == theirs.shape == (N, len(ranges))
    for column, (low, high) in enumerate(ranges):
        for draws in (ours[:, column], theirs[:, column]):
            assert low - 1e-5 <= draws.min() < low + 0.01 * (high - low)
            assert high - 0.01 * (high - low) < draws.max() <= high + 1e-5
        assert ks_2samp(ours[:, column], theirs[:, column]).statistic < 0.05
        assert ks_2samp(ours[:, column], np.linspace(low, high, N)).statistic < 0.04


def test_flip_probability_is_a_half_as_keras():
    shape = [2, 2, 1]
    x = torch.zeros((N, *shape))
    ours = build({"type": "RandomFlip", "seed": 1}, shape).layers["aug"].sample(x)
    kl = keras_layer({"type": "RandomFlip", "seed": 1})
    theirs = keras_draws("RandomFlip", kl.get_random_transformation(x.numpy(), training=True))
    for fraction in (ours.float().mean().item(), theirs.mean()):
        assert abs(fraction - 0.5) < 4 * (0.25 / N) ** 0.5


@pytest.mark.slow  # many draws
def test_crop_offsets_are_uniform_as_keras():
    """One window per batch (Keras's rule), every valid offset equally likely."""
    layer = {"type": "RandomCrop", "height": 5, "width": 4, "seed": 9}
    module = build(layer, [8, 8, 1]).layers["aug"]
    kl = keras_layer(layer)
    x = torch.zeros((2, 8, 8, 1))
    calls = 1200
    ours = np.array([module.sample(x).tolist() for _ in range(calls)])
    theirs = np.array(
        [[int(v) for v in kl.get_random_transformation(x.numpy())] for _ in range(calls)]
    )
    for draws in (ours, theirs):
        for axis, span in enumerate((4, 5)):  # offsets 0..3 of the rows, 0..4 of the columns
            counts = np.bincount(draws[:, axis], minlength=span)
            assert len(counts) == span
            expected = calls / span
            assert np.all(np.abs(counts - expected) < 4 * (expected * (1 - 1 / span)) ** 0.5)


# ------------------------------------------------------------------------------------ seeds


ALL = [
    {"type": "RandomFlip"},
    {"type": "RandomCrop", "height": 3, "width": 3},
    {"type": "RandomRotation", "factor": 0.2},
    {"type": "RandomZoom", "height_factor": 0.2},
    {"type": "RandomTranslation", "height_factor": 0.2, "width_factor": 0.2},
    {"type": "RandomContrast", "factor": 0.5},
    {"type": "RandomBrightness", "factor": 0.5},
]


@pytest.mark.parametrize("layer", ALL, ids=lambda d: d["type"])
def test_same_seed_same_augmentations(layer):
    x = images([6, 6, 2], batch=8) * 50 + 100
    runs = []
    for seed in (5, 5, 6):
        model = build({**layer, "seed": seed}, [6, 6, 2]).train()
        runs.append([model(x) for _ in range(3)])  # the stream goes on from batch to batch
    same, other = runs[1], runs[2]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], same, strict=True))
    assert not torch.equal(same[0], same[1])
    assert not all(torch.equal(a, b) for a, b in zip(same, other, strict=True))


@pytest.mark.parametrize("layer", ALL, ids=lambda d: d["type"])
def test_seeded_layer_leaves_the_global_generator_alone(layer):
    x = images([6, 6, 2], batch=4) * 50 + 100
    seeded = build({**layer, "seed": 1}, [6, 6, 2]).train()
    unseeded = build(layer, [6, 6, 2]).train()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    seeded(x)
    assert torch.equal(torch.get_rng_state(), before)  # its own generator
    first = unseeded(x)
    assert not torch.equal(torch.get_rng_state(), before)  # torch's global generator
    torch.manual_seed(0)
    assert torch.equal(unseeded(x), first)


# -------------------------------------------------------------------------------- inference


@pytest.mark.parametrize("layer", ALL[:1] + ALL[2:], ids=lambda d: d["type"])
def test_identity_at_inference_as_float32(layer):
    x = torch.randint(0, 255, (3, 6, 6, 2), dtype=torch.uint8)
    out = build(layer, [6, 6, 2]).eval()(x)
    assert out.dtype == torch.float32
    assert torch.equal(out, x.float())


@pytest.mark.parametrize("sizes", [(8, 6, 4, 4), (5, 7, 3, 2), (4, 4, 6, 2), (3, 3, 3, 3)])
def test_crop_at_inference_is_the_aspect_window_resized(sizes):
    """Keras's documented inference (its output shape's too): what Resizing computes with
    crop_to_aspect_ratio. Keras 3.15's RandomCrop call itself returns its input unchanged."""
    height, width, target_h, target_w = sizes
    layer = {"type": "RandomCrop", "height": target_h, "width": target_w}
    x = images([height, width, 2], batch=3)
    out = build(layer, [height, width, 2]).eval()(x)
    resizing = keras.layers.Resizing(target_h, target_w, crop_to_aspect_ratio=True)
    np.testing.assert_allclose(out.numpy(), as_numpy(resizing(x.numpy())), rtol=1e-6, atol=1e-6)
    unchanged = as_numpy(keras_layer(layer)(x.numpy(), training=False))
    assert unchanged.shape == tuple(x.shape)  # the Keras behaviour netspec departs from


def test_crop_output_shape_in_both_modes():
    model = build({"type": "RandomCrop", "height": 4, "width": 2}, [3, 9, 6], "channels_first")
    x = images([3, 9, 6], batch=2)
    assert model.train()(x).shape == model.eval()(x).shape == (2, 3, 4, 2)


# ------------------------------------------------------------------------------- validation

# (layer, whether Keras 3.15 accepts it): netspec's verdict must be the same.
VERDICTS = [
    ({"type": "RandomRotation", "factor": 1.5}, False),
    ({"type": "RandomRotation", "factor": -1}, True),
    ({"type": "RandomRotation", "factor": [2, 3]}, False),
    ({"type": "RandomRotation", "factor": [-3, -2]}, False),
    ({"type": "RandomRotation", "factor": [-5, 0.5]}, True),  # only factor[0] <= 1 is checked
    ({"type": "RandomRotation", "factor": [0.1, 0.2, 0.3]}, False),
    ({"type": "RandomRotation", "factor": 0.1, "fill_mode": "mirror"}, False),
    ({"type": "RandomRotation", "factor": 0.1, "interpolation": "bicubic"}, False),
    ({"type": "RandomZoom", "height_factor": -1}, False),
    ({"type": "RandomZoom", "height_factor": 1}, True),
    ({"type": "RandomZoom", "height_factor": [-0.5, 1.5]}, False),
    ({"type": "RandomZoom", "height_factor": 0.2, "width_factor": -1}, False),
    ({"type": "RandomTranslation", "height_factor": -1, "width_factor": 1}, True),
    ({"type": "RandomTranslation", "height_factor": 1.01, "width_factor": 0}, False),
    ({"type": "RandomTranslation", "height_factor": [0, -1.5], "width_factor": 0}, False),
    ({"type": "RandomTranslation", "height_factor": 0, "width_factor": 0, "fill_mode": "f"}, False),
    ({"type": "RandomContrast", "factor": -0.1}, False),
    ({"type": "RandomContrast", "factor": 1}, True),
    ({"type": "RandomContrast", "factor": [-0.5, 0.5]}, True),
    ({"type": "RandomContrast", "factor": [1.5, 2]}, False),
    ({"type": "RandomContrast", "factor": [-0.5, -0.1]}, False),
    ({"type": "RandomBrightness", "factor": 1.2}, False),
    ({"type": "RandomBrightness", "factor": [0.5, -2]}, False),
    ({"type": "RandomBrightness", "factor": [0.5, -0.2]}, True),  # sorted
    ({"type": "RandomBrightness", "factor": 0.2, "value_range": [0, 1, 2]}, False),
]  # fmt: skip


def keras_accepts(layer: dict) -> bool:
    try:
        keras_layer(layer)
    except (ValueError, NotImplementedError):
        return False
    return True


@pytest.mark.parametrize(("layer", "accepted"), VERDICTS, ids=lambda v: str(v))
def test_netspec_refuses_what_keras_refuses(layer, accepted):
    assert keras_accepts(layer) == accepted
    try:
        from_data(spec(layer, [8, 8, 3]))
    except SpecError as err:
        assert not accepted, str(err)
        assert all(d.path.startswith("layers[0].") for d in err.diagnostics), str(err)
    else:
        assert accepted


def test_factor_errors_are_located():
    head = "netspec: 1\ninput_shape: [8, 8, 3]\nlayers:\n"
    text = head + "  - type: RandomRotation\n    factor: [2, 3]\n"
    assert_located(text, "layers[0].factor", "factor:", "Keras requires factor[0] <= 1")
    text = (
        "netspec: 1\ninput_shape: [8, 8, 3]\nlayers:\n  - type: RandomZoom\n    height_factor: -1\n"
    )
    assert_located(text, "layers[0].height_factor", "height_factor", "greater than -1")


@pytest.mark.parametrize("layer", ALL, ids=lambda d: d["type"])
def test_image_rank_is_checked(layer):
    text = f"netspec: 1\ninput_shape: [8, 3]\nlayers:\n  - {layer}\n".replace("'", "")
    assert_located(text, "layers[0].type", "type", "rank 4 (batch axis included)")


def test_crop_needs_a_known_height_and_width():
    head = "netspec: 1\ninput_shape: [8, null, 3]\nlayers:\n"
    text = head + "  - {type: RandomCrop, height: 2, width: 2}\n"
    assert_located(text, "layers[0].type", "RandomCrop", "fully defined height and width")
    from_data(spec({"type": "RandomCrop", "height": 2, "width": 2}, [8, 8, None]))  # channels


def test_stricter_than_keras():
    """Two refusals Keras does not make (it accepts them and misbehaves later): an unknown
    flip mode (Keras then never flips) and a crop of size 0."""
    keras_layer({"type": "RandomFlip", "mode": "diagonal"})
    keras_layer({"type": "RandomCrop", "height": 0, "width": 2})
    for layer in (
        {"type": "RandomFlip", "mode": "diagonal"},
        {"type": "RandomCrop", "height": 0, "width": 2},
    ):
        with pytest.raises(SpecError):
            from_data(spec(layer, [8, 8, 3]))


# ------------------------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
@pytest.mark.parametrize("layer", PER_SAMPLE, ids=lambda d: "-".join(map(str, d.values())))
def test_cuda_matches_cpu_for_the_same_draws(layer):
    """The same draws transform the same on the GPU; seeded draws there repeat per build."""
    layer = {**layer, "seed": 4}
    x = images([6, 7, 3], batch=8, seed=3)
    cpu = build(layer, [6, 7, 3]).layers["aug"]
    params = cpu.sample(x)
    on_gpu = params.cuda() if isinstance(params, torch.Tensor) else params
    gpu = netspec.build(spec(layer, [6, 7, 3]), seed=0, device="cuda").train()
    out = gpu.layers["aug"].transform(x.cuda(), on_gpu)
    torch.testing.assert_close(out.cpu(), cpu.transform(x, params))
    again = netspec.build(spec(layer, [6, 7, 3]), seed=0, device="cuda").train()
    assert torch.equal(gpu(x.cuda()), again(x.cuda()))
