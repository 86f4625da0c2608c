"""Disk-backed data (memory-mapped .npy, .npy shards) is read by DataLoader workers over the
same index batches as the training process would read them (engine.batches): the same tensors,
the same training bit for bit (one process or data-parallel), workers that stop with their pass
and never outlive a killed or interrupted training process; in-memory data stays in the
training process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import netspec
from netspec.errors import NetspecError
from netspec.loader import loads
from netspec.training.engine.batches import SMALL, WORKERS_ENV, Batches, loader_workers
from netspec.training.engine.data import Split, load_data
from netspec.training.engine.distributed import Ranks
from netspec.training.engine.loop import fit
from netspec.training.sources import ShardedArray

SPEC = """netspec: 1
input_shape: [3]
layers:
  - {type: Dense, units: 8, activation: relu}
  - {type: Dense, units: 3, activation: softmax}
compile: {optimizer: {type: Adam, learning_rate: 0.05}, loss: sparse_categorical_crossentropy,
  metrics: [accuracy]}
train: {epochs: EPOCHS, batch_size: 8, seed: 0, validation_split: 0.25}
"""


def data(n: int = 60) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 3)).astype("float32")
    return {"x": x, "y": (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1)}


def shards(folder: Path, arrays: dict[str, np.ndarray], sizes: list[int]) -> Path:
    folder.mkdir()
    bounds = np.cumsum([0, *sizes])
    for key, a in arrays.items():
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            np.save(folder / f"{key}.{i:03d}.npy", a[lo:hi])
    return folder


def workers_alive() -> list[int]:
    return [p.pid for p in multiprocessing.active_children() if p.pid is not None]


def same(a: list, b: list) -> bool:
    return all(
        (s is None and t is None) or (s.dtype == t.dtype and torch.equal(s, t))
        for s, t in zip(a, b, strict=True)
    )


def test_workers_yield_the_batches_the_training_process_reads(tmp_path):
    arrays = data(45)
    folder = shards(tmp_path / "d", arrays, [20, 5, 20])
    disk = Split([ShardedArray([np.load(p, mmap_mode="r") for p in sorted(folder.glob("x.*"))])],
                 [arrays["y"]], [np.linspace(0, 1, 45), None])  # fmt: skip
    graph = loads(SPEC.replace("EPOCHS", "1")).graph
    cpu = torch.device("cpu")
    background = Batches(disk, graph, cpu, 8, workers=2)
    inline = Batches(disk, graph, cpu, 8, workers=0)
    in_memory = Batches(Split([arrays["x"]], [arrays["y"]], disk.sw), graph, cpu, 8)
    assert (background.workers, inline.workers, in_memory.workers) == (2, 0, 0)
    order = np.random.default_rng(0).permutation(45)
    for rows in (order, None, order[::-1].copy()):  # a new order each pass, workers persist
        passes = [list(b.iterate(rows)) for b in (background, inline, in_memory)]
        assert len(passes[0]) == 6 and len(passes[0]) == len(passes[1]) == len(passes[2])
        for got, *want in zip(*passes, strict=True):
            for other in want:
                assert all(same(g, w) for g, w in zip(got, other, strict=True))
        assert workers_alive() == []  # a pass's workers stop at its end
    abandoned = background.iterate(order)  # TerminateOnNaN ends an epoch early
    next(abandoned), next(abandoned)
    assert len(workers_alive()) == 2
    got = list(background.iterate(None))  # not the rest of the abandoned pass
    assert all(same(g, w) for a, b in zip(got, inline.iterate(None), strict=True)
               for g, w in zip(a, b, strict=True))  # fmt: skip
    ranks = Ranks(rank=5, world=6, local_rank=5, device="cpu")
    shared, expected = list(background.shares(order, ranks)), list(inline.shares(order, ranks))
    assert [s[3:] for s in shared] == [e[3:] for e in expected]
    assert shared[-1][3:] == (0, 0.0, 5)  # the last batch of 5: rank 5 has none of it
    assert all(same(s[i], e[i]) for s, e in zip(shared, expected, strict=True) for i in range(3))
    del abandoned
    assert workers_alive() == []  # an unfinished pass, collected: its workers stopped


def test_in_memory_small_or_single_batch_data_stays_in_the_training_process(tmp_path, monkeypatch):
    graph = loads(SPEC.replace("EPOCHS", "1")).graph
    arrays = data(20)
    np.save(tmp_path / "x.npy", arrays["x"])
    mapped = Split([np.load(tmp_path / "x.npy", mmap_mode="r")], [arrays["y"]])
    cpu = torch.device("cpu")
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert Batches(Split([arrays["x"]], [arrays["y"]]), graph, cpu, 4).workers == 0
    assert Batches(mapped, graph, cpu, 4).workers == 0  # small: the page cache holds it
    big = np.lib.format.open_memmap(tmp_path / "big.npy", "w+", np.float32, (SMALL // 12 + 1, 3))
    assert Batches(Split([big], []), graph, cpu, 4).workers == min(2, os.cpu_count() or 1)
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert Batches(mapped, graph, cpu, 4).workers == loader_workers(0) == 3
    assert Batches(mapped, graph, cpu, 20).workers == 0  # one batch: nothing to read ahead
    monkeypatch.setenv(WORKERS_ENV, "0")
    assert Batches(Split([big], []), graph, cpu, 4).workers == 0
    monkeypatch.setenv(WORKERS_ENV, "two")
    with pytest.raises(NetspecError, match=r"NETSPEC_LOADER_WORKERS='two': not a whole number"):
        loader_workers(0)


@pytest.mark.slow  # trains three times
def test_training_through_workers_is_bit_identical(tmp_path, monkeypatch):
    spec = loads(SPEC.replace("EPOCHS", "3"))
    folder = shards(tmp_path / "d", data(), [25, 25, 10])
    runs = []
    for workers in ("2", "0", "1"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        model = netspec.build(spec, seed=0)
        history = fit(model, spec, load_data(folder, spec))
        runs.append((history, [p.detach().clone() for p in model.parameters()]))
    assert workers_alive() == []  # each fit's workers stopped with its trainer
    for history, weights in runs[1:]:
        assert history == runs[0][0]  # exactly: same batches, same order, same values
        assert all(torch.equal(a, b) for a, b in zip(weights, runs[0][1], strict=True))


def _forked(pid: int) -> list[int]:
    """The children of `pid` with its command line (forked: the loader's workers, not the
    curves.png helper)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found += [int(c) for c in text.split()]
    return [c for c in found if _running(c) and _cmdline(c) == _cmdline(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""  # gone meanwhile


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited (its new parent has not reaped it yet)


@pytest.mark.slow  # starts training processes and kills them
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_a_killed_or_interrupted_training_leaves_no_worker(tmp_path, how):
    folder = shards(tmp_path / "d", data(4000), [2000, 2000])
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.replace("EPOCHS", "100000"))
    env = {**os.environ, WORKERS_ENV: "2"}
    command = [sys.executable, "-m", "netspec", "train", spec, "--data", folder, "--out",
               tmp_path / "run", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.PIPE)
    deadline, workers = time.monotonic() + 60, []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        workers = _forked(proc.pid)
    assert len(workers) >= 2, proc.stderr.read().decode() if proc.poll() is not None else ""
    time.sleep(0.5)  # inside the loop
    os.killpg(proc.pid, how)  # Ctrl-C reaches the whole foreground group
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20  # a worker of a killed parent notices within 5 s
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_running(w) for w in workers)
    if how == signal.SIGINT:
        assert proc.returncode not in (0, -signal.SIGINT)
        assert b"Traceback" not in proc.stderr.read()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_on_cuda_workers_pin_their_batches(tmp_path):
    arrays = data(40)
    np.save(tmp_path / "x.npy", arrays["x"])
    split = Split([np.load(tmp_path / "x.npy", mmap_mode="r")], [arrays["y"]])
    graph = loads(SPEC.replace("EPOCHS", "1")).graph
    cuda = torch.device("cuda")
    background, inline = (Batches(split, graph, cuda, 8, workers=w) for w in (2, 0))
    for got, want in zip(background.iterate(None), inline.iterate(None), strict=True):
        assert got[0][0].device.type == "cuda" and all(
            same(g, w) for g, w in zip(got, want, strict=True)
        )


@pytest.mark.slow  # three training runs from the command line
def test_data_parallel_shares_through_workers_are_bit_identical(tmp_path):
    shards(tmp_path / "d", data(70), [30, 40])  # 52 training rows: a last batch of 4
    (tmp_path / "s.yaml").write_text(SPEC.replace("EPOCHS", "2"))
    histories = []
    for workers, nproc in (("2", "2"), ("0", "2"), ("2", "1")):  # the last: one process, ends
        out = tmp_path / f"run{workers}-{nproc}"
        command = [sys.executable, "-m", "netspec", "train", "s.yaml", "--data", "d", "--out",
                   out, "-q", "--nproc", nproc]  # fmt: skip
        env = {**os.environ, WORKERS_ENV: workers}
        done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        histories.append((out / "history.json").read_text())
        weights = (out / "weights.safetensors").read_bytes()
        histories.append(weights)
    assert histories[0] == histories[2] and histories[1] == histories[3]
