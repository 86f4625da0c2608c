"""Batches of a split as tensors on the model's device (torch imported here).

In-memory arrays are wrapped once as tensors (`torch.from_numpy`, no copy) and each batch is one
`index_select` per array, in the training process, as a hand-written loop does. When an array
is on disk (a memory-mapped .npy file, .npy shards), its rows are read by background workers:
a `torch.utils.data.DataLoader` over the same index batches in the same order (so training is
bit-identical to reading them in the training process), forked so that they share the memory
maps (a spawned worker would get a pickled copy of every array, over the memory budget), with
`prefetch_factor` batches each in flight. Workers last one pass, not the run
(`persistent_workers` off): a forked worker holds a copy of every file descriptor of the
training process, and one kept alive after the last epoch would keep a pipe open that another
process waits on (the curves.png helper's input: the run never ended); their start (~20-70 ms)
is paid once per epoch on data large enough to take workers at all. Floats are cast
to the input's dtype per batch (never the whole array: memory stays at the data's own size).
On CUDA a batch is copied into pinned memory, then to the device without blocking.
"""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ...errors import NetspecError
from .data import Split

_FLOATS = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
WORKERS_ENV = "NETSPEC_LOADER_WORKERS"
# batches each worker reads ahead (torch's default): with 2 workers, 4 batches in flight (the
# data's memory budget does not count them: keep it small)
PREFETCH = 2
SMALL = 64 << 20  # bytes of disk-backed data read in the training process (see loader_workers)


