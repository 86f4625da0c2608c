"""Data-parallel scaling: `netspec train --nproc N` against 1 process, same spec, data, global
batch size and epochs, as whole processes (start-up included), the fastest of `--rounds`.

    python bench/distributed.py [--nproc 2] [--rounds 3] [--epochs 3] [--device cpu|cuda]

Prints the wall time of each and the speed-up (time of 1 process / time of N). On this
machine's 2 cores expect about 1x or below: the two processes share the cores that one
process's intra-op threads already use, and pay the gradient all-reduce on top. On a machine
with N GPUs, `--device cuda --nproc N` measures the real scaling.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

SPEC = {
    "netspec": 1,
    "name": "bench_cnn",
    "input_shape": [28, 28, 1],
    "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Conv2D", "filters": 64, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 128, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"},
    ],
    "compile": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"},
    "train": {"batch_size": 128, "seed": 0},
}


def run(folder: Path, nproc: int, epochs: int, device: str) -> float:
    command = [sys.executable, "-m", "netspec", "train", "spec.yaml", "--data", "d.npz", "-q",
               "--epochs", str(epochs), "--device", device]  # fmt: skip
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    began = time.perf_counter()
    subprocess.run(command, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=8192)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "spec.yaml").write_text(yaml.safe_dump(SPEC))
        rng = np.random.default_rng(0)
        x = rng.normal(size=(args.samples, 28, 28, 1)).astype("float32")
        np.savez(folder / "d.npz", x=x, y=rng.integers(0, 10, size=args.samples))
        one = min(run(folder, 1, args.epochs, args.device) for _ in range(args.rounds))
        many = min(run(folder, args.nproc, args.epochs, args.device) for _ in range(args.rounds))
    print(f"1 process: {one:.2f} s; {args.nproc} processes: {many:.2f} s; "
          f"speed-up {one / many:.2f}x ({args.samples} samples x {args.epochs} epochs, "
          f"global batch 128, {args.device})")  # fmt: skip


if __name__ == "__main__":
    main()
