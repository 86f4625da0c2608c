"""Reading a Keras model's config without Keras: a Keras 3 `.keras` archive (config.json,
metadata.json), a Keras 2 full-model `.h5` (its `model_config` attribute) or a `to_json()`
file."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NetspecError
from ..keras_weights import HDF5_MAGIC, ZIP_MAGIC, file_head


@dataclass(frozen=True)
class KerasModelFile:
    """A model's config, the Keras version that wrote it, and whether the file holds weights."""

    path: Path
    config: dict[str, Any]
    keras_version: str | None
    has_weights: bool


def read_model_file(path: Path) -> KerasModelFile:
    """The model config of a .keras archive, a Keras 2 .h5 model or a to_json() file."""
    head = file_head(path, "no such file", "cannot read")
    if head.startswith(ZIP_MAGIC):
        return _read_archive(path)
    if head.startswith(HDF5_MAGIC):
        return _read_h5(path)
    config = _parse_json(path.read_bytes(), f"{path}")
    return KerasModelFile(path, config, config.get("keras_version"), False)


def _parse_json(raw: bytes | str, label: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NetspecError(
            f"{label}: not a Keras model (.keras archive, Keras 2 .h5 or to_json() JSON): {exc}"
        ) from None
    if not isinstance(data, dict) or "class_name" not in data:
        raise NetspecError(f"{label}: not a Keras model config (no 'class_name')")
    return data


def _read_archive(path: Path) -> KerasModelFile:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "config.json" not in names:
                raise NetspecError(f"{path}: a zip file without config.json, not a .keras model")
            config = _parse_json(zf.read("config.json"), f"{path}: config.json")
            version = None
            if "metadata.json" in names:
                meta = json.loads(zf.read("metadata.json"))
                version = meta.get("keras_version") if isinstance(meta, dict) else None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise NetspecError(f"{path}: cannot read the .keras archive: {exc}") from None
    return KerasModelFile(path, config, version, "model.weights.h5" in names)


def _read_h5(path: Path) -> KerasModelFile:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get("model_config")
            version = h5.attrs.get("keras_version")
            has_weights = "model_weights" in h5
    except OSError as exc:
        raise NetspecError(f"{path}: cannot read the HDF5 file: {exc}") from None
    if raw is None:
        raise NetspecError(
            f"{path}: an HDF5 file without a model_config (a weights-only file?): "
            "import needs a full model saved with model.save"
        )
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if isinstance(version, bytes):
        version = version.decode()
    return KerasModelFile(path, _parse_json(text, str(path)), version, has_weights)
