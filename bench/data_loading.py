"""The batches of an epoch (netspec.training.engine.batches), interleaved rounds:

    python bench/data_loading.py [--quick] [--rounds 8] [--samples 40000] [--device cpu]

(a) In memory (a .npz's arrays): netspec's `Batches.iterate` over one shuffled epoch against
the hand-written loop's batching (`x_t[perm_t[i:i + b]]` on `torch.from_numpy` tensors, the
baseline), at 784 features and batch 256 (copy-bound), then 10 features and batch 32 (bound by
the per-batch Python work); in a git checkout, also the last commit's `Batches` (a before/after
while the change is uncommitted). Goal: netspec/HEAD <= 1.03 (in-memory data takes no
DataLoader: no slower than before), netspec/hand without HEAD; netspec/hand is the per-batch
Python work of `Batches` (lists, dtype and device checks), older than the workers.
(b) On disk (the same arrays as .npy shards, memory-mapped: `ShardedArray`): background workers
(a DataLoader; `NETSPEC_LOADER_WORKERS`, else min(2, cores) whatever the size) against reading
in the training process (`Batches(..., workers=0)`, the synchronous path; the baseline), one
epoch of training steps (an MLP 784-256-256-10, SGD) and one epoch of batches alone; the
in-memory epoch of steps for reference. Then the time to a pass's first batch (a new `Batches`,
as `evaluate` makes per call: the workers' fork). Goal: workers/synchronous epoch of steps <= 1.

The shards are read from the page cache after the first round (nothing evicts them here): the
numbers are memory copies and page-table work, a lower bound of what a cold disk gains.
"""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import tempfile
from pathlib import Path

import common
import numpy as np
from common import alternate, machine, parser, report

BATCH = 256
GOAL_MEMORY, GOAL_DISK = 1.03, 1.0


