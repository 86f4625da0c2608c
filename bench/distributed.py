"""Data-parallel scaling: `netspec train --nproc N` against 1 process, same spec, data, global
batch size and epochs, as whole processes (start-up included).

    python bench/distributed.py [--nproc 2] [--rounds 4] [--epochs 2] [--device cpu|cuda]

Interleaved rounds (bench/common.py); prints each one's median wall time and the paired
speed-up (time of 1 process / time of N). On this
machine's 2 cores expect about 1x or below: the two processes share the cores that one
process's intra-op threads already use, and pay the gradient all-reduce on top. On a machine
with N GPUs, `--device cuda --nproc N` measures the real scaling.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import common
import numpy as np
import yaml
from common import alternate, machine, parser, report

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


def run(folder: Path, nproc: int, epochs: int, device: str) -> None:
    command = [sys.executable, "-m", "netspec", "train", "spec.yaml", "--data", "d.npz", "-q",
               "--epochs", str(epochs), "--device", device, "--out", "run"]  # fmt: skip
    if nproc > 1:
        command += ["--nproc", str(nproc)]
    shutil.rmtree(folder / "run", ignore_errors=True)
    subprocess.run(command, cwd=folder, check=True, capture_output=True)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--samples", type=int, default=8192)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    common.byte_compile()  # as an installed package has it
    rounds = 2 if args.quick else args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "spec.yaml").write_text(yaml.safe_dump(SPEC))
        rng = np.random.default_rng(0)
        x = rng.normal(size=(args.samples, 28, 28, 1)).astype("float32")
        np.savez(folder / "d.npz", x=x, y=rng.integers(0, 10, size=args.samples))
        many = f"{args.nproc} processes"
        result = alternate(
            {
                "1 process": lambda: run(folder, 1, args.epochs, args.device),
                many: lambda: run(folder, args.nproc, args.epochs, args.device),
            },
            rounds,
            warmup=0,
        )
    title = (f"netspec train, whole processes: {args.samples} samples x {args.epochs} epochs, "
             f"global batch 128, {args.device} ({machine()})")  # fmt: skip
    report(result, "1 process", title, "per run")
    speedup = result.paired_ratio("1 process", many)
    print(f"SUMMARY distributed --nproc {args.nproc} ({args.device}): 1 process "
          f"{result.median('1 process'):.2f} s, {many} {result.median(many):.2f} s: speed-up "
          f"{speedup:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
