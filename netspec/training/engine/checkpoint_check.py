"""The checks of a checkpoint before anything of it is used (torch imported here).

`check_meta`: every field of the JSON metadata typed (a pydantic model). `check_tensors`: every
tensor against the model and the optimizer it is to be loaded into: its name, shape and dtype.
A fused optimizer trusts its state blindly (moments smaller than their parameter make it write
out of bounds: a segfault), and torch's setters fail with tracebacks, so each returns the first
problem as one line naming the tensor or field, or None.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Count = Annotated[int, Field(ge=0, lt=2**63)]


class _Strict(BaseModel):
    # strict: "2" is not an epoch, 1.0 not a count, true not a number; fields added by a later
    # netspec are ignored
    model_config = ConfigDict(strict=True, extra="allow")


class _Info(_Strict):
    data: str | None = None
    precision: str = "32"
    compile: bool = False
    epochs: Count | None = None  # the planned epochs (session.make_trainer)


class _Monitor(_Strict):
    best: float | None


class _Stopper(_Monitor):
    wait: Count
    best_epoch: Count
    stopped_epoch: Count


class _Plateau(_Strict):
    best: float | Literal["nan", "inf", "-inf"] | None
    wait: Count
    cooldown_counter: Count


class _Optimizer(_Strict):
    scalars: dict[str, dict[str, float | None]] = {}
    lr: list[float]
    keras_lr: list[float | None] | None = None


class _Meta(_Strict):
    info: _Info = _Info()
    epoch: Count
    step: Count
    finished: bool
    history: dict[str, list[float | None]]
    shuffle_rng: dict[str, Any]
    early_stopping: _Stopper | None = None
    reduce_lr_on_plateau: _Plateau | None = None
    best: _Monitor | None = None
    scaler: dict[str, float] | None = None
    optimizer: _Optimizer

    @field_validator("shuffle_rng")
    @classmethod
    def _pcg64(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:  # numpy's own check of the state, on a generator of its own
            # numpy's stubs type the setter's value as its own TypedDict: checking a dict read
            # from a file against it is the point here
            np.random.PCG64().state = value  # type: ignore[assignment]
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise ValueError(f"not a numpy PCG64 state ({exc})") from None
        return value


def check_meta(meta: Any) -> str | None:
    """The first problem of the metadata's fields, or None."""
    if not isinstance(meta, dict):
        return "its metadata is not a JSON object"
    try:
        _Meta.model_validate(meta)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "missing":
            return f"metadata field {field} is missing"
        return f"metadata field {field}: {error['msg']}"
    return None


def _shape(shape) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _same(key: str, tensor: torch.Tensor, like: torch.Tensor, what: str) -> str | None:
    if tensor.shape != like.shape:
        return f"{key} has shape {_shape(tensor.shape)}; {what} has {_shape(like.shape)}"
    if tensor.dtype != like.dtype:
        return f"{key} has dtype {tensor.dtype}; {what} has {like.dtype}"
    return None


def _check_state(tensors: dict, prefix: str, state: dict, required: bool) -> str | None:
    """Tensors `prefix + KEY` exactly the model's state_dict (or none, unless `required`)."""
    found = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
    if not found and not required:
        return None
    for key, like in state.items():
        if key not in found:
            return f"{prefix}{key} is missing"
        problem = _same(prefix + key, found[key], like, f"the model's {key}")
        if problem:
            return problem
    extra = sorted(set(found) - set(state))
    return f"{prefix}{extra[0]} is not a weight of this model" if extra else None


def check_tensors(tensors: dict, meta: dict, model, optimizer) -> str | None:
    """The first problem of the tensors (and of the optimizer's metadata) for this model and
    optimizer, or None."""
    state = model.state_dict()
    known = ("model.", "best_weights.", "optimizer.", "rng.torch", "rng.cuda.", "rng.module.")
    for key in tensors:
        if not key.startswith(known):
            return f"unexpected tensor {key}"
    return (
        _check_state(tensors, "model.", state, required=True)
        or _check_state(tensors, "best_weights.", state, required=False)
        or _check_optimizer(tensors, meta["optimizer"], model, optimizer)
        or _check_rng(tensors, model)
    )


def _param_names(model, params: list) -> list[str]:
    names = {id(p): n.removeprefix("layers.") for n, p in model.named_parameters()}
    return [names.get(id(p), "?") for p in params]


