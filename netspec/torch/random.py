"""Seeded random draws, shared by every layer that draws noise (Dropout, SpatialDropout,
GaussianNoise, GaussianDropout, AlphaDropout, attention and recurrent dropout).

Without a seed a layer draws from torch's global generator. With one it draws from its own
torch.Generator, one per device, created on first use and kept in the module's `_generators`
(the checkpoint saves and restores them: netspec/training/engine/checkpoint.py). torch.compile
cannot trace an explicit generator, so a seeded draw runs outside the compiled graph: the graph
breaks around it, on purpose (`compiler_disable`).
"""

from __future__ import annotations

import torch
from torch import nn

from .compat import compiler_disable


def layer_generator(
    generators: dict[torch.device, torch.Generator], seed: int, device: torch.device
) -> torch.Generator:
    """The layer's generator on `device` (seeded with `seed` when first asked for)."""
    gen = generators.get(device)
    if gen is None:
        gen = generators[device] = torch.Generator(device).manual_seed(seed)
    return gen


@compiler_disable
def seeded_mask(shape, keep: float, generator: torch.Generator, device) -> torch.Tensor:
    """A float32 mask of 1s (probability `keep`) and 0s, drawn from `generator`."""
    return torch.empty(shape, device=device).bernoulli_(keep, generator=generator)


@compiler_disable
def seeded_draw(kind: str, shape, like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal (`kind` "normal") or uniform [0, 1) values in `like`'s dtype and device."""
    draw = torch.randn if kind == "normal" else torch.rand
    return draw(shape, generator=generator, dtype=like.dtype, device=like.device)


class SeededModule(nn.Module):
    """A module whose draws come from the layer's own generators when it has a seed."""

    def __init__(self, seed: int | None):
        super().__init__()
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def generator(self, device: torch.device) -> torch.Generator:
        return layer_generator(self._generators, self.seed, device)

    def keep_mask(self, shape, keep: float, device) -> torch.Tensor:
        """A float32 mask of 1s (probability `keep`) and 0s."""
        if self.seed is None:
            return torch.empty(shape, device=device).bernoulli_(keep)
        return seeded_mask(shape, keep, self.generator(device), device)

    def draw(self, kind: str, shape, like: torch.Tensor) -> torch.Tensor:
        """Standard normal (`kind` "normal") or uniform [0, 1) values, in `like`'s dtype."""
        if self.seed is None:
            draw = torch.randn if kind == "normal" else torch.rand
            return draw(shape, dtype=like.dtype, device=like.device)
        return seeded_draw(kind, shape, like, self.generator(like.device))
