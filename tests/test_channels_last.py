"""Channels-last conv stacks without permutes (issue 16): the layers of a channels_last
conv/pool/normalization stack pass channels-first views of their values (torch's
`channels_last` memory format) from the first convolution to the stack's end, so the profiler
sees a permute only where a value enters or leaves the stack; outputs, gradients and moving
statistics are bit-identical to calling each layer's module in turn (its Keras-layout path)."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import netspec
from netspec.loader import from_data, load

PERMUTES = ("aten::permute", "aten::movedim")


def permutes(model, *xs: torch.Tensor) -> int:
    """The permutes one forward runs (a movedim counts twice: it runs a permute)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(*xs)
    return sum(e.name in PERMUTES for e in prof.events())


def per_layer(model, graph, xs: list[torch.Tensor]):
    """The spec's graph run by calling each layer's module on Keras-layout values."""
    values = dict(zip([i.name for i in graph.inputs], xs, strict=True))

    def value(ref):
        return values[ref.node] if ref.index is None else values[ref.node][ref.index]

    for index in graph.order:
        node = graph.nodes[index]
        values[node.name] = model.layers[node.name](*[value(r) for r in node.inputs])
    outs = [value(r) for r in graph.outputs]
    return outs[0] if len(outs) == 1 else tuple(outs)


def inputs(graph, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(3, *i.shape, generator=generator) for i in graph.inputs]


def run(model, graph, xs, plain: bool):
    """Outputs, input gradients, parameter gradients and buffers of one training step."""
    xs = [x.clone().requires_grad_(True) for x in xs]
    torch.manual_seed(1)  # the same dropout masks on both paths
    out = per_layer(model, graph, xs) if plain else model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    sum((o * torch.linspace(-1, 1, o.numel()).view(o.shape)).sum() for o in outs).backward()
    grads = [p.grad for p in model.parameters()]
    return outs, [x.grad for x in xs], grads, [b.clone() for b in model.buffers()]


def assert_bit_identical(spec) -> None:
    """The model's forward and backward equal the per-layer path's, bit for bit."""
    graph = spec.graph
    xs = inputs(graph)
    got = run(netspec.build(spec, seed=0).train(), graph, xs, plain=False)
    want = run(netspec.build(spec, seed=0).train(), graph, xs, plain=True)
    for a, b in zip(got, want, strict=True):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert (x is None and y is None) or (x.shape == y.shape and torch.equal(x, y))


# The permutes left: the input's view entering the stack, and the view back to Keras's layout
# that Flatten (Keras's NHWC order) or global pooling reads. Global pooling stays out of the
# stacks: reducing a channels-first view sums the backward in another order (1 ulp off on one
# thread).
@pytest.mark.parametrize(
    ("name", "borders", "per_layer_permutes"),
    [("mnist_cnn", 2, 12), ("digits_cnn", 2, 8), ("resnet_blocks", 2, 32)],
)
def test_a_cnn_forward_permutes_only_at_its_stacks_borders(name, borders, per_layer_permutes):
    spec = load(f"specs/{name}.yaml")
    model = netspec.build(spec, seed=0)
    xs = inputs(spec.graph)
    for mode in (model.train(), model.eval()):
        assert permutes(mode, *xs) == borders
    assert permutes(partial(per_layer, model, spec.graph), xs) == per_layer_permutes


@pytest.mark.parametrize("name", ["mnist_cnn", "digits_cnn", "resnet_blocks"])
def test_specs_forward_and_backward_are_bit_identical_to_the_per_layer_path(name):
    assert_bit_identical(load(f"specs/{name}.yaml"))


def spec_of(layers: list, shape: list, data_format: str = "channels_last", **extra):
    return from_data(
        {"netspec": 1, "data_format": data_format, "input_shape": shape, "layers": layers, **extra}
    )


