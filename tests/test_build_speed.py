"""Builds do no more work than they must (issue 16, part 2), counted, never timed: each layer's
weights are computed once per load+build, and a weight whose initializer draws i.i.d. values is
sampled straight into its torch storage (no permuted copy), with Keras's distribution (fans of
the Keras shape); Orthogonal and Identity keep their Keras-layout values, permuted."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"

import pytest  # noqa: E402
import torch  # noqa: E402
from keras import initializers as k_initializers  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import netspec  # noqa: E402
from netspec.layers.base import LAYERS  # noqa: E402
from netspec.loader import from_data  # noqa: E402
from netspec.vocab import INITIALIZERS  # noqa: E402

# Every weight i.i.d.: Conv2D (channels_last: a channels_last kernel), BatchNormalization,
# DepthwiseConv2D, Dense, GRU with i.i.d. recurrent kernels (gate blocks rearranged).
IID = {
    "netspec": 1,
    "name": "iid",
    "input_shape": [8, 8, 3],
    "layers": [
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "kernel_initializer": "he_normal"},
        {"type": "BatchNormalization"},
        {"type": "DepthwiseConv2D", "kernel_size": 3},
        {"type": "Reshape", "target_shape": [16, 4]},
        {"type": "GRU", "units": 5, "recurrent_initializer": "glorot_uniform"},
        {"type": "Dense", "units": 3, "kernel_initializer": "random_normal"},
    ],
}
# A permuted tensor made contiguous is cloned (torch's truncated normal copies scalars with
# copy_, so clone is the sign of a copied weight).
COPY = "aten::clone"


def aten_ops(fn) -> list[str]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    return [e.name for e in prof.events()]


def test_iid_weights_are_sampled_in_place_without_a_copy():
    spec = from_data(IID)
    netspec.build(spec, seed=0)  # lazy imports out of the way
    ops = aten_ops(lambda: netspec.build(spec, seed=0))
    assert "aten::uniform_" in ops and "aten::normal_" in ops
    assert COPY not in ops


def test_a_layout_dependent_initializer_still_is_permuted():
    """Orthogonal's values depend on the layout: sampled in Keras layout, then copied."""
    spec = {
        "netspec": 1,
        "name": "ortho",
        "input_shape": [6],
        "layers": [{"type": "Dense", "units": 4, "kernel_initializer": "orthogonal"}],
    }
    valid = from_data(spec)
    ops = aten_ops(lambda: netspec.build(valid, seed=0))
    assert COPY in ops


@pytest.mark.parametrize("init", ["Orthogonal", "Identity"])
def test_layout_dependent_values_are_keras_layout_values(init):
    """The Keras view of the kernel is what the initializer gives the Keras shape (6, 4)."""
    args = {"type": init, "seed": 3} if init == "Orthogonal" else {"type": init, "gain": 2.0}
    spec = {
        "netspec": 1,
        "name": "k",
        "input_shape": [6],
        "layers": [{"type": "Dense", "units": 4, "name": "d", "kernel_initializer": args}],
    }
    module = netspec.build(spec, seed=0).layers["d"]
    kernel = module.keras_weights["kernel"].keras_view(module.kernel)
    assert torch.equal(kernel, INITIALIZERS.get(init)(**args).sample((6, 4)))


def test_iid_values_fill_the_stored_layout():
    """A seeded i.i.d. kernel is its initializer's draw into the torch layout (out, in), fans
    from the Keras shape (in, out): the same seed, the same values."""
    args = {"type": "GlorotUniform", "seed": 7}
    spec = {
        "netspec": 1,
        "name": "k",
        "input_shape": [6],
        "layers": [{"type": "Dense", "units": 40, "name": "d", "kernel_initializer": args}],
    }
    kernel = netspec.build(spec, seed=0).layers["d"].kernel
    expected = INITIALIZERS.get("GlorotUniform")(seed=7).fill_(torch.empty(40, 6), (6, 40))
    assert torch.equal(kernel.detach(), expected)
    assert kernel.abs().max().item() <= (6 / (6 + 40)) ** 0.5


@pytest.mark.parametrize(
    "init", ["he_uniform", "glorot_normal", "lecun_normal", "random_uniform", "truncated_normal"]
)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_kernels_keep_keras_statistics(init, data_format):
    """A (3, 3, 32, 64) Conv2D kernel sampled in its storage has the moments and range of
    Keras's initializer on the Keras shape (fan_in 288, fan_out 576)."""
    spec = {
        "netspec": 1,
        "name": "c",
        "data_format": data_format,
        "input_shape": [32, 8, 8] if data_format == "channels_first" else [8, 8, 32],
        "layers": [{"type": "Conv2D", "filters": 64, "kernel_size": 3, "name": "c",
                    "kernel_initializer": init}],
    }  # fmt: skip
    module = netspec.build(spec, seed=1).layers["c"]
    ours = module.keras_weights["kernel"].keras_view(module.kernel).detach().double()
    theirs = torch.as_tensor(
        k_initializers.get(init).__class__(seed=5)((3, 3, 32, 64), dtype="float32")
    ).double()
    std = theirs.std().item()
    assert abs(ours.mean() - theirs.mean()).item() <= 8 * std / ours.numel() ** 0.5
    assert ours.std().item() == pytest.approx(std, rel=0.06)
    if "uniform" in init:
        assert ours.abs().max().item() == pytest.approx(theirs.abs().max().item(), rel=0.01)
    layout = torch.channels_last if data_format == "channels_last" else torch.contiguous_format
    assert module.kernel.is_contiguous(memory_format=layout)


def test_weights_are_computed_once_per_layer(monkeypatch):
    """load + build asks each layer for its weights once (the graph keeps them for the
    builder)."""
    calls: dict[str, int] = {}
    for name in ("Conv2D", "BatchNormalization", "DepthwiseConv2D", "GRU", "Dense"):
        cls = LAYERS.get(name)
        original = cls.weights

        def counted(self, shapes, ctx, _original=original):
            calls[self.type] = calls.get(self.type, 0) + 1
            return _original(self, shapes, ctx)

        monkeypatch.setattr(cls, "weights", counted)
    netspec.build(from_data(IID), seed=0)
    assert calls == {n: 1 for n in calls} and len(calls) == 5


def test_a_permuted_conv_kernel_is_stored_channels_last():
    """Orthogonal on a channels_last Conv2D: Keras-layout values, in torch's channels_last
    kernel format (one copy does both)."""
    args = {"type": "Orthogonal", "seed": 2}
    spec = {
        "netspec": 1,
        "name": "c",
        "input_shape": [6, 6, 3],
        "layers": [{"type": "Conv2D", "filters": 5, "kernel_size": 2, "name": "c",
                    "kernel_initializer": args}],
    }  # fmt: skip
    module = netspec.build(spec, seed=0).layers["c"]
    assert module.kernel.is_contiguous(memory_format=torch.channels_last)
    kernel = module.keras_weights["kernel"].keras_view(module.kernel)
    assert torch.equal(kernel, INITIALIZERS.get("Orthogonal")(**args).sample((2, 2, 3, 5)))
