"""Torch module of the Lambda layer: its expression compiled by `netspec.torch.expr`."""

from __future__ import annotations

import torch
from torch import nn

from .. import expr
from .expr import compile_expression


class LambdaModule(nn.Module):
    """A Lambda layer: the expression's closure over its inputs. Non-float inputs (ints, bool)
    are cast to float32 first, so the output is float as the graph says."""

    def __init__(self, expression: str, tree: expr.Node, shapes: list[expr.FullShape]):
        super().__init__()
        self.expression = expression
        self._tree, self._shapes = tree, shapes
        self._fn = compile_expression(tree, shapes)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self._fn([x if x.is_floating_point() else x.float() for x in xs])

    def extra_repr(self) -> str:
        return repr(self.expression)

    def __getstate__(self) -> dict:  # the closure is rebuilt on unpickling
        state = self.__dict__.copy()
        state.pop("_fn", None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._fn = compile_expression(self._tree, self._shapes)