CONV = {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}
STACKS = {
    "same_pools": (
        [
            {**CONV, "activation": "relu"},
            {"type": "MaxPooling2D", "pool_size": 3, "strides": 2, "padding": "same"},
            {"type": "AveragePooling2D", "pool_size": 2, "padding": "same"},
            {"type": "BatchNormalization"},
            {"type": "DepthwiseConv2D", "kernel_size": 2, "strides": 2, "activation": "elu"},
            CONV,  # a model output: back to Keras's layout
        ],
        [9, 7, 2],
        (2, 18),
    ),
    "dropout_and_softmax_break_the_stack": (
        [
            CONV,
            {"type": "Dropout", "rate": 0.5},
            CONV,
            {"type": "Activation", "activation": "softmax"},
            {"type": "ReLU"},
            {"type": "GlobalMaxPooling2D", "keepdims": True},
        ],
        [6, 6, 3],
        (4, 4),
    ),
    "adaptive_upsampling": (
        [
            CONV,
            {"type": "UpSampling2D", "size": 2, "interpolation": "bilinear"},
            {"type": "AdaptiveAveragePooling2D", "output_size": 3},
            {"type": "UpSampling2D", "size": 2},  # nearest: a Keras-layout repeat
            {"type": "Conv2D", "filters": 2, "kernel_size": 1, "activation": "tanh"},
            {"type": "GlobalAveragePooling2D"},
        ],
        [5, 4, 3],
        (8, 12),
    ),
    "three_d": (
        [
            {"type": "Conv3D", "filters": 3, "kernel_size": 2, "activation": "relu"},
            {"type": "BatchNormalization"},
            {"type": "MaxPooling3D", "pool_size": 2},
            {"type": "Flatten"},
        ],
        [5, 4, 4, 2],
        (2, 10),
    ),
    "channels_first": (
        [CONV, {"type": "MaxPooling2D"}, {"type": "BatchNormalization", "axis": 1}],
        [2, 6, 6],
        (0, 0),
    ),
}


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_stacks_are_bit_identical_to_the_per_layer_path(stack):
    """Each stack's permutes (as the forward's, per-layer's): a model input enters and a model
    output, Dropout, a softmax, a nearest UpSampling2D (a Keras-layout repeat), Flatten and
    AdaptiveAveragePooling2D (its own movedims) and global pooling leave the stack;
    channels_first specs never permute."""
    layers, shape, (count, per_layer_count) = STACKS[stack]
    fmt = "channels_first" if stack == "channels_first" else "channels_last"
    spec = spec_of(layers, shape, fmt)
    assert_bit_identical(spec)
    model, xs = netspec.build(spec, seed=0), inputs(spec.graph)
    assert permutes(model, *xs) == count
    assert permutes(partial(per_layer, model, spec.graph), xs) == per_layer_count


def test_values_read_twice_and_penalised_layers_keep_their_layouts():
    """A conv output read by a Flatten, a conv and as a model output; a conv with an activity
    regularizer (its penalty reads the Keras-layout output); a merge of different shapes."""
    spec = from_data(
        {
            "netspec": 1,
            "input_shape": [6, 6, 2],
            "layers": [
                {**CONV, "name": "a"},
                {**CONV, "name": "b", "activity_regularizer": "l2"},
                {"type": "Flatten", "inputs": "a", "name": "flat"},
                {"type": "MaxPooling2D", "inputs": "a", "name": "pool"},
                {"type": "Add", "inputs": ["b", "a"], "name": "sum"},
            ],
            "outputs": ["a", "flat", "pool", "sum"],
        }
    )
    assert_bit_identical(spec)
    model = netspec.build(spec, seed=0)
    outs = model(*inputs(spec.graph))
    assert [tuple(o.shape) for o in outs] == [(3, 6, 6, 4), (3, 144), (3, 3, 3, 4), (3, 6, 6, 4)]
    torch.testing.assert_close(
        model.activity_loss(), 0.01 * outs[3].sub(outs[0]).square().sum() / 3
    )
