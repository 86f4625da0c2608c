"""Batches of a split as tensors on the model's device (torch imported here).

In-memory arrays are wrapped once as tensors (`torch.from_numpy`, no copy) and each batch is one
`index_select` per array, as a hand-written loop does; memory-mapped arrays (a directory of
.npy files) are indexed with numpy, which reads only the batch's rows from disk. Floats are cast
to the input's dtype per batch (never the whole array: memory stays at the data's own size).
On CUDA a batch is copied into pinned memory, then to the device without blocking.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import Split

_FLOATS = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}


def model_device(model) -> torch.device:
    """Where the model's parameters are (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def preds_of(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _source(a: np.ndarray):
    if isinstance(a, np.memmap) or not a.flags.writeable:
        return a
    return torch.from_numpy(np.ascontiguousarray(a))


class Batches:
    """`iterate(order)` yields (xs, ys, sws) of `batch_size` samples: in `order` (an index
    array, one shuffle of the epoch) or in sequence when `order` is None; `sws` holds each
    output's sample weights as float32 (None: unweighted), or is empty when the split has
    none."""

    def __init__(self, split: Split, graph, device: torch.device, batch_size: int):
        self.n, self.batch_size, self.device = len(split), batch_size, device
        self.x = [_source(a) for a in split.x]
        self.y = [_source(a) for a in split.y]
        self.sw = [None if a is None else _source(a) for a in split.sw]
        self.x_dtypes = [_FLOATS.get(i.dtype) for i in graph.inputs]
        self.pin = device.type == "cuda"
        self._order: np.ndarray | None = None
        self._order_t: torch.Tensor | None = None

    def iterate(self, order: np.ndarray | None):
        for start in range(0, self.n, self.batch_size):
            yield self._rows(order, start, min(start + self.batch_size, self.n))

    def shares(self, order: np.ndarray | None, ranks):
        """This rank's share of each global batch (distributed.Ranks.share): (xs, ys, sws, the
        number of its rows, the factor of its mean loss `rows * world / batch`, the global
        batch's size). A rank whose share is empty (a last batch smaller than the world) takes
        one row with factor 0, so every rank runs each step."""
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            lo, hi = ranks.share(start, stop)
            rows = hi - lo
            batch = self._rows(order, lo, hi) if rows else self._rows(order, start, start + 1)
            yield *batch, rows, rows * ranks.world / (stop - start), stop - start

    def _rows(self, order: np.ndarray | None, start: int, stop: int):
        """(xs, ys, sws) of the rows start:stop of `order` (or of the data, when None)."""
        index: slice | torch.Tensor
        np_index: slice | np.ndarray
        if order is None:
            index, np_index = slice(start, stop), slice(start, stop)
        else:
            if self._order_t is None or self._order is not order:  # once per epoch's order
                self._order, self._order_t = order, torch.from_numpy(order)
            index, np_index = self._order_t[start:stop], order[start:stop]
        xs = [
            self._tensor(a, index, np_index, dtype)
            for a, dtype in zip(self.x, self.x_dtypes, strict=True)
        ]
        ys = [self._tensor(a, index, np_index, None) for a in self.y]
        sws = [
            None if a is None else self._tensor(a, index, np_index, torch.float32) for a in self.sw
        ]
        return xs, ys, sws

    def _tensor(self, a, index, np_index, dtype) -> torch.Tensor:
        if isinstance(a, torch.Tensor):
            t = a[index]
        else:  # memory-mapped: numpy reads the rows (a copy, so the tensor owns it)
            t = torch.from_numpy(np.array(a[np_index]))
        if dtype is not None and t.dtype != dtype:  # a float input: any numbers become it
            t = t.to(dtype)
        if self.pin:
            return t.pin_memory().to(self.device, non_blocking=True)
        return t if t.device == self.device else t.to(self.device)