def model_device(model) -> torch.device:
    """Where the model's parameters are (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def preds_of(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def loader_workers(disk_bytes: int) -> int:
    """How many background workers read `disk_bytes` of disk-backed data per pass:
    `NETSPEC_LOADER_WORKERS` when set (0: read in the training process); else none under
    `SMALL` bytes (the page cache holds them after a first pass, and the training process reads
    a cached batch faster than a worker hands one over: bench/data_loading.py), min(2, CPU
    cores) over it (reading is memory copies and page faults: more workers compete with the
    step for the cores); none where processes cannot be forked (Windows)."""
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text and not (text.isdigit() and text.isascii()):
        raise NetspecError(f"{WORKERS_ENV}={text!r}: not a whole number of workers (0: none)")
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    if text:
        return int(text)
    return min(2, os.cpu_count() or 1) if disk_bytes >= SMALL else 0


def _source(a: np.ndarray):
    if isinstance(a, np.memmap) or not a.flags.writeable:
        return a
    return torch.from_numpy(np.ascontiguousarray(a))


def read(a, index, np_index, dtype) -> torch.Tensor:
    """The rows `index` of `a` on the CPU: one `index_select` of an in-memory tensor, or the
    rows numpy reads from disk, cast to `dtype` (a float input: any numbers become it)."""
    if isinstance(a, torch.Tensor):
        t = a[index]
    else:  # an index array reads a new array; a slice is a view of the map: copied, owned
        rows = a[np_index]
        t = torch.from_numpy(rows if isinstance(np_index, np.ndarray) else np.array(rows))
    return t if dtype is None or t.dtype == dtype else t.to(dtype)


class _Reader(Dataset):
    """What a worker runs: the (xs, ys, sws) of one index batch (a slice or an index array) as
    CPU tensors, cast as in the training process (one thread: `_one_thread`)."""

    def __init__(self, x: list, y: list, sw: list, x_dtypes: list):
        self.x, self.y, self.sw, self.x_dtypes = x, y, sw, x_dtypes

    def __getitem__(self, np_index):
        index = np_index if isinstance(np_index, slice) else torch.from_numpy(np_index)
        xs = [read(a, index, np_index, d) for a, d in zip(self.x, self.x_dtypes, strict=True)]
        ys = [read(a, index, np_index, None) for a in self.y]
        sws = [None if a is None else read(a, index, np_index, torch.float32) for a in self.sw]
        return xs, ys, sws


def _as_is(batch):
    return batch


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)  # a worker copies rows: no intra-op pool competing with the step


class Batches:
    """`iterate(order)` yields (xs, ys, sws) of `batch_size` samples: in `order` (an index
    array, one shuffle of the epoch) or in sequence when `order` is None; `sws` holds each
    output's sample weights as float32 (None: unweighted), or is empty when the split has
    none. `workers` (None: `loader_workers()`; 0: in the training process) read a split with
    an array on disk and more than one batch, a pass at a time (they stop at its end, or when an
    unfinished pass is closed or collected)."""

    def __init__(self, split: Split, graph, device: torch.device, batch_size: int,
                 workers: int | None = None):  # fmt: skip
        self.n, self.batch_size, self.device = len(split), batch_size, device
        self.x = [_source(a) for a in split.x]
        self.y = [_source(a) for a in split.y]
        self.sw = [None if a is None else _source(a) for a in split.sw]
        self.x_dtypes = [_FLOATS.get(i.dtype) for i in graph.inputs]
        self.pin = device.type == "cuda"
        self._order: np.ndarray | None = None
        self._order_t: torch.Tensor | None = None
        disk = [a for a in [*self.x, *self.y, *self.sw] if not isinstance(a, torch.Tensor | None)]
        if not disk or self.n <= batch_size:  # one batch: the step waits for it anyway
            self.workers = 0
        else:
            self.workers = (
                loader_workers(sum(a.nbytes for a in disk)) if workers is None else workers
            )

    def iterate(self, order: np.ndarray | None):
        if not self.workers:  # as a hand-written loop: no more work per batch
            for start in range(0, self.n, self.batch_size):
                yield self._rows(order, start, min(start + self.batch_size, self.n))
            return
        bounds = [(s, min(s + self.batch_size, self.n)) for s in range(0, self.n, self.batch_size)]
        yield from self._loaded(order, bounds)

    def shares(self, order: np.ndarray | None, ranks):
        """This rank's share of each global batch (distributed.Ranks.share): (xs, ys, sws, the
        number of its rows, the factor of its mean loss `rows * world / batch`, the global
        batch's size). A rank whose share is empty (a last batch smaller than the world) takes
        one row with factor 0, so every rank runs each step."""
        plan = []
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            lo, hi = ranks.share(start, stop)
            rows = hi - lo
            bounds = (lo, hi) if rows else (start, start + 1)
            plan.append((bounds, rows, rows * ranks.world / (stop - start), stop - start))
        if self.workers:
            batches = self._loaded(order, [bounds for bounds, *_ in plan])
        else:
            batches = (self._rows(order, *bounds) for bounds, *_ in plan)
        for batch, (_, rows, factor, size) in zip(batches, plan, strict=True):
            yield *batch, rows, factor, size

    def _loaded(self, order: np.ndarray | None, bounds: list[tuple[int, int]]):
        """The batches `bounds` of `order` (or of the data) as the workers read them."""
        indices = [slice(lo, hi) if order is None else order[lo:hi] for lo, hi in bounds]
        loader = DataLoader(
            _Reader(self.x, self.y, self.sw, self.x_dtypes), batch_size=None, sampler=indices,
            num_workers=self.workers, collate_fn=_as_is, pin_memory=self.pin,
            prefetch_factor=PREFETCH, worker_init_fn=_one_thread, multiprocessing_context="fork",
        )  # fmt: skip
        batches = iter(loader)
        try:
            for xs, ys, sws in batches:
                yield (
                    [self._to_device(t) for t in xs],
                    [self._to_device(t) for t in ys],
                    [None if t is None else self._to_device(t) for t in sws],
                )
        finally:  # also a pass left unfinished (TerminateOnNaN ends an epoch early)
            batches._shutdown_workers()  # type: ignore[attr-defined]

    def _rows(self, order: np.ndarray | None, start: int, stop: int):
        """(xs, ys, sws) of the rows start:stop of `order` (or of the data, when None), read in
        the training process."""
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
        """`read` then to the device, inlined: one call per array and batch."""
        if isinstance(a, torch.Tensor):
            t = a[index]
        else:
            rows = a[np_index]
            t = torch.from_numpy(rows if isinstance(np_index, np.ndarray) else np.array(rows))
        if dtype is not None and t.dtype != dtype:
            t = t.to(dtype)
        if self.pin:
            return t.pin_memory().to(self.device, non_blocking=True)
        return t if t.device == self.device else t.to(self.device)

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        """A worker's batch on the device (on CUDA: pinned by the loader, copied without
        blocking)."""
        if self.pin:
            return t.to(self.device, non_blocking=True)
        return t if t.device == self.device else t.to(self.device)
