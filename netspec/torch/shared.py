"""The module of a Shared entry: calls the referenced entry's module, holding it unregistered."""

from __future__ import annotations

from torch import nn


class SharedModule(nn.Module):
    """Calls `target` (another entry's module: the same weights, not a copy).

    `target` is held as a plain attribute, not a submodule, so its parameters belong to the
    original entry alone: state_dict keys, `parameters()`, `.to()` and `.train()` reach them
    once, through the original. `copy.deepcopy` of the whole model keeps the sharing.
    """

    def __init__(self, target: nn.Module, shares: str):
        super().__init__()
        self.__dict__["target"] = target  # not nn.Module.__setattr__: that would register it
        self.shares = shares

    def forward(self, *inputs, **kwargs):  # kwargs: `mask=` for layers that take masks
        return self.target(*inputs, **kwargs)

    def compute_mask(self, *inputs):  # for layers that make masks (Embedding with mask_zero)
        return self.target.compute_mask(*inputs)

    def extra_repr(self) -> str:
        return f"shares={self.shares}"
