"""Make the small data sets bundled with the example specs (specs/data/*.npz), deterministically.

    python scripts/make_data.py [--out specs/data]

Everything comes from data a package ships (scikit-learn's digits and diabetes, no download) or
from a fixed formula (the seasonal series), so the same versions give byte-identical files:
the arrays are written in a fixed order into a zip whose entries carry a fixed timestamp
(`np.savez_compressed` stamps the current time, so it is not used directly). `np.load` reads
the files as any `.npz`. Each file holds `x_train`, `y_train`, `x_test`, `y_test`:

- digits.npz: scikit-learn's 1797 8x8 handwritten digits, x (N, 8, 8, 1) float32 in [0, 1]
  (pixel / 16), y (N,) int64 labels 0-9; a stratified 80/20 split (fixed seed).
- diabetes.npz: scikit-learn's diabetes regression set, x (N, 10) float32 standardized with the
  training part's mean and standard deviation, y (N, 1) float32 (disease progression, raw);
  a shuffled 80/20 split (fixed seed).
- series.npz: a synthetic monthly-like seasonal series (trend + two seasons + AR(1) noise, 1200
  steps), standardized with the training part's statistics; windows of 30 steps, x (N, 30, 1)
  float32, and the next value, y (N, 1) float32; split by time: training targets are the first
  80% of the series, test targets the rest (test windows may read training steps as input).

scikit-learn is needed to run this script only (not a netspec dependency).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 0
WINDOW = 30
KEYS = ("x_train", "y_train", "x_test", "y_test")


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A compressed .npz with a fixed entry order and timestamp: byte-identical every run."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in KEYS:
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, entry.getvalue(), compresslevel=9)
    path.write_bytes(buffer.getvalue())


def split(n: int, test: float, labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices (sorted): stratified by `labels` when given, else plain shuffled."""
    rng = np.random.default_rng(SEED)
    train, held = [], []
    groups = (
        [np.arange(n)]
        if labels is None
        else [np.flatnonzero(labels == k) for k in np.unique(labels)]
    )
    for group in groups:
        order = rng.permutation(group)
        cut = round(len(order) * test)
        held.append(order[:cut])
        train.append(order[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


def digits() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[..., None]
    y = data.target.astype(np.int64)
    tr, te = split(len(y), 0.2, labels=y)
    return {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}


def diabetes() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_diabetes

    # scaled=False: the raw measurements (scikit-learn's default scaling uses all rows).
    data = load_diabetes(scaled=False)
    x = data.data.astype(np.float64)
    y = data.target.astype(np.float32)[:, None]
    tr, te = split(len(y), 0.2)
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    x = ((x - mean) / std).astype(np.float32)
    return {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}


def series(steps: int = 1200) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    t = np.arange(steps, dtype=np.float64)
    noise = np.zeros(steps)
    shocks = rng.normal(0.0, 0.3, steps)
    for i in range(1, steps):  # AR(1) noise
        noise[i] = 0.6 * noise[i - 1] + shocks[i]
    values = 0.002 * t + 2.0 * np.sin(2 * np.pi * t / 50) + 0.8 * np.sin(2 * np.pi * t / 12) + noise
    cut = int(steps * 0.8)  # training targets are values[WINDOW:cut], test targets values[cut:]
    mean, std = values[:cut].mean(), values[:cut].std()
    values = ((values - mean) / std).astype(np.float32)
    starts = np.arange(steps - WINDOW)
    x = np.stack([values[s : s + WINDOW] for s in starts])[..., None]
    y = values[starts + WINDOW][:, None]
    train = starts + WINDOW < cut
    return {"x_train": x[train], "y_train": y[train], "x_test": x[~train], "y_test": y[~train]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "specs" / "data", help="output folder")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, make in (("digits", digits), ("diabetes", diabetes), ("series", series)):
        arrays = make()
        path = args.out / f"{name}.npz"
        write_npz(path, arrays)
        shapes = ", ".join(f"{k} {arrays[k].shape} {arrays[k].dtype}" for k in KEYS)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.name}: {shapes}; {path.stat().st_size} bytes; sha256 {digest}")


if __name__ == "__main__":
    main()
