"""`netspec predict` as a whole process against a hand-written `torch.no_grad` loop over the
same .npz (bench/predict_worker.py, no netspec import), interleaved rounds:

    python bench/predict.py [--quick] [--rounds 6] [--samples 20000] [--only mlp,cnn]

Both read the data, build the network, load weights, predict in batches of 256 and write an
.npz. netspec: `python -m netspec predict SPEC --weights W.safetensors --data X.npz -o Y.npz
--device cpu` (spec: the MLP 784-512-512-10 or the CNN of specs/mnist_cnn.yaml). Goal: netspec
at >= 0.97x the baseline's speed (time netspec / time hand <= 1/0.97)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import common
import numpy as np
import yaml
from common import alternate, machine, parser, report

BATCH = 256
GOAL = 1 / 0.97
SPECS = {
    "mlp": {"input_shape": [784], "layers": [
        {"type": "Dense", "units": 512, "activation": "relu"},
        {"type": "Dense", "units": 512, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"}]},
    "cnn": {"input_shape": [28, 28, 1], "layers": [
        {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Conv2D", "filters": 64, "kernel_size": 3, "activation": "relu"},
        {"type": "MaxPooling2D"},
        {"type": "Flatten"},
        {"type": "Dropout", "rate": 0.5},
        {"type": "Dense", "units": 128, "activation": "relu"},
        {"type": "Dense", "units": 10, "activation": "softmax"}]},
}  # fmt: skip


def prepare(folder: Path, net: str, samples: int) -> None:
    """The data, the spec, netspec's weights and the hand-written network's."""
    import torch
    from data import digits
    from train_worker import hand_model

    import netspec
    from netspec.training.output.runs import save_weights

    x, _ = digits(samples)
    x = x.numpy().reshape(samples, -1) if net == "mlp" else x.numpy()
    np.savez(folder / f"{net}.npz", x=x)
    (folder / f"{net}.yaml").write_text(yaml.safe_dump({"netspec": 1, "name": net, **SPECS[net]}))
    model = netspec.build(netspec.load(folder / f"{net}.yaml"), device="cpu", seed=0)
    save_weights(folder / f"{net}.safetensors", model)
    torch.save(hand_model(net).state_dict(), folder / f"{net}.pt")


def netspec_predict(folder: Path, net: str) -> None:
    subprocess.run([sys.executable, "-m", "netspec", "predict", f"{net}.yaml", "--weights",
                    f"{net}.safetensors", "--data", f"{net}.npz", "-o", "netspec_y.npz",
                    "--device", "cpu"], cwd=folder, check=True, capture_output=True)  # fmt: skip


def hand_predict(folder: Path, net: str) -> None:
    worker = Path(__file__).resolve().parent / "predict_worker.py"
    subprocess.run([sys.executable, str(worker), net, f"{net}.npz", f"{net}.pt", "hand_y.npz",
                    str(BATCH)], cwd=folder, check=True, capture_output=True)  # fmt: skip


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--only", default="mlp,cnn")
    args = p.parse_args()
    common.byte_compile()  # as an installed package has it
    rounds, samples = (2, 5000) if args.quick else (args.rounds, args.samples)
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for net in args.only.split(","):
            prepare(folder, net, samples)
            (folder / f"{net}.yaml").write_text(
                (folder / f"{net}.yaml").read_text()
                + f"compile: {{loss: categorical_crossentropy}}\ntrain: {{batch_size: {BATCH}}}\n"
            )
            result = alternate({"hand": lambda n=net: hand_predict(folder, n),
                                "netspec": lambda n=net: netspec_predict(folder, n)},
                               rounds, warmup=1)  # fmt: skip
            report(result, "hand", f"predict {net}, {samples} samples, batch {BATCH} "
                   f"({machine()})", "per process")  # fmt: skip
            ratio = result.paired_ratio("netspec", "hand")
            summary.append(f"{net} {ratio:.3f} ({common.goal(ratio, GOAL)})")
    print(f"SUMMARY predict netspec/hand time: {', '.join(summary)}; goal <= {GOAL:.3f}")


if __name__ == "__main__":
    main()
