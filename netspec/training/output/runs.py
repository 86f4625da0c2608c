"""The run folder and the order its files are written in, from which `--resume` can always
finish a run however it was stopped (SIGKILL, Ctrl-C, a full disk, a power cut).

Every file is written atomically (a temp file `.NAME.XXXX.tmp` beside it, flushed, renamed,
the folder flushed), so a file under its final name is always whole; a temp file left by a
kill is removed by the next command that uses the folder. The order:

1. `.lock` (lock.py): locked for the whole command; the folder is checked and cleaned under it.
2. `run.json`: what the spec file does not say (the data path, precision, compile, the planned
   epochs), the resolved spec's text (so a kill before 3. loses nothing) and `resumes`, one
   entry per `--resume` (epoch, its `--set` changes), recorded before it trains.
3. `spec.yaml`: the resolved spec; never rewritten afterwards.
4. Each epoch: `best.safetensors` (when the monitor improved); each checkpoint (trainer.py):
   `history.json`, `history.csv`, `checkpoint.safetensors` (the state to resume from: the
   commit point), `checkpoint.json` (a readable copy).
5. At the end, after the last checkpoint (`finished: true`): `weights.safetensors`,
   `curves.png`, then `run.json` again with `final_epoch`: the final files are complete.

`--resume` (session.py) therefore: restores spec.yaml from run.json if missing; with no
checkpoint, trains again from epoch 0; with a finished checkpoint whose `final_epoch` is not
recorded, writes the final files from it (no training); else continues from the checkpoint.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ...errors import NetspecError
from .atomic import TMP_SUFFIX, write_atomic, write_atomic_with

if TYPE_CHECKING:
    import torch

    from ...loader import ValidSpec
    from ...spec import Spec
    from ...torch.model import NetspecModel

RUN_INFO = "run.json"
RUN_FILES = ("spec.yaml", RUN_INFO, "weights.safetensors", "checkpoint.safetensors")
FINAL_FILES = ("weights.safetensors", "history.json", "history.csv", "curves.png")
WRITTEN = (
    RUN_INFO, "spec.yaml", "best.safetensors", "history.json", "history.csv",
    "checkpoint.safetensors", "checkpoint.json", "weights.safetensors", "curves.png",
)  # fmt: skip


def claim_new(out: str | Path | None, name: str):
    """(folder, lock) of a new run: `out` (created if need be) or a new `runs/NAME-TIME`,
    locked. An existing run is never trained into again: a folder that holds one (even an
    interrupted one) is refused, under the lock, before anything is written."""
    from .lock import acquire, create_default, make_folder

    if out is None:
        path = create_default(Path("runs"), name)
    else:
        path = Path(out)
        make_folder(path)
    lock = acquire(path, "wait for it to end, or choose another --out")
    if any((path / f).exists() for f in RUN_FILES):
        lock.release()
        raise NetspecError(
            f"{path} already holds a run: continue it with --resume {path}, or choose another "
            "--out; nothing was written"
        )
    clean_temporaries(path)
    return path, lock


def claim_existing(run: Path):
    """The lock of an existing run folder, for --resume; its stray temp files removed."""
    from .lock import acquire

    if not run.is_dir():
        raise NetspecError(f"{run}: no such run folder")
    if not any((run / name).is_file() for name in ("spec.yaml", RUN_INFO)):  # no lock file left
        raise NetspecError(
            f"{run}: holds no run to resume (no spec.yaml): train into it with "
            f"`netspec train SPEC --data D --out {run}`"
        )
    lock = acquire(run, "wait for it to end")
    clean_temporaries(run)
    return lock


def clean_temporaries(path: Path) -> None:
    """Remove the `.NAME.XXXX.tmp` files of a write that a kill interrupted (only of the
    files a run writes: anything else in the folder is the user's)."""
    prefixes = tuple(f".{name}." for name in WRITTEN)
    for entry in path.iterdir():
        if entry.name.startswith(prefixes) and entry.name.endswith(TMP_SUFFIX):
            entry.unlink(missing_ok=True)


def read_info(run: Path) -> dict:
    """run.json as a dict ({} for a run folder made before run.json existed)."""
    path = run / RUN_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NetspecError(f"{path}: cannot read the run's info: {exc}") from None
    if not isinstance(info, dict):
        raise NetspecError(f"{path}: cannot read the run's info: not a JSON object")
    return info


def write_info(run: Path, info: dict) -> None:
    write_atomic(run / RUN_INFO, (json.dumps(info, indent=1) + "\n").encode())


def spec_text(valid: ValidSpec) -> str:
    return yaml.safe_dump(resolved_spec(valid.spec), sort_keys=False)


def resolved_spec(spec: Spec) -> dict:
    """The spec as data, defaults filled in (layers by their own models)."""
    data = spec.model_dump(mode="json", exclude={"layers"}, exclude_none=True)
    data["layers"] = [layer.model_dump(mode="json", exclude_none=True) for layer in spec.layers]
    return data


def history_csv(history: dict[str, list[float]]) -> str:
    keys = list(history)
    rows = ["epoch," + ",".join(keys)]
    for i in range(max((len(v) for v in history.values()), default=0)):
        rows.append(f"{i}," + ",".join(repr(history[k][i]) for k in keys))
    return "\n".join(rows) + "\n"


def save_spec(path: Path, text: str) -> None:
    write_atomic(path / "spec.yaml", text.encode())


def save_weights(path: Path, model) -> None:
    write_tensors(path, model.state_dict())


def write_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """`tensors` as a safetensors file, written atomically and streamed from the tensors'
    own memory: no serialized copy of the file in memory (for the MLP benchmark's checkpoint
    that copy was +21 MiB of peak memory). Tensors that share memory with one written
    before (tied weights) are copied, as safetensors requires."""
    seen, out = set(), {}
    for key, value in tensors.items():
        value = value.detach().cpu().contiguous()
        storage = value.untyped_storage().data_ptr()
        out[key] = value.clone() if storage in seen else value
        seen.add(storage)
    write_atomic_with(path, lambda tmp: _save_file(out, tmp, metadata))


def _save_file(tensors: dict, tmp: Path, metadata) -> None:
    """safetensors' save_file, its I/O errors (SafetensorError, not OSError: `No space left on
    device` inside) as the OSError that atomic.py reports against the target file."""
    import errno
    import os
    import re

    from safetensors import SafetensorError
    from safetensors.torch import save_file

    try:
        save_file(tensors, str(tmp), metadata=metadata)
    except SafetensorError as exc:  # "... No space left on device (os error 28)"
        found = re.search(r"os error (\d+)|code: (\d+)", str(exc))
        code = int(found.group(1) or found.group(2)) if found else errno.EIO
        raise OSError(code, os.strerror(code) if found else str(exc)) from None


def strict_json(value, indent: int | None = None) -> str:
    """JSON that every parser reads: RFC 8259 has no NaN or Infinity (Python's json writes
    them, jq and JavaScript refuse them), so a non-finite number (a diverged loss) is written
    as null, as JavaScript's JSON.stringify does."""
    return json.dumps(_finite_or_none(value), indent=indent, allow_nan=False)


def _finite_or_none(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def save_history(path: Path, history: dict) -> None:
    """history.json (Keras's History dict; null for a non-finite value) and history.csv."""
    write_atomic(path / "history.json", strict_json(history, indent=2).encode())
    write_atomic(path / "history.csv", history_csv(history).encode())


def save_run(path: Path, model, spec, history: dict, curves=None, epoch: int = 0) -> None:
    """The final files, in the order of the module's docstring: weights.safetensors,
    curves.png (by `curves`, a `plot_worker.CurvesWriter`, when given), then run.json's
    `final_epoch`. spec.yaml is written when the run starts, the history by the trainer
    (with each checkpoint, and at the end)."""
    save_weights(path / "weights.safetensors", model)
    if curves is None:
        from .plots import curves_png

        write_atomic(path / "curves.png", curves_png(history, title=spec.name))
    else:
        curves.write(path / "curves.png", history, spec.name)
    info = read_info(path)
    write_info(path, {**info, "final_epoch": epoch})


def load_weights(model, path: str | Path, *, graph=None, allow_extra=False, layers=None) -> None:
    """Load a weights file into a built model, its format found by its content: a run's
    safetensors, or a Keras weight file (.weights.h5, .keras, Keras 2 .h5; strict, see
    netspec.torch.keras_files.load_keras_file, which takes `graph`, `allow_extra`, `layers`)."""
    from ...keras_weights import detect_format

    path = Path(path)
    if detect_format(path) != "safetensors":
        from ...torch.keras_files import load_keras_file

        load_keras_file(model, path, allow_extra=allow_extra, layers=layers, graph=graph)
        return
    _load_safetensors(model, path, layers, allow_extra)


def _subset(state: dict, layers, allow_extra: bool) -> dict:
    """The tensors of `layers` (a nested model's: `layers.NAME.*`); others are extra."""
    prefixes = tuple(f"layers.{name}." for name in layers)
    return {k: v for k, v in state.items() if k.startswith(prefixes) or not allow_extra}


def _load_safetensors(model, path: Path, layers=None, allow_extra: bool = False) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise NetspecError(f"{path}: cannot read weights: {exc}") from None
    device = next((p.device for p in model.parameters()), None)
    own = model.state_dict()
    if layers is not None:  # a nested model's file: its layers only (names as in its spec)
        prefixes = tuple(f"layers.{name}." for name in layers)
        own = {k: v for k, v in own.items() if k.startswith(prefixes)}
        state = _subset(state, layers, allow_extra)
    elif allow_extra:
        state = {k: v for k, v in state.items() if k in own}
    missing, unexpected = set(own) - set(state), set(state) - set(own)
    if missing or unexpected:
        raise NetspecError(
            f"{path}: weights do not match the spec (missing: {sorted(missing)}, "
            f"unexpected: {sorted(unexpected)})"
        )
    for key, value in state.items():  # load_state_dict would convert them silently
        if value.dtype != own[key].dtype:
            raise NetspecError(
                f"{path}: tensor '{key}' has dtype {str(value.dtype).removeprefix('torch.')}; "
                f"the model's is {str(own[key].dtype).removeprefix('torch.')}"
            )
    try:
        model.load_state_dict(
            {k: v.to(device) if device else v for k, v in state.items()}, strict=layers is None
        )
    except RuntimeError as exc:
        raise NetspecError(f"{path}: weights do not match the spec: {exc}") from None


def load_run(run: str | Path, device: str | torch.device | None = None) -> NetspecModel:
    """The model of a run folder (its spec.yaml, built) with its final weights."""
    from ...compiler import build
    from ...loader import load

    run = Path(run)
    if not (run / "spec.yaml").is_file():
        raise NetspecError(f"{run}: not a run folder (no spec.yaml)")
    model = build(load(run / "spec.yaml"), device=device)
    load_weights(model, run / "weights.safetensors")
    model.eval()
    return model