def _check_optimizer(tensors: dict, saved: dict, model, optimizer) -> str | None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    groups = len(optimizer.param_groups)
    if len(saved["lr"]) != groups:
        return f"optimizer.lr has {len(saved['lr'])} rates; the optimizer has {groups} groups"
    if saved.get("keras_lr") is not None and len(saved["keras_lr"]) != groups:
        return f"optimizer.keras_lr has {len(saved['keras_lr'])} rates for {groups} groups"
    entries: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if not key.startswith("optimizer."):
            continue
        _, index, name = (key.split(".", 2) + ["", ""])[:3]
        if not _is_index(index) or not name:
            return f"unexpected tensor {key} (expected optimizer.INDEX.NAME)"
        if int(index) >= len(params):
            return f"{key}: parameter {int(index)} does not exist ({len(params)} trainable)"
        entries.setdefault(int(index), {})[name] = value
    for index in saved["scalars"]:
        if not _is_index(index) or int(index) >= len(params):
            return f"optimizer.scalars.{index}: no such parameter ({len(params)} trainable)"
    names = _param_names(model, params)
    expected = _expected_state(optimizer, params)
    for index, entry in sorted(entries.items()):
        where = f"parameter {index} ({names[index]})"
        problem = _check_entry(index, entry, params[index], expected[index], where)
        if problem:
            return problem
    return None


def _is_index(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _check_entry(index: int, entry: dict, param, expected: dict, where: str) -> str | None:
    """One parameter's state: the names the optimizer keeps, each of its expected shape."""
    for name in sorted(set(expected) | set(entry)):
        key = f"optimizer.{index}.{name}"
        if name not in entry:
            return f"{key} is missing"
        if name not in expected:
            return f"{key} is not a state of this optimizer"
        if expected[name] is None:
            problem = _same(key, entry[name], param.detach(), where)
        else:
            problem = _same(key, entry[name], expected[name], f"the optimizer's {name}")
        if problem:
            return problem
    return None


def _expected_state(optimizer, params: list) -> list[dict[str, torch.Tensor | None]]:
    """Per parameter, the tensor state its optimizer keeps: name -> None (a tensor of the
    parameter's shape and dtype) or a template (a scalar, as `step`). Found by letting an
    optimizer of the same class and settings take one zero-gradient step on a 2-element probe
    of each dtype and device: the state names depend on the settings (amsgrad, momentum,
    centered), which the probe follows without a table per class. netspec's optimizers
    (`optim_common.KerasSteps`) probe themselves: their state can depend on the weight's shape
    (Adafactor, Muon) and on accumulation, which a 2-element single step does not show."""
    from .optim_common import KerasSteps

    if isinstance(optimizer, KerasSteps):
        return optimizer.expected_state()
    probes: dict[tuple, dict] = {}
    out = []
    for p in params:
        kind = (p.dtype, p.device)
        if kind not in probes:
            probes[kind] = _probe(optimizer, p)
        out.append(probes[kind])
    return out


def _probe(optimizer, like: torch.Tensor) -> dict[str, torch.Tensor | None]:
    probe = torch.zeros(2, dtype=like.dtype, device=like.device, requires_grad=True)
    opt = type(optimizer)([probe], **optimizer.defaults)
    probe.grad = torch.zeros_like(probe)
    opt.step()
    state = opt.state[probe]
    return {
        k: None if v.shape == probe.shape else v for k, v in state.items() if torch.is_tensor(v)
    }


def _check_rng(tensors: dict, model) -> str | None:
    if "rng.torch" not in tensors:
        return "rng.torch is missing"
    problem = _same("rng.torch", tensors["rng.torch"], torch.get_rng_state(), "torch's RNG state")
    if problem:
        return problem
    for key, value in tensors.items():
        if key.startswith("rng.cuda.") and (value.dtype != torch.uint8 or value.dim() != 1):
            return f"{key} is not an RNG state (a 1-D uint8 tensor)"
    modules = dict(model.named_modules())
    for key, value in tensors.items():
        if not key.startswith("rng.module."):
            continue
        name, _, device = key[len("rng.module.") :].rpartition("@")
        if not hasattr(modules.get(name or "?"), "_generators"):
            return f"{key}: this model has no seeded layer {name or '?'}"
        problem = _check_generator(key, value, device)
        if problem:
            return problem
    return None


def _check_generator(key: str, value: torch.Tensor, device: str) -> str | None:
    try:
        where = torch.device(device)
    except RuntimeError:
        return f"{key}: '{device}' is not a device"
    try:
        template = torch.Generator(where).get_state()
    except RuntimeError:  # a device this machine lacks (CUDA): not restored (checkpoint.py)
        ok = value.dtype == torch.uint8 and value.dim() == 1
        return None if ok else f"{key} is not an RNG state (a 1-D uint8 tensor)"
    return _same(key, value, template, f"a {device} generator's state")
