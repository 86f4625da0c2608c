"""Keras 3 optimizers torch has no equivalent of, as `torch.optim.Optimizer`s (torch imported).

Each `_rule` is Keras's `update_step` (keras/src/optimizers/NAME.py, or the torch backend's
vectorised one, keras/src/backend/torch/optimizers/torch_NAME.py, where Keras has it), with the
same operations in the same order, so that the steps agree to rounding. `KerasSteps` adds
Keras's common arguments; `t` is Keras's `local_step` (`iterations + 1`).
"""

from __future__ import annotations

from typing import Any

import torch  # noqa: TID253 (the torch side, imported when an optimizer is made)

from .optim_common import KerasSteps, decay_factor


class KerasRule(KerasSteps):
    """A Keras update rule: `lr` and the rule's arguments (Keras's names) as defaults."""

    def __init__(self, params, lr: float = 0.001, **kwargs: Any) -> None:
        common = {k: kwargs.pop(k) for k in list(kwargs) if k in _common_names()}
        super().__init__(params, defaults={"lr": lr, **kwargs}, **common)

    def _update(self, params: list[torch.Tensor]) -> None:
        decay = self.keras["keras_weight_decay"]
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            if decay:
                torch._foreach_mul_(ps, decay_factor(float(group["lr"]), decay))
            self._rule(group, ps, [p.grad for p in ps], float(group["lr"]))

    def _rule(self, group: dict, ps: list, grads: list, lr: float) -> None:
        raise NotImplementedError

    def _states(self, ps: list, name: str, fill: float = 0.0) -> list[torch.Tensor]:
        out = []
        for p in ps:
            state = self.state[p]
            if name not in state:
                state[name] = torch.full_like(p, fill, memory_format=torch.preserve_format)
            out.append(state[name])
        return out


def _common_names() -> set[str]:
    from .optim_common import COMMON

    return set(COMMON)


def _mean(x: torch.Tensor, dim: int | None = None, keepdim: bool = False) -> torch.Tensor:
    """Keras's `ops.mean` on the torch backend: computed in float32 (also for float64 input),
    in the input's dtype."""
    x32 = x.to(torch.float32)
    out = torch.mean(x32) if dim is None else torch.mean(x32, dim, keepdim=keepdim)
    return out.to(x.dtype)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(_mean(torch.square(x)))


def _f32(x) -> torch.Tensor:
    """A scalar rounded to float32, as Keras's `ops.minimum` / `ops.maximum` / `ops.sqrt` of
    scalars return it on the torch backend whatever the weights' dtype (which shows only for
    float64 weights)."""
    return torch.as_tensor(x, dtype=torch.float32)


def k(x: float) -> float:
    """A Python number as Keras's ops (and Variable arithmetic) use it: converted to a float32
    tensor first, so a float64 weight sees float32(x) (float32 weights see the same anyway)."""
    return float(torch.tensor(x, dtype=torch.float32))


class Lion(KerasRule):
    """keras.optimizers.Lion (torch_lion.py): `w -= lr * sign(b1*m + (1-b1)*g)`,
    `m = b2*m + (1-b2)*g`."""

    def _rule(self, group, ps, grads, lr):
        b1, b2 = group["beta_1"], group["beta_2"]
        ms = self._states(ps, "momentum")
        c = torch._foreach_mul(ms, b1)
        torch._foreach_add_(c, grads, alpha=1 - b1)
        signs = [x.sign() for x in c]
        torch._foreach_add_(ps, torch._foreach_mul(signs, lr), alpha=-1)
        torch._foreach_mul_(ms, b2)
        torch._foreach_add_(ms, grads, alpha=1 - b2)


class Lamb(KerasRule):
    """keras.optimizers.Lamb: Adam's direction scaled by the trust ratio ||w|| / ||update||."""

    def _rule(self, group, ps, grads, lr):
        b1, b2, eps = group["beta_1"], group["beta_2"], group["epsilon"]
        ms, vs = self._states(ps, "momentum"), self._states(ps, "velocity")
        t = self.iterations + 1
        for p, g, m, v in zip(ps, grads, ms, vs, strict=True):
            b1_power = torch.tensor(b1, dtype=p.dtype) ** t
            b2_power = torch.tensor(b2, dtype=p.dtype) ** t
            m.add_((g - m) * k(1 - b1))
            v.add_((torch.square(g) - v) * k(1 - b2))
            m_hat = m / (1.0 - b1_power.to(p.device))
            v_sqrt = torch.sqrt(v / (1.0 - b2_power.to(p.device))) + k(eps)
            update = m_hat / v_sqrt
            w_norm = torch.sqrt(torch.sum(p**2))
            g_norm = torch.sqrt(torch.sum(update**2))
            one = torch.ones((), dtype=p.dtype, device=p.device)
            ratio = torch.where(w_norm > 0, torch.where(g_norm > 0, w_norm / g_norm, one), one)
            p.sub_(ratio * lr * update)


