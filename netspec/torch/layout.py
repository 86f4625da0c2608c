"""Channels-first views between the layers of a channels_last conv stack (issue 16).

torch's convolution, pooling and normalization kernels take (batch, channels, *spatial)
tensors; a Keras channels_last activation (batch, *spatial, channels) permuted so is a view in
torch's `channels_last` memory format, which they read and write without a copy. A module that
can take and give such views (`ChannelsFirstCapable`) is called with `channels_first=True` by
the model's plan wherever its input and output travel between such modules, so consecutive
layers pass the view along instead of permuting back and forth. The values are the same
tensors on the same memory, so the outputs and gradients are bit-identical to the per-layer
path (tests/test_channels_last.py).
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .merge import ElementwiseModule

# Conv2D/3D-shaped values only (batch, *spatial, channels): 1-D convolutions run lifted to 2-D.
RANKS = (4, 5)


class ChannelsFirstCapable(nn.Module):
    """A module whose `forward(x, channels_first=True)` takes the channels-first view of its
    channels_last input and returns its output as such a view (for outputs of rank >= 3), the
    same values on the same memory as `forward(x)`. `follows_input` modules (elementwise
    ones) instead run unchanged on whichever layout they are given, as Keras's elementwise
    merges (merge.py) do when their inputs have one shape."""

    follows_input = False
    # Whether its Keras-layout path permutes to channels-first itself (convolutions, pooling):
    # then running channels-first never costs more permutes. One that does not (an
    # elementwise activation) runs channels-first only on a channels-first input. (Global
    # pooling stays out: its reduction of a channels-first view sums the backward in another
    # order, 1 ulp off on one thread.)
    permutes_itself = True

    def takes_channels_first(self, rank: int) -> bool:
        """Whether this instance can run on channels-first views of a value of `rank` (batch
        axis included; 4 or 5), e.g. whether it is channels_last."""
        return False


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    """(batch, *spatial, channels) -> the (batch, channels, *spatial) view."""
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """(batch, channels, *spatial) view -> (batch, *spatial, channels), Keras's layout."""
    return x.permute(0, *range(2, x.ndim), 1)


def _rank(shape) -> int:
    """The rank (batch axis included) of a value of this shape; 0 for a layer's several."""
    return 0 if isinstance(shape, list) else len(shape) + 1


def _mode(node, module, regularizer, given_first: bool) -> str:
    """'first' (called with channels_first=True), 'follow' (runs in its inputs' layout) or
    'keras' (takes and gives Keras's layout); `given_first`: an input is a channels-first view."""
    if regularizer is not None or any(r.index is not None for r in node.inputs):
        return "keras"  # an activity penalty is computed on the Keras-layout output
    shapes = {tuple(s) for s in node.input_shapes}
    rank = _rank(node.input_shapes[0])
    if len(shapes) != 1 or rank not in RANKS or _rank(node.output) not in (2, *RANKS):
        return "keras"
    if isinstance(module, ElementwiseModule):  # Add, Multiply ... of same-shaped values
        return "follow"
    if len(node.inputs) != 1 or not isinstance(module, ChannelsFirstCapable):
        return "keras"
    if not module.takes_channels_first(rank) or not (module.permutes_itself or given_first):
        return "keras"
    return "follow" if module.follows_input else "first"


def layout_plan(graph, modules, activity: dict, n_inputs: int) -> tuple[list, tuple]:
    """The model's forward plan (callable, input refs, activity regularizer) per step, with the
    channels-first steps and the permutes at the stack's borders, and the output refs (always
    Keras's layout)."""
    plan: list[tuple] = []
    slot = {name: i for i, name in enumerate(n.name for n in graph.inputs)}
    first: set[int] = set()  # the slots holding channels-first views

    def ref(s: int, k, want_first: bool) -> tuple:
        """The ref to value `s` in the layout wanted, permuted just before its reader: one
        permute per reading edge, so each reader's gradient reaches `s` on its own, in the
        order of the per-layer path (a shared permute would sum its readers' first)."""
        if k is not None or (s in first) == want_first:
            return (s, k)
        plan.append((to_channels_first if want_first else to_channels_last, ((s, None),), None))
        return (n_inputs + len(plan) - 1, None)

    for index in graph.order:
        node = graph.nodes[index]
        module, regularizer = modules[node.name], activity.get(node.name)
        given_first = any(slot[r.node] in first for r in node.inputs)
        mode = _mode(node, module, regularizer, given_first)
        if mode == "follow":  # channels-first when any input is (the others viewed so)
            out_first = given_first
            args: tuple = tuple(ref(slot[r.node], None, out_first) for r in node.inputs)
        else:
            args = tuple(ref(slot[r.node], r.index, mode == "first") for r in node.inputs)
            out_first = mode == "first" and _rank(node.output) in RANKS
        call = partial(module, channels_first=True) if mode == "first" else module
        plan.append((call, args, regularizer))
        slot[node.name] = n_inputs + len(plan) - 1
        if out_first:
            first.add(slot[node.name])
    outputs = tuple(ref(slot[r.node], r.index, False) for r in graph.outputs)
    return plan, outputs
