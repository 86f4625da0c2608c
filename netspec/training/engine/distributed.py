"""Data-parallel training on torch.distributed (imports torch when called).

A process started by torchrun (or by `netspec train --nproc N`, which runs torch's elastic
launcher) finds RANK, WORLD_SIZE and LOCAL_RANK in its environment; `start()` joins the process
group (NCCL on CUDA, gloo on the CPU) and returns the `Ranks` every part of training asks:

- `batch_size` keeps Keras's meaning, the global batch: every rank draws the same shuffled
  order, and rank r takes its share (`share`) of each global batch; its loss is scaled by
  `b_r * N / B`, so DistributedDataParallel's average of the gradients is the gradient of the
  global batch's mean loss, as on one process;
- the epoch's loss, the metrics' states and the validation pass (each rank evaluates its share
  of the validation data) are summed over the ranks (`sum`), so every rank logs the values of
  one process, and takes the same callback decisions;
- rank 0 alone writes the run folder and prints (`main`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...errors import NetspecError


@dataclass(frozen=True)
class Ranks:
    """This process's place in the process group."""

    rank: int
    world: int
    local_rank: int
    device: str  # "cpu" or "cuda:LOCAL_RANK"

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's rows of the global batch [start, stop): contiguous, sizes differing by
        at most one (the first ranks take the extra rows)."""
        n = stop - start
        base, extra = divmod(n, self.world)
        lo = start + self.rank * base + min(self.rank, extra)
        return lo, lo + base + (1 if self.rank < extra else 0)

    def sum(self, values: list[float]) -> list[float]:
        """The sums over the ranks (float64)."""
        import torch
        import torch.distributed as dist

        device = "cuda" if self.device.startswith("cuda") else "cpu"
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return t.tolist()

    def broadcast(self, value: int) -> int:
        """Rank 0's value, on every rank."""
        import torch
        import torch.distributed as dist

        device = "cuda" if self.device.startswith("cuda") else "cpu"
        t = torch.tensor([value], dtype=torch.int64, device=device)
        dist.broadcast(t, 0)
        return int(t.item())


def launched() -> bool:
    """Whether this process was started by torchrun (or `--nproc`) with several processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def start(device: str) -> Ranks | None:
    """Join the process group when launched with several processes (else None). `device`:
    the command's --device (auto: CUDA when available, each rank on its LOCAL_RANK's GPU)."""
    if not launched():
        return None
    import torch
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        raise NetspecError(f"--device {device}: CUDA is not available on rank {rank}")
    where = f"cuda:{local}" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        try:
            dist.init_process_group("nccl" if cuda else "gloo")
        except RuntimeError as exc:  # a peer gone before the group formed
            first = str(exc).splitlines()[0][:200]
            message = f"rank {rank}: could not join the other processes ({first})"
            raise NetspecError(message) from None
    return Ranks(rank, world, local, where)


def stop() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def data_parallel(model, device):
    """The model under DistributedDataParallel (its gradients averaged over the ranks)."""
    import warnings

    from torch.nn.parallel import DistributedDataParallel

    # Conv kernels are kept in Keras's layout (a permuted view): DDP copies their gradients
    # into its buckets instead of viewing them, and says so once per rank.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)
