"""Torch modules of the core, reshaping and regularization layers (imported by builders)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .compat import compiler_disable
from .weights import create_weight


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Integer and bool inputs as float32 (Keras computes in float32); floats as they are."""
    return x if x.is_floating_point() else x.float()


class FloatIdentity(nn.Module):
    """Identity (ActivityRegularization); integer inputs come out as float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return as_float(x)


class ActivationModule(nn.Module):
    """Keras Activation: the activation's torch function."""

    def __init__(self, spec):
        super().__init__()
        self.fn = spec.function()
        self.name = spec.type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(as_float(x))

    def extra_repr(self) -> str:
        return self.name


class DropoutModule(nn.Module):
    """Keras Dropout: in training mode, zeroes elements with probability `rate` and scales the
    rest by 1 / (1 - rate); the mask has `noise_shape` (None entries: the input's size) and is
    broadcast over the input. A seed gives the layer its own generator (one per device); under
    torch.compile, such a seeded mask is drawn outside the compiled graph."""

    def __init__(self, rate: float, noise_shape, seed: int | None):
        super().__init__()
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def _generator(self, device: torch.device) -> torch.Generator:
        gen = self._generators.get(device)
        if gen is None:
            gen = self._generators[device] = torch.Generator(device).manual_seed(self.seed)
        return gen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        if self.noise_shape is None and self.seed is None:
            return F.dropout(x, self.rate, training=True)
        keep = 1.0 - self.rate
        shape = (
            x.shape
            if self.noise_shape is None
            else [d if n is None else n for n, d in zip(self.noise_shape, x.shape, strict=True)]
        )
        if self.seed is None:
            mask = torch.empty(shape, device=x.device).bernoulli_(keep)
        else:
            mask = _seeded_mask(shape, keep, self._generator(x.device), x.device)
        return torch.where(mask.bool(), x / keep, torch.zeros((), dtype=x.dtype, device=x.device))

    def extra_repr(self) -> str:
        return f"rate={self.rate}, noise_shape={self.noise_shape}, seed={self.seed}"


@compiler_disable
def _seeded_mask(shape, keep: float, generator: torch.Generator, device) -> torch.Tensor:
    # torch.compile cannot trace an explicit generator: the graph breaks here, on purpose.
    return torch.empty(shape, device=device).bernoulli_(keep, generator=generator)


class FlattenModule(nn.Module):
    """Keras Flatten: channels_first inputs (rank >= 3) are flattened in channels_last order."""

    def __init__(self, channels_first: bool):
        super().__init__()
        self.channels_first = channels_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 1:
            return x.unsqueeze(1)
        if self.channels_first:
            x = x.movedim(1, -1)
        return x.reshape(x.shape[0], -1)


class ReshapeModule(nn.Module):
    """Keras Reshape to (batch, *target) (-1 for the size left to infer)."""

    def __init__(self, target: tuple[int, ...]):
        super().__init__()
        self.target = target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.target)

    def extra_repr(self) -> str:
        return f"target={self.target}"


class PermuteModule(nn.Module):
    """Keras Permute (1-based dims, batch axis fixed): a view."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.perm = (0, *dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.perm)

    def extra_repr(self) -> str:
        return f"perm={self.perm}"


class RepeatVectorModule(nn.Module):
    """Keras RepeatVector: (batch, f) -> (batch, n, f), as a broadcast view."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def extra_repr(self) -> str:
        return f"n={self.n}"


class EmbeddingModule(nn.Module):
    """Keras Embedding: `embeddings[x]`; other than int32/int64 inputs are cast to int32."""

    def __init__(self, weight, ctx):
        super().__init__()
        create_weight(self, weight, ctx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype not in (torch.int32, torch.int64):
            x = x.to(torch.int32)
        return F.embedding(x, self.embeddings)

    def compute_mask(self, x: torch.Tensor) -> torch.Tensor:
        """mask_zero's mask: True where the index is not 0 (of the input as given, as Keras)."""
        return x != 0