def arrays(samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    return x, rng.integers(0, 10, samples).astype(np.int64)


def write_shards(folder: Path, x: np.ndarray, y: np.ndarray, shards: int = 4):
    """x.N.npy / y.N.npy, opened as netspec opens a directory of shards."""
    from netspec.training.sources.shards import open_directory

    for i, (a, b) in enumerate(
        zip(np.array_split(x, shards), np.array_split(y, shards), strict=True)
    ):
        np.save(folder / f"x.{i:03d}.npy", a)
        np.save(folder / f"y.{i:03d}.npy", b)
    found = open_directory(folder, budget=1 << 40)
    return found["x"], found["y"]


def head_batches(folder: Path):
    """The `Batches` class of the last commit (`git show HEAD:...`), for a before/after of the
    in-memory path while the change is not committed; None outside a git checkout."""
    try:
        text = subprocess.run(
            ["git", "show", "HEAD:netspec/training/engine/batches.py"],
            cwd=common.ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    path = folder / "head_batches.py"
    path.write_text(text.replace("from .", "from netspec.training.engine.").replace(
        "from ...", "from netspec."))  # fmt: skip
    spec = importlib.util.spec_from_file_location("head_batches", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Batches


def hand_epoch(x_t, y_t, order, batch: int) -> None:
    import torch

    perm = torch.from_numpy(order)
    for i in range(0, len(order), batch):
        index = perm[i : i + batch]
        x_t[index], y_t[index]


def in_memory(x, y, graph, device, batch, rounds, orders, head) -> tuple[float, float]:
    """(a): netspec's in-memory epoch of batches / the hand-written loop's, and / HEAD's."""
    import torch

    from netspec.training.engine.batches import Batches
    from netspec.training.engine.data import Split

    memory = Batches(Split([x], [y]), graph, device, batch)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    contenders = {"hand": lambda: hand_epoch(x_t, y_t, next(orders), batch),
                  "netspec": lambda: sum(1 for _ in memory.iterate(next(orders)))}  # fmt: skip
    if head is not None:
        before = head(Split([x], [y]), graph, device, batch)
        contenders["netspec HEAD"] = lambda: sum(1 for _ in before.iterate(next(orders)))
    result = alternate(contenders, rounds=rounds * 4, number=3)
    title = f"(a) in memory, {x.shape[1]} features, batch {batch}: one epoch of batches"
    report(result, "hand", title, "per epoch")
    versus_head = result.paired_ratio("netspec", "netspec HEAD") if head is not None else 0.0
    if head is not None:
        print(f"  netspec/netspec HEAD (the last commit's Batches): {versus_head:.3f}")
    return result.paired_ratio("netspec", "hand"), versus_head


def main() -> None:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    rounds = args.rounds or (4 if args.quick else 8)
    samples = args.samples or (10_000 if args.quick else 40_000)
    import torch

    import netspec
    from netspec.training.engine.batches import SMALL, Batches, loader_workers
    from netspec.training.engine.data import Split

    device = torch.device(args.device)
    spec = netspec.loads(common.dense_spec(784, [256, 256, 10], last_activation=None))
    x, y = arrays(samples)
    rng = np.random.default_rng(1)
    orders = itertools.cycle([rng.permutation(samples) for _ in range(7)])  # a new one per call
    print(f"{machine()}; {samples} samples of 784 float32, batch {BATCH}, device {device}")

    # (a) in memory: bandwidth-bound (784 features, batch 256), then overhead-bound (10, 32)
    with tempfile.TemporaryDirectory() as tmp:
        head = head_batches(Path(tmp))
    memory = Batches(Split([x], [y]), spec.graph, device, BATCH)
    assert memory.workers == 0  # no DataLoader on in-memory data
    summary_a, worst = [], 0.0
    for features, batch in ((784, BATCH), (10, 32)):
        part = np.ascontiguousarray(x[:, :features])
        ratios = in_memory(part, y, spec.graph, device, batch, rounds, orders, head)
        worst = max(worst, ratios[1] if head is not None else ratios[0])
        summary_a.append(f"{features} features b{batch} netspec/hand {ratios[0]:.3f}" + (
            f" (HEAD's {ratios[1]:.3f})" if head is not None else ""))  # fmt: skip

    # (b) on disk
    with tempfile.TemporaryDirectory() as tmp:
        sx, sy = write_shards(Path(tmp), x, y)
        disk = Split([sx], [sy])
        sync = Batches(disk, spec.graph, device, BATCH, workers=0)
        background = Batches(disk, spec.graph, device, BATCH, workers=loader_workers(SMALL))
        print(f"\nworkers: {background.workers} (synchronous: {sync.workers})")
        model = netspec.build(spec, device=device, seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def steps(batches) -> None:
            for (xb,), (yb,), _ in batches.iterate(next(orders)):
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()

        contenders = {"synchronous": lambda: steps(sync), "workers": lambda: steps(background),
                      "in memory": lambda: steps(memory)}  # fmt: skip
        train = alternate(contenders, rounds=rounds)
        report(train, "synchronous", "(b) shards: one epoch of training steps", "per epoch")
        read = alternate(
            {"synchronous": lambda: sum(1 for _ in sync.iterate(next(orders))),
             "workers": lambda: sum(1 for _ in background.iterate(next(orders)))},
            rounds=rounds,
        )  # fmt: skip
        report(read, "synchronous", "(b) shards: one epoch of batches alone", "per epoch")
        first = alternate(
            {"synchronous": lambda: first_batch(disk, spec.graph, device, 0),
             "workers": lambda: first_batch(disk, spec.graph, device, background.workers)},
            rounds=rounds,
        )  # fmt: skip
        report(first, "synchronous", "a new pass's first batch (evaluate's start)", "")
    steps_ratio = train.paired_ratio("workers", "synchronous")
    print(
        f"\nSUMMARY data_loading ({machine()}, {samples} x 784 float32, batch {BATCH}, {device}): "
        f"(a) in-memory batches, {'; '.join(summary_a)} (goal {'HEAD' if head else 'hand'} "
        f"<= {GOAL_MEMORY}: "
        f"{common.goal(worst, GOAL_MEMORY)}); (b) shards, epoch of MLP steps "
        f"workers/"
        f"synchronous {steps_ratio:.3f} (goal <= {GOAL_DISK}: "
        f"{common.goal(steps_ratio, GOAL_DISK)}), "
        f"batches alone {read.paired_ratio('workers', 'synchronous'):.3f}, in memory/synchronous "
        f"{train.paired_ratio('in memory', 'synchronous'):.3f}; first batch of a new pass "
        f"{common.fmt_time(first.median('workers'))} with workers vs "
        f"{common.fmt_time(first.median('synchronous'))}"
    )


def first_batch(split, graph, device, workers) -> None:
    from netspec.training.engine.batches import Batches

    batches = Batches(split, graph, device, BATCH, workers=workers)
    next(batches.iterate(None))  # the pass, collected, stops its workers


if __name__ == "__main__":
    main()
