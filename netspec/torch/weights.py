"""Creating torch parameters from Keras weight declarations, and viewing them in Keras layout.

A module stores each weight in the layout its torch kernel wants; `keras_weights` records the
permutation from the Keras layout, so initializers, regularizers and constraints always see the
Keras layout (a Dense kernel is (in, out) to them, (out, in) in the module).

A weight whose initializer draws i.i.d. values (`Elementwise`: every random and constant one but
Orthogonal and Identity) is sampled straight into its storage, fans from the Keras shape: no
permuted copy, the cost of a build is torch's own (a permute-and-copy of every kernel was most
of a ResNet50 build). Which random value lands at which Keras index then depends on the torch
layout, but not the distribution, which is all Keras specifies (its backends differ in values).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers.base import Context, Weight
from ..vocab.initializers import Elementwise


def inverse(perm: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation that undoes `perm`."""
    return tuple(sorted(range(len(perm)), key=perm.__getitem__))


@dataclass(frozen=True)
class GateLayout:
    """Keras layout -> torch layout of a gated recurrent weight, where a permutation is not
    enough: the last axis holds one block per gate, in Keras's gate order; `order` lists the
    Keras block of each torch block (GRU: Keras z, r, h -> torch r, z, n is (1, 0, 2)), and
    `transpose` then swaps the two axes of a matrix (Keras (in, 3*units) -> torch (3*units, in))."""

    order: tuple[int, ...]
    transpose: bool = True

    def to_torch(self, value: torch.Tensor) -> torch.Tensor:
        blocks = value.chunk(len(self.order), dim=-1)
        value = torch.cat([blocks[i] for i in self.order], dim=-1)
        return value.mT if self.transpose else value

    def torch_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The torch shape of a Keras weight of `shape` (gate blocks keep the shape)."""
        return (*shape[:-2], shape[-1], shape[-2]) if self.transpose else shape

    def to_keras(self, value: torch.Tensor) -> torch.Tensor:
        if self.transpose:
            value = value.mT
        blocks = value.chunk(len(self.order), dim=-1)
        inverse = sorted(range(len(self.order)), key=self.order.__getitem__)
        return torch.cat([blocks[i] for i in inverse], dim=-1)


@dataclass
class KerasWeight:
    """How a torch parameter relates to the Keras weight it implements."""

    weight: Weight
    perm: tuple[int, ...] | None  # Keras layout -> torch layout (None: same layout)
    layout: GateLayout | None = None  # instead of perm, where a permutation is not enough

    def keras_view(self, param: torch.Tensor) -> torch.Tensor:
        if self.layout is not None:
            return self.layout.to_keras(param)
        return param if self.perm is None else param.permute(inverse(self.perm))

    def torch_shape(self) -> tuple[int, ...]:
        """The shape of the torch parameter."""
        shape = tuple(self.weight.shape)
        if self.layout is not None:
            return self.layout.torch_shape(shape)
        return shape if self.perm is None else tuple(shape[i] for i in self.perm)

    def from_keras(self, value: torch.Tensor) -> torch.Tensor:
        if self.layout is not None:
            return self.layout.to_torch(value)
        return value if self.perm is None else value.permute(self.perm)


def create_weight(
    module: nn.Module,
    weight: Weight,
    ctx: Context,
    perm: tuple[int, ...] | None = None,
    layout: GateLayout | None = None,
    order: tuple[int, ...] | None = None,
) -> nn.Parameter:
    """Create `weight` as `module.<name>`, in torch layout: the Keras layout permuted by `perm`
    (or rearranged by `layout`), its memory laid out in `order` (the torch axes from outermost
    to innermost; None: contiguous). An `Elementwise` initializer fills that memory directly;
    any other samples in Keras layout, then one copy puts the values in place."""
    info = KerasWeight(weight, perm, layout)
    init = weight.initializer
    if isinstance(init, Elementwise):
        stored = info.torch_shape()
        if order is not None:
            stored = tuple(stored[i] for i in order)
        data = init.fill_(torch.empty(stored), tuple(weight.shape), ctx.generator)
        if order is not None:
            data = data.permute(inverse(order))
    else:
        data = info.from_keras(init.sample(weight.shape, ctx.generator))
        if order is not None:
            data = data.permute(order).contiguous().permute(inverse(order))
        else:
            data = data.contiguous()
    param = nn.Parameter(data, requires_grad=weight.trainable)
    module.register_parameter(weight.name, param)
    # module.__dict__, not hasattr: nn.Module.__getattr__ raises (slowly) for plain attributes.
    module.__dict__.setdefault("keras_weights", {})[weight.name] = info
    return param


def load_keras_weights(model, weights: dict[str, list]) -> None:
    """Copy Keras weights into a built model: `weights[layer_name]` is that Keras layer's
    `get_weights()` (arrays in Keras layout and order); each is permuted into torch layout."""
    for name, arrays in weights.items():
        module = model.layers[name]
        infos = [
            (sub, n, info)
            for sub in module.modules()
            for n, info in getattr(sub, "keras_weights", {}).items()
        ]
        if len(infos) != len(arrays):
            raise ValueError(f"layer '{name}' has {len(infos)} weights, got {len(arrays)}")
        with torch.no_grad():
            for (sub, n, info), array in zip(infos, arrays, strict=True):
                value = torch.as_tensor(array, dtype=torch.float32)
                if tuple(value.shape) != tuple(info.weight.shape):
                    raise ValueError(
                        f"{name}.{n}: Keras shape {tuple(info.weight.shape)}, "
                        f"got {tuple(value.shape)}"
                    )
                getattr(sub, n).copy_(info.from_keras(value))
