"""The run folder: spec.yaml (the resolved spec, written first), checkpoint.safetensors (every
`train.checkpoint.every` epochs), best.safetensors, then weights.safetensors, history.json,
history.csv and curves.png; every file written atomically (a temp file in the folder, then
os.replace), so a run killed at any moment leaves no corrupt file."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import yaml

from ..errors import NetspecError
from .atomic import write_atomic, write_atomic_with

RUN_FILES = ("spec.yaml", "weights.safetensors", "checkpoint.safetensors")


def run_dir(out: str | Path | None, name: str) -> Path:
    """The run folder (not created yet). An existing run is never overwritten: a folder that
    already holds one (even an interrupted one) is refused before any training."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(out) if out is not None else Path("runs") / f"{name}-{stamp}"
    if path.exists() and not path.is_dir():
        raise NetspecError(f"{path} is a file: choose another --out; nothing was written")
    if any((path / f).exists() for f in RUN_FILES):
        raise NetspecError(
            f"{path} already holds a run: continue it with --resume {path}, or choose another "
            "--out; nothing was written"
        )
    return path


def resolved_spec(spec) -> dict:
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


def save_spec(path: Path, spec) -> None:
    text = yaml.safe_dump(resolved_spec(spec), sort_keys=False)
    write_atomic(path / "spec.yaml", text.encode())


def save_weights(path: Path, model) -> None:
    write_tensors(path, model.state_dict())


def write_tensors(path: Path, tensors: dict, metadata: dict[str, str] | None = None) -> None:
    """`tensors` as a safetensors file, written atomically and streamed from the tensors'
    own memory: no serialized copy of the file in memory (for the MLP benchmark's checkpoint
    that copy was +21 MiB of peak memory). Tensors that share memory with one written
    before (tied weights) are copied, as safetensors requires."""
    from safetensors.torch import save_file

    seen, out = set(), {}
    for key, value in tensors.items():
        value = value.detach().cpu().contiguous()
        storage = value.untyped_storage().data_ptr()
        out[key] = value.clone() if storage in seen else value
        seen.add(storage)
    write_atomic_with(path, lambda tmp: save_file(out, str(tmp), metadata=metadata))


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


def save_run(path: Path, model, spec, history: dict, curves=None) -> None:
    """The final files: weights.safetensors and curves.png (by `curves`, a
    `plot_worker.CurvesWriter`, when given). spec.yaml is written when the run starts, the
    history by the trainer (with each checkpoint, and at the end)."""
    save_weights(path / "weights.safetensors", model)
    if curves is None:
        from .plots import curves_png

        write_atomic(path / "curves.png", curves_png(history, title=spec.name))
    else:
        curves.write(path / "curves.png", history, spec.name)


def load_weights(model, path: str | Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise NetspecError(f"{path}: no such weights file")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise NetspecError(f"{path}: cannot read weights: {exc}") from None
    device = next((p.device for p in model.parameters()), None)
    missing, unexpected = set(model.state_dict()) - set(state), set(state) - set(model.state_dict())
    if missing or unexpected:
        raise NetspecError(
            f"{path}: weights do not match the spec (missing: {sorted(missing)}, "
            f"unexpected: {sorted(unexpected)})"
        )
    try:
        model.load_state_dict({k: v.to(device) if device else v for k, v in state.items()})
    except RuntimeError as exc:
        raise NetspecError(f"{path}: weights do not match the spec: {exc}") from None


def load_run(run: str | Path, device=None):
    """The model of a run folder (its spec.yaml, built) with its final weights."""
    from ..compiler import build
    from ..loader import load

    run = Path(run)
    if not (run / "spec.yaml").is_file():
        raise NetspecError(f"{run}: not a run folder (no spec.yaml)")
    model = build(load(run / "spec.yaml"), device=device)
    load_weights(model, run / "weights.safetensors")
    model.eval()
    return model
