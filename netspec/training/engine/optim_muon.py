"""keras.optimizers.Muon as a `torch.optim.Optimizer` (torch imported here).

Keras's Muon (keras/src/optimizers/muon.py) updates each 2-D weight with momentum
orthogonalised by Newton-Schulz iterations (`_muon_update_step`), and every other weight with
AdamW (`_adamw_update_step`, at `learning_rate * adam_lr_ratio`): those not 2-D, embeddings
("embedding" in the weight's path, with `exclude_embeddings`), and the paths matching a regular
expression of `exclude_layers`. Which rule a weight takes is its param group's `muon` flag,
decided when the optimizer is made (`split`, from the weights' Keras paths). Weight decay:
`weight_decay` on the Muon weights, `adam_weight_decay` on the others, both at the base rate.
"""

from __future__ import annotations

import re

import torch  # noqa: TID253 (the torch side, imported when an optimizer is made)

from .optim_rules import KerasRule, k


def uses_adamw(shape: tuple[int, ...], path: str | None, exclude_layers, embeddings: bool) -> bool:
    """Keras's `_should_use_adamw`: not 2-D, an embedding, or an excluded layer's weight."""
    if len(shape) != 2:
        return True
    if path is None:
        return False
    if embeddings and "embedding" in path.lower():
        return True
    return any(re.search(keyword, path) for keyword in exclude_layers)


def split(groups: list[dict], names: list[str] | None, exclude_layers, embeddings: bool):
    """Each param group split into its Muon weights and its AdamW weights (`muon` flag)."""
    out, index = [], 0
    for group in groups:
        flags = []
        for p in group["params"]:
            path = names[index] if names is not None else None
            flags.append(not uses_adamw(tuple(p.shape), path, exclude_layers, embeddings))
            index += 1
        for flag in (True, False):
            ps = [p for p, f in zip(group["params"], flags, strict=True) if f == flag]
            if ps:
                out.append({**group, "params": ps, "muon": flag})
    return out


class Muon(KerasRule):
    """Muon on the groups flagged `muon`, Keras's AdamW on the others."""

    def _update(self, params):
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            if not ps:
                continue
            lr = float(group["lr"])
            decay = group["weight_decay"] if group.get("muon") else group["adam_weight_decay"]
            if decay is not None:
                # Keras: variable - variable * wd * lr
                for p in ps:
                    p.sub_(p * decay * lr)
            grads = [p.grad for p in ps]
            if group.get("muon"):
                self._muon(group, ps, grads, lr)
            else:
                self._adamw(group, ps, grads, lr * group["adam_lr_ratio"])

    def _muon(self, group, ps, grads, lr):
        momentum = group["momentum"]
        for p, g, m in zip(ps, grads, self._states(ps, "momentum"), strict=True):
            m.add_(g + m * k(momentum - 1))
            direction = g + k(momentum) * m if group["nesterov"] else m
            update = self._newton_schulz(group, direction)
            step = lr * update
            if group["rms_rate"] is not None:  # Keras's lr_adjust (Moonlight)
                # sqrt(max(n, m)) in float32, as Keras's ops.sqrt of an int
                root = float(torch.sqrt(torch.tensor(float(max(p.shape)), dtype=torch.float32)))
                step = step * root * group["rms_rate"]
            p.sub_(step)

    @staticmethod
    def _newton_schulz(group: dict, x: torch.Tensor) -> torch.Tensor:
        """Keras's `zeropower_via_newtonschulz5`."""
        a, b, c = group["muon_a"], group["muon_b"], group["muon_c"]
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.transpose(-2, -1)
        # Keras's ops.norm computes in float32 (also for float64 input) and returns float32
        norm = torch.linalg.matrix_norm(x.to(torch.float32), keepdim=True)
        x = x / (norm + 1e-7)
        for _ in range(group["ns_steps"]):
            temp_a = x @ x.transpose(-2, -1)
            temp_b = b * temp_a + c * temp_a @ temp_a
            x = a * x + temp_b @ x
        return x.transpose(-2, -1) if tall else x

    def _adamw(self, group, ps, grads, lr):
        b1, b2, eps = group["adam_beta_1"], group["adam_beta_2"], group["epsilon"]
        t = self.iterations + 1
        ms, vs = self._states(ps, "momentum"), self._states(ps, "velocity")
        for p, g, m, v in zip(ps, grads, ms, vs, strict=True):
            b1_power = torch.tensor(b1, dtype=p.dtype) ** t
            b2_power = torch.tensor(b2, dtype=p.dtype) ** t
            alpha = (lr * torch.sqrt(1 - b2_power) / (1 - b1_power)).to(p.device)
            m.add_((g - m) * k(1 - b1))
            v.add_((torch.square(g) - v) * k(1 - b2))
            p.sub_((m * alpha) / (torch.sqrt(v) + k(eps)))
