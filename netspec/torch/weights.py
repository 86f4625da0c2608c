"""Creating torch parameters from Keras weight declarations, and viewing them in Keras layout.

A module stores each weight in the layout its torch kernel wants; `keras_weights` records the
permutation from the Keras layout, so initializers, regularizers and constraints always see the
Keras layout (a Dense kernel is (in, out) to them, (out, in) in the module).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers.base import Context, Weight


@dataclass
class KerasWeight:
    """How a torch parameter relates to the Keras weight it implements."""

    weight: Weight
    perm: tuple[int, ...] | None  # Keras layout -> torch layout (None: same layout)

    def keras_view(self, param: torch.Tensor) -> torch.Tensor:
        if self.perm is None:
            return param
        inverse = sorted(range(len(self.perm)), key=self.perm.__getitem__)
        return param.permute(inverse)

    def from_keras(self, value: torch.Tensor) -> torch.Tensor:
        return value if self.perm is None else value.permute(self.perm)


def create_weight(
    module: nn.Module, weight: Weight, ctx: Context, perm: tuple[int, ...] | None = None
) -> nn.Parameter:
    """Sample `weight` in Keras layout, store it permuted by `perm` as `module.<name>`."""
    info = KerasWeight(weight, perm)
    data = info.from_keras(weight.initializer.sample(weight.shape, ctx.generator)).contiguous()
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