class Adafactor(KerasRule):
    """keras.optimizers.Adafactor: factored second moments (row `r`, column `c`) for 2-D+
    weights, a full one (`velocity`) for the others; the step `max(epsilon_2, rms(w)) *
    min(lr, 1/sqrt(t))` times the update clipped to RMS `clip_threshold`. Keras's
    `relative_step` (lr = min(lr, 1/sqrt(t)) for a constant rate) changes nothing, as the step
    takes that minimum anyway."""

    def _rule(self, group, ps, grads, lr):
        t = float(self.iterations + 1)
        for p, g in zip(ps, grads, strict=True):
            self._one(group, p, g, lr, t)

    def _one(self, group: dict, p, g, lr: float, t: float) -> None:
        eps_2 = torch.tensor(group["epsilon_2"], dtype=p.dtype, device=p.device)
        lr = float(_f32(min(lr, 1 / t**0.5)))  # relative_step, a no-op: rho_t is the same
        rho_t = _f32(min(lr, 1 / t**0.5))
        alpha_t = _f32(torch.maximum(eps_2, _rms(p))) * rho_t  # float32 product, as Keras's
        regulated = torch.square(g) + k(group["epsilon_1"])
        beta_2_t = 1 - t ** k(group["beta_2_decay"])
        state = self.state[p]
        if p.dim() >= 2:
            if "r" not in state:
                state["r"] = p.new_zeros(p.shape[:-1])
                state["c"] = p.new_zeros(p.shape[:-2] + p.shape[-1:])
            r, c = state["r"], state["c"]
            r.copy_(beta_2_t * r + (1 - beta_2_t) * _mean(regulated, -1))
            c.copy_(beta_2_t * c + (1 - beta_2_t) * _mean(regulated, -2))
            v = (r / _mean(r, -1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2)
            state["velocity"] = v
        else:
            v = self._states([p], "velocity")[0]
            v.copy_(beta_2_t * v + (1 - beta_2_t) * regulated)
        u = g / torch.sqrt(v)
        one = torch.ones((), dtype=p.dtype, device=p.device)
        u_hat = u / _f32(torch.maximum(one, _rms(u) / k(group["clip_threshold"]))).to(p.device)
        p.sub_(alpha_t.to(p.device) * u_hat)


class Ftrl(KerasRule):
    """keras.optimizers.Ftrl: Follow The Regularized Leader, with its L1, L2 and L2-shrinkage
    regularisation and `beta`."""

    def _rule(self, group, ps, grads, lr):
        power = group["learning_rate_power"]
        l1 = group["l1_regularization_strength"]
        l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
        shrink = group["l2_shrinkage_regularization_strength"]
        accs = self._states(ps, "accumulator", group["initial_accumulator_value"])
        linears = self._states(ps, "linear")
        for p, g, acc, linear in zip(ps, grads, accs, linears, strict=True):
            grad_to_use = g + k(2 * shrink) * p
            new_acc = acc + torch.square(g)
            linear.add_(grad_to_use - ((new_acc ** (-power) - acc ** (-power)) / lr) * p)
            quadratic = new_acc ** (-power) / lr + 2 * l2  # l2: a tensor in Keras
            clipped = torch.clamp(linear, -k(l1), k(l1))
            p.copy_((clipped - linear) / quadratic)
            acc.copy_(new_acc)


class ScheduleFreeAdamW(KerasRule):
    """keras.optimizers.ScheduleFreeAdamW (Defazio et al. 2024): Adam's step on the iterate
    `momentum` (z, a copy of the weight when the optimizer is built), the weight y an
    interpolation of z and the running average x, recovered from y and z. As on Keras's torch
    backend, that z is the updated one: Keras's `momentum_old = momentum.value` is the variable's
    tensor, which `assign_sub` then updates in place (the paper's x uses the old z)."""

    def _build(self, params):
        for p in params:
            if "momentum" not in self.state[p]:  # Keras's build: z = w, before any decay
                self.state[p]["momentum"] = p.detach().clone(memory_format=torch.preserve_format)

    def _rule(self, group, ps, grads, lr):
        b1, b2, eps = group["beta_1"], group["beta_2"], group["epsilon"]
        t = float(self.iterations + 1)
        if group["warmup_steps"] > 0:
            lr = lr * float(_f32(min(t / group["warmup_steps"], 1.0)))
        zs, vs = self._states(ps, "momentum"), self._states(ps, "velocity")
        bias_correction_2 = 1 - b2**t
        weight = 1.0 / t
        for p, g, z, v in zip(ps, grads, zs, vs, strict=True):
            z_old = z  # Keras: `momentum.value`, the variable updated in place below
            v.add_((torch.square(g) - v) * (1 - b2))
            denom = torch.sqrt(v / bias_correction_2) + eps
            z.sub_((lr * g) / denom)
            x_old = (p - (1 - b1) * z_old) / b1
            x_new = (1 - weight) * x_old + weight * z
            p.copy_((1 - b1) * z + b1 * x_new)
