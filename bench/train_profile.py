"""Where a training step's time goes: `netspec train`'s trainer vs `bench/train_worker.py`'s
tuned loop, in one process, on the networks of `bench/train.py`.

For each network the same data (`bench/data.py`) is trained for one epoch by netspec's
`Trainer` (built as `netspec train --quiet` builds it: the spec of `train.py`, Adam, the
per-epoch progress line to a no-op) and by the tuned hand-written loop (fused Adam, the same
batches), in interleaved rounds; the per-step time of each (median over rounds) and their
ratio are printed, then `--profile` prints cProfile's top entries of one netspec epoch and of
one tuned epoch (by own time), so that what netspec adds per step shows as the entries the
tuned loop does not have.

    python bench/train_profile.py [--quick] [--only mlp,cnn,lstm] [--rounds N] [--profile]
"""

from __future__ import annotations

import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path

import common
import numpy as np
from train import BATCH, make_data, spec_text
from train_worker import hand_loop

SIZES = {"mlp": 8_000, "cnn": 2_000, "lstm": 3_000}


def netspec_epoch(spec_path: Path, data_path: Path):
    """A function running one epoch of netspec's trainer (set up once, outside the timing)."""
    from netspec.training.engine.session import make_trainer, prepare
    from netspec.training.output.progress import EpochProgress

    spec, model, data = prepare(spec_path, data_path, training=True)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = make_trainer(model, spec, data, Path(tmp) / "run", print, {}, data_path)
    trainer.run = None  # no files
    trainer.progress = EpochProgress(1, len(trainer.train_data), BATCH, live=False,
                                     echo=lambda _: None)  # fmt: skip

    def epoch() -> None:
        trainer._epoch()

    return epoch, len(trainer.train_data)


def tuned_epoch(net: str, data_path: Path):
    """`train_worker.hand(..., tuned=True)`'s epoch as a function."""
    import torch

    with np.load(data_path) as npz:
        x, y = torch.from_numpy(npz["x_train"]), torch.from_numpy(npz["y_train"])
    _, epoch = hand_loop(net, x, y, BATCH, tuned=True)
    return epoch, len(x)


def profile(name: str, epoch, top: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    epoch()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    print(f"\n{name}: {lines[start - 1].strip() if start else ''}")
    print("\n".join(lines[start : start + top + 1]))


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--only", default="mlp,cnn,lstm")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile one epoch of each")
    parser.add_argument("--top", type=int, default=18)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    print(f"{common.machine()}, {rounds} rounds, batch {BATCH}")
    with tempfile.TemporaryDirectory(prefix="netspec-bench-profile-") as tmp:
        for net in args.only.split(","):
            n = SIZES[net] // (4 if args.quick else 1)
            data_path, spec_path = Path(tmp) / f"{net}.npz", Path(tmp) / f"{net}.yaml"
            make_data(net, n, data_path)
            spec_path.write_text(spec_text(net, 1))
            contenders = {"netspec": netspec_epoch(spec_path, data_path)[0],
                          "tuned": tuned_epoch(net, data_path)[0]}  # fmt: skip
            steps = -(-n // BATCH)
            for fn in contenders.values():
                fn()  # warm-up epoch
            times: dict[str, list[float]] = {k: [] for k in contenders}
            for r in range(rounds):
                for name in contenders if r % 2 == 0 else reversed(list(contenders)):
                    start = time.perf_counter()
                    contenders[name]()
                    times[name].append((time.perf_counter() - start) / steps)
            ratio = common.median(
                [a / b for a, b in zip(times["netspec"], times["tuned"], strict=True)]
            )
            med = {k: common.median(v) * 1e6 for k, v in times.items()}
            print(f"{net}: {steps} steps/epoch; per step netspec {med['netspec']:.0f} us, tuned "
                  f"{med['tuned']:.0f} us; netspec/tuned {ratio:.3f} (paired median), "
                  f"{med['netspec'] - med['tuned']:+.0f} us/step")  # fmt: skip
            if args.profile:
                for name, fn in contenders.items():
                    profile(f"{net} {name}", fn, args.top)


if __name__ == "__main__":
    main()
