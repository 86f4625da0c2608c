"""Whole-process training time and peak memory: `netspec train` (the CLI) vs a hand-written
PyTorch loop vs Keras 3 `fit` (torch backend), each run in its own process.

Three networks, on deterministic synthetic data (`bench/data.py`, written once to .npz files
in a temporary folder that every contender reads: `x_train`, `y_train`):

- MLP 784-512-512-10 (relu, softmax) on 60,000 MNIST-like digits flattened to 784 (2 epochs;
  `--quick`: 1 epoch of 20,000);
- CNN: `specs/mnist_cnn.yaml`'s network on 28x28x1 digits (10,000; `--quick`: 3,000), 1 epoch;
- LSTM(64) -> Dense(1) on (50, 16) sine windows (10,000; `--quick`: 3,000), 1 epoch.

Same optimizer (Adam, lr 1e-3, eps 1e-7: Keras's defaults), batch 32, shuffled every epoch;
losses: sparse categorical cross-entropy of the softmax output (accuracy reported) and mean
squared error. Contenders, each a fresh `sys.executable` process:

- netspec: `cli.py train SPEC --data D --out TMP --quiet`, SPEC the network with a `compile:`
  and a `train:` section (written here);
- hand: `bench/train_worker.py hand ...` (torch only, no netspec import);
- tuned: `bench/train_worker.py tuned ...`, the hand-written loop with netspec's two
  process-level measures (Adam's fused kernel, the garbage-collector policy of `netspec/heap.py`):
  netspec/tuned is the framework's own overhead (`--no-tuned` leaves it out);
- keras: `bench/train_worker.py keras ...` (`KERAS_BACKEND=torch`).

Measured per process: wall time (start to exit: interpreter start, imports, data load, build,
training, saving; plus the same ~20 ms launcher for every contender) and peak resident memory
(`ru_maxrss` of that process alone, from `os.wait4` in `bench/peak_rss.py`, a small launcher:
measured directly from this process, every contender would report this process's own size).
`wait4` reports the largest of a process and its waited-for children, so netspec's curves.png
helper (about 100 MiB, mostly matplotlib) would show only if it outgrew the trainer.

Rounds alternate the contenders, the order reversed every other round; ratios are
medians over rounds of the per-round ratio to hand. Goals: netspec/hand time <= 1/0.95 (netspec
at least 95% of the hand-written loop's speed) and peak memory within 10%. When the CLI has no
`train` command yet, netspec is reported as skipped.

    python bench/train.py [--quick] [--rounds N] [--no-keras] [--no-tuned] [--no-hand]
        [--only mlp,cnn,lstm] [--before OTHER_CHECKOUT]

`--before` adds that checkout's `cli.py train` as a contender ("before", same rounds), to
measure a change against the tree without it; `--no-hand` leaves the plain loop out (ratios to
tuned only).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
import numpy as np

ROOT = common.ROOT
WORKER = Path(__file__).resolve().parent / "train_worker.py"
PEAK_RSS = Path(__file__).resolve().parent / "peak_rss.py"
BATCH = 32
TIME_GOAL = 1 / 0.95
MEMORY_GOAL = 1.10

COMPILE = {
    "cls": "compile:\n  optimizer: adam\n  loss: sparse_categorical_crossentropy\n"
    "  metrics: [accuracy]\n",
    "reg": "compile:\n  optimizer: adam\n  loss: mse\n",
}
LAYERS = {
    "mlp": (
        "[784]",
        ["Dense, units: 512, activation: relu"] * 2 + ["Dense, units: 10, activation: softmax"],
    ),
    "cnn": (
        "[28, 28, 1]",
        [
            "Conv2D, filters: 32, kernel_size: [3, 3], activation: relu",
            "MaxPooling2D, pool_size: [2, 2]",
            "Conv2D, filters: 64, kernel_size: [3, 3], activation: relu",
            "MaxPooling2D, pool_size: [2, 2]",
            "Flatten",
            "Dropout, rate: 0.5",
            "Dense, units: 128, activation: relu",
            "Dense, units: 10, activation: softmax",
        ],
    ),
    "lstm": ("[50, 16]", ["LSTM, units: 64", "Dense, units: 1"]),
}


def spec_text(net: str, epochs: int) -> str:
    shape, layers = LAYERS[net]
    lines = ["netspec: 1", f"name: bench_{net}", f"input_shape: {shape}", "layers:"]
    lines += [f"  - {{type: {layer}}}" for layer in layers]
    text = "\n".join(lines) + "\n" + COMPILE["reg" if net == "lstm" else "cls"]
    return text + f"train:\n  epochs: {epochs}\n  batch_size: {BATCH}\n  shuffle: true\n  seed: 0\n"


def make_data(net: str, n: int, path: Path) -> None:
    import data  # bench/data.py (torch)

    if net == "lstm":
        x, y = data.series(n, steps=50, features=16, seed=0)
    else:
        x, y = data.digits(n, seed=0)
        if net == "mlp":
            x = x.reshape(n, 784)
    np.savez(path, x_train=x.numpy(), y_train=y.numpy())


def run(cmd: list[str], workdir: Path, env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, output) of one process; raises on failure."""
    log, peak = workdir / "log.txt", workdir / "peak_kib.txt"
    launcher = [sys.executable, str(PEAK_RSS), str(peak)]  # the command's own peak memory
    with open(log, "wb") as out:
        start = time.perf_counter()
        done = subprocess.run(
            [*launcher, *cmd], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {' '.join(cmd)}\n{text[-2000:]}")
    rss_kib = int(peak.read_text())  # KiB on Linux
    return wall, rss_kib / 1024, text


def paired(values: list[float], baseline: list[float]) -> float:
    """Median over rounds of the per-round ratio."""
    return common.median([a / b for a, b in zip(values, baseline, strict=True)])


def netspec_train_available() -> bool:
    done = subprocess.run(
        [sys.executable, "cli.py", "train", "--help"], cwd=ROOT, capture_output=True
    )
    return done.returncode == 0


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3; quick 1)")
    parser.add_argument("--no-keras", action="store_true", help="leave Keras out")
    parser.add_argument("--no-tuned", action="store_true", help="leave the tuned loop out")
    parser.add_argument("--only", default="mlp,cnn,lstm", help="networks, comma-separated")
    parser.add_argument("--no-hand", action="store_true", help="leave the plain loop out")
    parser.add_argument(
        "--before", default=None, help="another checkout's root: its `cli.py train` as 'before'"
    )
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    common.byte_compile()  # as an installed package has it
    if args.before:
        common.byte_compile(Path(args.before))
    sizes = {
        "mlp": (20_000, 1) if args.quick else (60_000, 2),
        "cnn": (3_000, 1) if args.quick else (10_000, 1),
        "lstm": (3_000, 1) if args.quick else (10_000, 1),
    }
    have_netspec = netspec_train_available()
    if not have_netspec:
        print("netspec train not available yet: skipped")
    print(f"{common.machine()}, {rounds} round(s), batch {BATCH}")
    summary = []
    with tempfile.TemporaryDirectory(prefix="netspec-bench-train-") as tmp_name:
        tmp = Path(tmp_name)
        for net in args.only.split(","):
            n, epochs = sizes[net]
            data_path, spec_path = tmp / f"{net}.npz", tmp / f"{net}.yaml"
            make_data(net, n, data_path)
            spec_path.write_text(spec_text(net, epochs))
            worker = [sys.executable, str(WORKER)]
            common_args = [net, str(data_path), str(epochs), str(BATCH)]
            contenders: dict[str, tuple[list[str], dict | None]] = {}
            if have_netspec:
                contenders["netspec"] = (
                    [
                        sys.executable,
                        "cli.py",
                        "train",
                        str(spec_path),
                        "--data",
                        str(data_path),
                        "--out",
                        "{out}",
                        "--quiet",
                    ],
                    None,
                )
            if args.before:  # the same command from another tree (its own netspec package)
                before = [sys.executable, str(Path(args.before) / "cli.py")]
                contenders["before"] = ([*before, *contenders["netspec"][0][2:]], None)
            if not args.no_hand:
                contenders["hand"] = ([*worker, "hand", *common_args, "{out}"], None)
            if not args.no_tuned:
                contenders["tuned"] = ([*worker, "tuned", *common_args, "{out}"], None)
            if not args.no_keras:
                env = {**os.environ, "KERAS_BACKEND": "torch"}
                contenders["keras"] = ([*worker, "keras", *common_args, "{out}"], env)
            times = {name: [] for name in contenders}
            memory = {name: [] for name in contenders}
            print(f"\n{net}: {n} samples, {epochs} epoch(s)")
            names = list(contenders)
            for r in range(rounds):
                for name in names if r % 2 == 0 else reversed(names):
                    if name not in times:
                        continue
                    cmd, env = contenders[name]
                    workdir = Path(tempfile.mkdtemp(dir=tmp))
                    cmd = [c.replace("{out}", str(workdir / "out")) for c in cmd]
                    try:
                        wall, rss, text = run(cmd, workdir, env)
                    except RuntimeError as err:
                        print(f"  {name}: failed, skipped\n{err}")
                        del times[name], memory[name]
                        continue
                    times[name].append(wall)
                    memory[name].append(rss)
                    last = text.strip().splitlines()[-1] if text.strip() else ""
                    print(f"  round {r} {name:<8} {wall:7.2f} s  {rss:7.0f} MiB  {last[:70]}")
            print(f"{net} medians:")
            for name in times:
                line = (
                    f"  {name:<8} time {common.median(times[name]):7.2f} s"
                    f"  peak RSS {common.median(memory[name]):7.0f} MiB"
                )
                if name != "hand" and "hand" in times:
                    t = paired(times[name], times["hand"])
                    m = paired(memory[name], memory["hand"])
                    line += f"  time/hand {t:.3f}  memory/hand {m:.3f}"
                    if name == "netspec":
                        line += (
                            f"  (speed {1 / t:.2f}x of hand: {common.goal(t, TIME_GOAL)};"
                            f" memory: {common.goal(m, MEMORY_GOAL)})"
                        )
                    summary.append(f"{net} {name}/hand time {t:.2f}x memory {m:.2f}x")
                print(line)
            for name in ("netspec", "before"):
                if name in times and "tuned" in times:
                    t = paired(times[name], times["tuned"])
                    m = paired(memory[name], memory["tuned"])
                    print(f"  {name}/tuned: time {t:.3f}  memory {m:.3f}")
                    summary.append(f"{net} {name}/tuned time {t:.2f}x memory {m:.2f}x")
    print(f"\nSUMMARY train: {'; '.join(summary) or 'no ratios'} ({common.machine()})")


if __name__ == "__main__":
    main()
