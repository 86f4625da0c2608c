"""The hand-written baseline of `bench/predict.py`, in its own process (imports no netspec):

    python bench/predict_worker.py {mlp,cnn} DATA.npz WEIGHTS.pt OUT.npz BATCH

What one writes in PyTorch to predict over an .npz: the network (`train_worker.hand_model`), its
weights (`torch.load`), `eval()`, a `torch.no_grad()` loop over batches of `x`, the outputs
written into one preallocated array, saved with `np.savez`.
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> None:
    net, data, weights, out, batch = sys.argv[1:6]
    import torch
    from train_worker import hand_model

    with np.load(data) as npz:
        x = torch.from_numpy(npz["x"])
    model = hand_model(net)
    model.load_state_dict(torch.load(weights))
    model.eval()
    size = int(batch)
    y = None
    with torch.no_grad():
        for i in range(0, len(x), size):
            p = model(x[i : i + size]).numpy()
            if y is None:
                y = np.empty((len(x), *p.shape[1:]), dtype=p.dtype)
            y[i : i + len(p)] = p
    np.savez(out, y=y)


if __name__ == "__main__":
    main()
