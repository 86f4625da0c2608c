"""Shapes as the shape rules see them (without the batch axis), and their errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import TypeIs

Shape = tuple[int | None, ...]  # without the batch axis; None is a variable dimension
Dims = tuple[int, ...]  # a shape whose every size is known (a weight's)


class ShapeError(ValueError):
    """A shape rule's refusal; `field` names the argument at fault (else the layer's inputs):
    a key, or a tuple of keys for an argument nested in another (("layer", "units"))."""

    def __init__(self, message: str, field: str | tuple[str | int, ...] | None = None):
        super().__init__(message)
        self.field = field


def known(shape: Shape) -> TypeIs[Dims]:
    return all(d is not None for d in shape)


def need_rank(shape: Shape, rank: int | tuple[int, ...], what: str = "input") -> None:
    """ShapeError unless `shape` (without batch) has the rank(s) given, counted with the batch
    axis as Keras counts them."""
    ranks = (rank,) if isinstance(rank, int) else rank
    if len(shape) + 1 not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise ShapeError(
            f"expects an {what} of rank {want} (batch axis included), got shape {fmt_shape(shape)}"
        )


def fmt_shape(shape: Shape) -> str:
    """Keras's way of printing a shape: (None, 28, 28, 1), batch axis first."""
    return "(" + ", ".join(str(d) for d in (None, *shape)) + ")"
