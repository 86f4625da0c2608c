"""Reading weight files written by Keras, without Keras or torch: Keras 3 `.weights.h5`,
`.keras` archives, and Keras 2 HDF5 files (weights only, or a full model's). The result is an
ordered mapping {layer name: arrays in Keras layout, in the layer's `get_weights()` order},
which `netspec.torch.keras_files.load_keras_file` copies into a built model."""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from ..errors import NetspecError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
KerasWeights = dict[str, list[np.ndarray]]


def file_head(path: Path, missing: str, unreadable: str) -> bytes:
    """The first 16 bytes of `path` (where a format's magic is); NetspecError `PATH: missing`
    when it is not a file, `PATH: unreadable: why` when it cannot be read."""
    if not path.is_file():
        raise NetspecError(f"{path}: {missing}")
    try:
        with path.open("rb") as f:
            return f.read(16)
    except OSError as exc:
        raise NetspecError(f"{path}: {unreadable}: {exc.strerror}") from None


def detect_format(path: str | Path) -> str:
    """'safetensors', 'keras' (a .keras archive) or 'hdf5', by the file's first bytes."""
    path = Path(path)
    head = file_head(path, "no such weights file", "cannot read weights")
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC):
        return "keras"
    if len(head) > 8 and head[8:9] == b"{":  # safetensors: u64 header length, then JSON
        return "safetensors"
    raise NetspecError(
        f"{path}: not a weights file (neither safetensors, HDF5 nor a .keras archive)"
    )


def read_keras_file(
    path: str | Path,
    names: Collection[str] | None = None,
    order: Sequence[tuple[str, str]] | None = None,
) -> KerasWeights:
    """{layer name: arrays} of a Keras weight file. `names`: the target model's layer names, to
    split a Keras 2 nested model's weights by layer; `order`: its (name, Keras class) in Keras's
    `model.layers` order (order.keras_layer_order), used only where the file does not name its
    layers (a Keras 3 `.weights.h5` of an older Keras)."""
    import h5py

    from .keras3 import archive_config, read_keras3
    from .legacy import read_legacy

    path = Path(path)
    kind = detect_format(path)
    names = set(names) if names is not None else None
    try:
        if kind == "keras":
            with zipfile.ZipFile(path) as zf:
                config = archive_config(zf, str(path))
                if "model.weights.h5" not in zf.namelist():
                    raise NetspecError(f"{path}: a .keras archive without model.weights.h5")
                with zf.open("model.weights.h5") as raw, h5py.File(raw, "r") as h5:
                    return read_keras3(h5, str(path), config, order)
        if kind != "hdf5":
            raise NetspecError(f"{path}: a safetensors file, not a Keras weight file")
        with h5py.File(path, "r") as h5:
            if "model_weights" in h5 or any(a.startswith("layer_names") for a in h5.attrs):
                return read_legacy(h5, str(path), names)
            if "layers" in h5 or "vars" in h5:
                return read_keras3(h5, str(path), None, order)
            raise NetspecError(f"{path}: an HDF5 file that holds no Keras weights")
    except (OSError, KeyError, ValueError, RuntimeError, zipfile.BadZipFile) as exc:
        raise NetspecError(f"{path}: cannot read Keras weights: {exc}") from None
