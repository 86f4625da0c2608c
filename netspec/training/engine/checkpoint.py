"""The resumable checkpoint: one `checkpoint.safetensors`, nothing pickled (torch imported here).

Tensors: the model's state (`model.*`), the optimizer's per-parameter state (`optimizer.I.NAME`),
torch's RNG states (`rng.torch`, `rng.cuda.N`, `rng.module.K`: the generators of seeded Dropout
and noise layers) and EarlyStopping's best weights (`best_weights.*`). Everything else (epoch,
step, history, learning rates, numpy's shuffling generator, the callbacks' counters, the data
path) is JSON in the file's header metadata under `netspec`, so one atomic `os.replace` writes
a consistent checkpoint; `checkpoint.json` is a readable copy of that JSON, for people (the
header is the truth: a copy left stale by a kill between the two writes is rewritten on read).

Nothing in a checkpoint is used before it is checked (`checkpoint_check`): a file that does not
fit the spec (moments of the wrong size would make the fused optimizer write out of bounds) is
one clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ...errors import NetspecError
from ..output.atomic import write_atomic
from .batches import model_device
from .checkpoint_check import check_meta, check_tensors

NAME = "checkpoint.safetensors"


def _optimizer_tensors(optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    lrs = [group["lr"] for group in state["param_groups"]]
    # the rate of the last step, by which optim_common._rescale_momentum rescales momentum
    keras_lrs = [group.get("keras_lr") for group in state["param_groups"]]
    return tensors, {"scalars": scalars, "lr": lrs, "keras_lr": keras_lrs}


def _module_generators(model) -> dict[str, torch.Generator]:
    """The private generators of seeded layers, keyed `module@device`."""
    found = {}
    for name, module in model.named_modules():
        for device, gen in getattr(module, "_generators", {}).items():
            found[f"{name}@{device}"] = gen
    return found


def _rng_tensors(model) -> dict[str, torch.Tensor]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    for key, gen in _module_generators(model).items():
        tensors[f"rng.module.{key}"] = gen.get_state()
    return tensors


def save_checkpoint(run: Path, model, optimizer, meta: dict[str, Any], best=None) -> None:
    """Write `run/checkpoint.safetensors` (and the readable `checkpoint.json`) atomically."""
    from ..output.runs import write_tensors

    opt_tensors, opt_meta = _optimizer_tensors(optimizer)
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors |= opt_tensors | _rng_tensors(model)
    tensors |= {f"best_weights.{k}": v for k, v in (best or {}).items()}
    meta = {**meta, "optimizer": opt_meta}
    text = json.dumps(meta, indent=1)
    write_tensors(run / NAME, tensors, metadata={"netspec": text})
    write_atomic(run / "checkpoint.json", text.encode())


def read_checkpoint(run: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata) of a run's checkpoint, the metadata checked (every field typed); a
    located error when there is none or it is not a checkpoint."""
    from safetensors import SafetensorError, safe_open

    path = run / NAME
    if not run.is_dir():
        raise NetspecError(f"{run}: no such run folder")
    if not path.is_file():
        raise NetspecError(
            f"{run}: no {NAME} to resume from (train.checkpoint.every: 0, or the run was "
            "stopped before its first checkpoint)"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            text = (f.metadata() or {}).get("netspec")
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise NetspecError(f"{path}: not a netspec checkpoint: {exc}") from None
    if text is None:
        raise NetspecError(f"{path}: not a netspec checkpoint: no 'netspec' metadata")
    meta = _parse_meta(path, text)
    _refresh_copy(run / "checkpoint.json", text)
    return tensors, meta


def _parse_meta(path: Path, text: str) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise NetspecError(
            f"{path}: not a valid checkpoint: its metadata is not JSON: {exc}"
        ) from None
    problem = check_meta(meta)
    if problem:
        raise NetspecError(f"{path}: not a valid checkpoint: {problem}")
    return meta


def _refresh_copy(path: Path, text: str) -> None:
    """Rewrite checkpoint.json where it is not the header's JSON (a kill between the two
    writes leaves the old copy). It is only a copy for people: a run folder that cannot be
    written to still resumes (the failure shows when the run writes its next checkpoint)."""
    try:
        if path.is_file() and path.read_bytes() == text.encode():
            return
        write_atomic(path, text.encode())
    except OSError:
        pass


def _group(tensors: dict, prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def check(tensors: dict, meta: dict, model, optimizer, source=None) -> None:
    """A NetspecError naming `source` (the file) and the first tensor or field that does not
    fit the model and optimizer; `restore` runs it before it loads anything."""
    problem = check_meta(meta) or check_tensors(tensors, meta, model, optimizer)
    if problem:
        where = source if source is not None else NAME
        raise NetspecError(f"{where}: not a valid checkpoint for this spec: {problem}")


def restore(tensors: dict, meta: dict, model, optimizer, source=None) -> dict | None:
    """Load the model, optimizer and RNG states, once all of them are checked (`check`);
    returns EarlyStopping's best weights."""
    check(tensors, meta, model, optimizer, source)
    device = model_device(model)
    # load_state_dict copies into the existing tensors: their memory layout stays
    model.load_state_dict({k: v.to(device) for k, v in _group(tensors, "model.").items()})
    _restore_optimizer(tensors, meta["optimizer"], optimizer)
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors.get(f"rng.cuda.{i}") for i in range(torch.cuda.device_count())]
    states = [t for t in cuda if t is not None]
    if cuda and len(states) == len(cuda):
        torch.cuda.set_rng_state_all(states)
    _restore_generators(model, _group(tensors, "rng.module."))
    best = _group(tensors, "best_weights.")
    return {k: v.to(device) for k, v in best.items()} or None


def _restore_optimizer(tensors: dict, saved: dict, optimizer) -> None:
    """The optimizer's state. A moment is given its parameter's memory layout (strides), not
    the file's contiguous one: the fused kernels walk a parameter and its moments as flat
    memory, so a contiguous moment of a channels-last kernel would update the wrong elements."""
    state = optimizer.state_dict()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    scalars = saved["scalars"]
    indices = {int(i) for i in scalars} | {
        int(k.split(".")[1]) for k in tensors if k.startswith("optimizer.")
    }
    for index in indices:
        param = params[index]
        entry: dict[str, Any] = dict(scalars.get(str(index), {}))
        for key, value in _group(tensors, f"optimizer.{index}.").items():
            entry[key] = _like(param, value) if value.shape == param.shape else value
        state["state"][index] = entry
    for group, lr in zip(state["param_groups"], saved["lr"], strict=True):
        group["lr"] = lr
    keras_lrs = saved.get("keras_lr") or [None] * len(state["param_groups"])
    for group, last in zip(state["param_groups"], keras_lrs, strict=True):
        if last is not None:
            group["keras_lr"] = last
    optimizer.load_state_dict(state)  # keeps a tensor already of the param's dtype and device


def _like(param: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(param, memory_format=torch.preserve_format)
    return out.copy_(value)


def _restore_generators(model, states: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    for key, state in states.items():
        name, _, device = key.rpartition("@")
        module = modules.get(name)
        if module is None or not hasattr(module, "_generators"):
            continue
        try:
            gen = torch.Generator(torch.device(device))
        except RuntimeError:  # a CUDA generator of a run resumed without CUDA: never drawn
            continue
        gen.set_state(state)
        module._generators[torch.device(device)] = gen
