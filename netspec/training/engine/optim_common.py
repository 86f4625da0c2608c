"""Keras's common optimizer arguments on any `torch.optim.Optimizer` (torch imported here).

`KerasSteps` goes before a torch optimizer class in the bases (`keras_class(torch.optim.Adam)`,
or a class of `optim_rules`), and makes its `step()` Keras's `BaseOptimizer.apply`
(keras/src/optimizers/base_optimizer.py), in Keras's order:

1. the gradients are divided by `loss_scale_factor` (the trainer multiplies the loss by it:
   the spec's `scale_loss`);
2. with `gradient_accumulation_steps` n, a call whose `calls + 1` is not a multiple of n only
   adds the gradients to the accumulators; the n-th call updates with `(g + acc) / n` and
   zeroes the accumulators;
3. on an update: the clip option, the decoupled weight decay `w *= 1 - lr * weight_decay`,
   then the optimizer's own rule;
4. with `use_ema`, on every call: `average = m * average + (1 - m) * w` (m = 0 while
   `iterations` is 0, else `ema_momentum`), and the weights are overwritten by the averages
   when `(iterations + 1) % ema_overwrite_frequency == 0`;
5. `calls += 1`.

Keras counts twice: `_iterations` (here `calls`: every call; the learning-rate schedule reads
it, so the trainer sets `lr = schedule(calls)` before every call) and `iterations` (the
updates, `calls // n` with accumulation; the rules' step `t = iterations + 1`, which is torch's
own step count too, and the moving average's).

Without any of these options (the common case) a step does none of this work: `step()` is the
torch class's own step (chosen once, at construction) and the count of calls, so that the
trainer's optimizer costs what calling the torch optimizer directly costs.

`state_dict()` carries the averages (`average`), the accumulators (`accumulated_gradient`)
and `calls` (as `iterations`, on the first parameter's entry), so a resumed run continues
bit-exactly; `finalize()` is Keras's `finalize_variable_values` (the averages into the
weights); `expected_state()` names the tensors of a checkpoint of this optimizer.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch  # noqa: TID253 (the torch side, imported when an optimizer is made)

CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
EXTRA = ("average", "accumulated_gradient")  # per-parameter state kept outside torch's
COMMON: dict[str, Any] = {
    "keras_weight_decay": None,  # Keras's decoupled decay, where torch's class does not do it
    "clipnorm": None,
    "clipvalue": None,
    "global_clipnorm": None,
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "keras_momentum": False,  # rescale torch's momentum buffer when the rate changes
}


class KerasSteps(torch.optim.Optimizer):
    """Keras's `apply` around a torch optimizer's update (the module docstring)."""

    _own_step: Any = None  # a keras_class's: its torch class's step (set by the first instance)

    def __init__(self, params, **kwargs: Any) -> None:
        keras = {k: kwargs.pop(k, v) for k, v in COMMON.items()}
        base = getattr(type(self), "torch_base", None)
        if base is not None and "decoupled_weight_decay" not in inspect.signature(base).parameters:
            # torch's AdamW keeps `decoupled_weight_decay` in its defaults but does not take it
            kwargs.pop("decoupled_weight_decay", None)
        super().__init__(params, **kwargs)
        self._step_supports_amp_scaling = False  # GradScaler: skip step() on inf (Keras-wise)
        self.keras = keras
        self.defaults.update(keras)  # `type(opt)(params, **opt.defaults)` makes the same one
        self.calls = 0  # Keras's `optimizer._iterations`: every call to step()
        self.extra: dict[torch.Tensor, dict[str, torch.Tensor]] = {}
        # chosen once: with none of Keras's common options the step is torch's own (see step)
        self._plain = _plain(type(self), keras)
        cls = type(self)
        if self._plain and "_own_step" not in cls.__dict__:  # once per class
            cls._own_step = _unhooked(cls.__dict__["torch_base"].step)

    # -- the step ----------------------------------------------------------------------------

    def step(self, closure=None):
        """Keras's `apply` (the module docstring). Without any of its common options (no loss
        scale, accumulation, clipping, decoupled decay of its own, momentum rescaling or EMA:
        every step then is the rule's update alone) this is the torch class's own `step` plus
        the count of calls, as cheap as calling the torch optimizer directly."""
        if not self._plain:
            return self._keras_step(closure)
        loss = self._own_step(closure)
        self.calls += 1
        return loss

    @torch.no_grad()
    def _keras_step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if params:
            self._build(params)
            grads = [p.grad for p in params]
            if self.keras["loss_scale_factor"] is not None:
                torch._foreach_div_(grads, self.keras["loss_scale_factor"])
            if self._accumulate(params, grads):
                clip_gradients(grads, self.keras)
                self._update(params)
        if self.keras["use_ema"]:
            self._moving_average()
        self.calls += 1
        return loss

    @property
    def iterations(self) -> int:
        """Keras's `optimizer.iterations`: the calls, or with accumulation over n steps the
        updates (`calls // n`); the rules' step `t` is `iterations + 1`, torch's own step count
        (its updates) is the same."""
        n = self.keras["gradient_accumulation_steps"]
        return self.calls // n if n else self.calls

    def _build(self, params: list[torch.Tensor]) -> None:
        """Optimizer state made before the first update (Keras's `build`); a hook."""

    def _accumulate(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> bool:
        """Keras's gradient accumulation; whether this call updates (the grads then hold the
        mean of the accumulated ones)."""
        n = self.keras["gradient_accumulation_steps"]
        if not n:
            return True
        accs = [self._extra(p, "accumulated_gradient") for p in params]
        if (self.calls + 1) % n:
            torch._foreach_add_(accs, grads)
            return False
        torch._foreach_add_(grads, accs)  # Keras: (g + acc) / steps
        torch._foreach_div_(grads, n)
        torch._foreach_zero_(accs)
        return True

    def _update(self, params: list[torch.Tensor]) -> None:
        if self.keras["keras_momentum"]:
            _rescale_momentum(self)
        decay = self.keras["keras_weight_decay"]
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if decay and ps:
                torch._foreach_mul_(ps, decay_factor(float(group["lr"]), decay))
        super().step()

    def _moving_average(self) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        averages = [self._extra(p, "average") for p in params]
        # Keras: ops.multiply(not_first_step, ema_momentum): the momentum rounded to float32
        m = float(torch.tensor(self.keras["ema_momentum"], dtype=torch.float32))
        m = m if self.iterations else 0.0
        for dtype in {p.dtype for p in params}:
            ps = [p for p in params if p.dtype == dtype]
            avs = [a for a, p in zip(averages, params, strict=True) if p.dtype == dtype]
            # Keras: momentum * average + (1 - momentum) * var, the factors in the var's dtype
            one_minus = float(1 - torch.tensor(m, dtype=dtype))
            torch._foreach_mul_(avs, m)
            torch._foreach_add_(avs, torch._foreach_mul(ps, one_minus))
        every = self.keras["ema_overwrite_frequency"]
        if every and (self.iterations + 1) % every == 0:
            self.finalize()

    def _extra(self, p: torch.Tensor, name: str) -> torch.Tensor:
        entry = self.extra.setdefault(p, {})
        if name not in entry:
            entry[name] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return entry[name]

    # -- the API for the trainer -------------------------------------------------------------

    @torch.no_grad()
    def finalize(self) -> None:
        """Keras's `finalize_variable_values`: with `use_ema`, the weights become their moving
        averages (a no-op before the first step or without `use_ema`)."""
        if not self.keras["use_ema"]:
            return
        for group in self.param_groups:
            for p in group["params"]:
                average = self.extra.get(p, {}).get("average")
                if average is not None:
                    p.copy_(average)

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict, each parameter's entry with its `average` and
        `accumulated_gradient`, the first's with `iterations`."""
        out = super().state_dict()
        params = [p for g in self.param_groups for p in g["params"]]
        for index, p in enumerate(params):
            extra = self.extra.get(p)
            if extra or index == 0:
                entry = dict(out["state"].get(index, {}))
                entry.update(extra or {})
                if index == 0:
                    entry["iterations"] = self.calls
                out["state"][index] = entry
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        torch_state: dict[Any, dict] = {}
        self.extra, calls = {}, 0
        for index, entry in state_dict["state"].items():
            entry = dict(entry)
            calls = int(entry.pop("iterations", calls))
            p = params[int(index)]
            for name in EXTRA:
                if name in entry:
                    value = entry.pop(name)
                    like = torch.empty_like(p, memory_format=torch.preserve_format)
                    self.extra.setdefault(p, {})[name] = like.copy_(value)
            if entry:
                torch_state[index] = entry
        super().load_state_dict({**state_dict, "state": torch_state})
        self.calls = calls

    def expected_state(self) -> list[dict[str, torch.Tensor | None]]:
        """Per parameter (in `param_groups` order), the tensors of its `state_dict()` entry
        after an update: name -> None (a tensor like the parameter) or a template tensor.
        Found as checkpoint_check's probe does, with a zero copy of each kind of parameter (its
        shape, dtype, device and group's settings: the state depends on all of them)."""
        probes: dict[tuple, dict] = {}
        out = []
        for gi, group in enumerate(self.param_groups):
            settings = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                kind = (tuple(p.shape), p.dtype, p.device, gi)
                if kind not in probes:
                    probes[kind] = self._probe(p, settings)
                out.append(probes[kind])
        return out

    def _probe(self, like: torch.Tensor, settings: dict) -> dict[str, torch.Tensor | None]:
        probe = torch.zeros_like(like, requires_grad=True)
        opt = type(self)([{**settings, "params": [probe]}], **self.defaults)
        for _ in range(self.keras["gradient_accumulation_steps"] or 1):
            probe.grad = torch.zeros_like(probe)
            opt.step()
        state = opt.state_dict()["state"][0]
        return {
            k: None if v.shape == probe.shape else v for k, v in state.items() if torch.is_tensor(v)
        }


def _plain(cls: type, keras: dict[str, Any]) -> bool:
    """Whether `cls` is `keras_class(torch class)` and no common option asks for work around
    its update. `keras_weight_decay` and `gradient_accumulation_steps` of 0 count as unset,
    as `_update` and `_accumulate` read them; a clip or loss scale of 0 is set, as
    `clip_gradients` and `_keras_step` read them."""
    unset = [keras[k] is None for k in ("loss_scale_factor", *CLIPS)]
    off = [not keras[k] for k in ("gradient_accumulation_steps", "keras_weight_decay",
                                  "use_ema", "keras_momentum")]  # fmt: skip
    return "torch_base" in cls.__dict__ and all(unset + off)


def _unhooked(step: Any) -> Any:
    """A torch class's `step` without torch's profiler hook (which `KerasSteps.step` carries
    already: torch wraps a class's step on its first instance)."""
    return step.__wrapped__ if getattr(step, "hooked", False) else step


def _torch_base(opt) -> type:
    """The torch class under the Keras one (for `keras_class`)."""
    return getattr(type(opt), "torch_base", type(opt))


@functools.cache
def keras_class(base: type) -> type:
    """`base` (a torch.optim class) with Keras's common arguments (one class per base, so that
    `type(opt)(params, **opt.defaults)` makes the same optimizer)."""
    return type(f"Keras{base.__name__}", (KerasSteps, base), {"torch_base": base})


def _rescale_momentum(optimizer) -> None:
    """Keras's velocity holds the learning rate (SGD: v = m*v - lr*g; RMSprop: v = m*v +
    lr*g/rms), torch's buffer does not (b = m*b + g, step lr*b): the same steps while the rate
    is constant. When a schedule or ReduceLROnPlateau moves it from lr0 to lr1, Keras's
    velocity still carries lr0, so the buffer is scaled by lr0/lr1 first. The rate of the last
    update is kept in the param group (`keras_lr`, checkpointed). A rate of 0 cannot be matched
    (torch's step is then 0, Keras's still applies its velocity)."""
    for group in optimizer.param_groups:
        lr, last = float(group["lr"]), group.get("keras_lr")
        if lr == 0:
            continue
        if last is not None and last != lr:
            states = (optimizer.state.get(p, {}) for p in group["params"])
            buffers = [b for b in (s.get("momentum_buffer") for s in states) if b is not None]
            if buffers:
                torch._foreach_mul_(buffers, last / lr)
        group["keras_lr"] = lr


def decay_factor(lr: float, weight_decay: float) -> float:
    """Keras's `1 - weight_decay * lr` (torch backend's `_apply_weight_decay`): a float32
    scalar, as the rate is a float32 variable."""
    f32 = torch.float32
    return float(1 - torch.tensor(weight_decay, dtype=f32) * torch.tensor(lr, dtype=f32))


def clip_gradients(grads: list[torch.Tensor], options: dict[str, Any]) -> None:
    """Keras's `_clip_gradients` in place: clipnorm per variable, global_clipnorm over all,
    clipvalue elementwise (at most one is set)."""
    if not grads:
        return
    if options.get("clipnorm") is not None:
        c = options["clipnorm"]
        for g in grads:
            norm = torch.linalg.vector_norm(g)
            g.mul_(c / torch.clamp(norm, min=c))
    elif options.get("global_clipnorm") is not None:
        c = options["global_clipnorm"]
        device = grads[0].device
        norms = [torch.linalg.vector_norm(g).to(device) for g in grads]
        total = torch.linalg.vector_norm(torch.stack(norms))
        # Keras: c * min(1/norm, 1/c), NaN for an inf/NaN norm
        scale = c * torch.clamp(1.0 / total, max=1.0 / c) + (total - total)
        for g in grads:
            g.mul_(scale.to(g.device, g.dtype))
    elif options.get("clipvalue") is not None:
        v = options["clipvalue"]
        for g in grads:
            g.clamp_(-v, v)
