"""One training run of `bench/train.py`, in its own process: a hand-written PyTorch loop or
Keras 3 `fit` (torch backend) on one of its networks, reading the data `train.py` wrote.

    python bench/train_worker.py {hand,tuned,keras} {mlp,cnn,lstm} DATA.npz EPOCHS BATCH OUT_DIR

Imports nothing of netspec (so its time and memory are the baseline's own). The hand-written
loop is what one writes in PyTorch: `nn.Module` of `nn.Linear`/`nn.Conv2d`/`nn.LSTM`,
`torch.optim.Adam(lr=1e-3, eps=1e-7)` (Keras's defaults), a fresh shuffle every epoch, batches
by index, running mean of the loss (and accuracy for the classifiers) per epoch, weights saved
at the end. `tuned` is the same loop written with the two process-level measures netspec's
command line takes: Adam's fused kernel (`fused=True`: torch's CPU default is a per-tensor loop)
and the garbage-collector policy of `netspec/heap.py` (only the youngest generation collected
during set-up, `gc.freeze()` before the loop and before exit); what netspec costs over it is the
framework's own overhead.
Keras: the same network, `compile(Adam(1e-3), loss, metrics)`, `fit(...,
shuffle=True, verbose=0)`, weights saved at the end when h5py is present.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import numpy as np

LR, EPS = 1e-3, 1e-7
THRESHOLDS = gc.get_threshold()


def hand_model(net: str, features: int = 16):
    """The hand-written network `net` (mlp, cnn, lstm) as a plain `nn.Module`."""
    import torch.nn.functional as F
    from torch import nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = (
                nn.Linear(784, 512),
                nn.Linear(512, 512),
                nn.Linear(512, 10),
            )

        def forward(self, x):
            return F.softmax(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))), dim=-1)

    class CNN(nn.Module):  # specs/mnist_cnn.yaml, NHWC input as Keras lays it out
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
            self.drop = nn.Dropout(0.5)
            self.fc1, self.fc2 = nn.Linear(5 * 5 * 64, 128), nn.Linear(128, 10)

        def forward(self, x):
            x = x.permute(0, 3, 1, 2)
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = F.relu(self.fc1(self.drop(x.flatten(1))))
            return F.softmax(self.fc2(x), dim=-1)

    class LSTM(nn.Module):
        def __init__(self, features: int):
            super().__init__()
            self.lstm, self.fc = nn.LSTM(features, 64, batch_first=True), nn.Linear(64, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.fc(h[-1])

    return {"mlp": MLP, "cnn": CNN}[net]() if net != "lstm" else LSTM(features)


def hand_loop(net: str, x, y, batch: int, tuned: bool = False):
    """(model, epoch): the hand-written network and optimizer set up (seed 0), and a function
    running one shuffled epoch of steps that returns its (mean loss, accuracy or None), read
    once at the end. `bench/train_profile.py` times this same epoch in one process."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = hand_model(net, x.shape[-1])
    classifier = net != "lstm"
    opt = torch.optim.Adam(model.parameters(), lr=LR, eps=EPS, **({"fused": True} if tuned else {}))
    gen = torch.Generator().manual_seed(0)

    def epoch() -> tuple[float, float | None]:
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total, correct = torch.zeros(()), torch.zeros(())
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            xb, yb = x[idx], y[idx]
            pred = model(xb)
            if classifier:
                loss = F.nll_loss(torch.log(pred.clamp(EPS, 1 - EPS)), yb)
            else:
                loss = F.mse_loss(pred, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                total += loss.detach() * len(idx)
                if classifier:
                    correct += (pred.argmax(-1) == yb).sum()
        return total.item() / len(x), (correct.item() / len(x) if classifier else None)

    return model, epoch


def hand(net: str, data: dict, epochs: int, batch: int, out: Path, tuned: bool = False) -> None:
    import torch

    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    model, epoch = hand_loop(net, x, y, batch, tuned)
    if tuned:  # set-up done: freeze what is alive, collect the loop's garbage
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
    for _ in range(epochs):
        loss, acc = epoch()
        print(f"loss {loss:.4f}" + (f" acc {acc:.4f}" if acc is not None else ""))
    torch.save(model.state_dict(), out / "weights.pt")


def keras_layers(keras, net: str) -> list:
    """The benchmark's networks as Keras layers (also `train_step.py`'s Keras models)."""
    L = keras.layers
    if net == "mlp":
        return [
            L.Dense(512, activation="relu"),
            L.Dense(512, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]
    if net == "cnn":
        return [
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dropout(0.5),
            L.Dense(128, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]
    return [L.LSTM(64), L.Dense(1)]


def keras_fit(net: str, data: dict, epochs: int, batch: int, out: Path) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    x, y = data["x_train"], data["y_train"]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(x.shape[1:]), *keras_layers(keras, net)])
    if net == "lstm":
        model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")
    else:
        model.compile(
            optimizer=keras.optimizers.Adam(LR),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    history = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    print({k: round(v[-1], 4) for k, v in history.history.items()})
    try:
        model.save_weights(out / "model.weights.h5")
    except ImportError:  # h5py missing
        pass


def main() -> None:
    impl, net, path, epochs, batch, out = sys.argv[1:7]
    if impl == "tuned":  # before the command's work, as netspec's console script
        gc.set_threshold(THRESHOLDS[0], 1 << 30, 1 << 30)  # the youngest generation only
    with np.load(path) as npz:
        data = {k: npz[k] for k in ("x_train", "y_train")}
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = (net, data, int(epochs), int(batch), out_dir)
    if impl == "keras":
        keras_fit(*args)
    else:
        hand(*args, tuned=impl == "tuned")
    if impl == "tuned":
        gc.freeze()  # the interpreter's last collection has nothing to walk


if __name__ == "__main__":
    main()
