"""The Keras 3 optimizers PyTorch has no equivalent of, run by netspec's own
`torch.optim.Optimizer`s of Keras's update rules (netspec/training/engine/optim_rules.py,
optim_muon.py; torch imported when called)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import DECAY_TEXT, LR_TEXT, OPTIMIZERS, LearningRate, Optimizer

_BETA_1 = Field(0.9, ge=0, lt=1, description="Exponential decay rate of the 1st moment.")
_BETA_2 = Field(0.999, ge=0, lt=1, description="Exponential decay rate of the 2nd moment.")
_EPSILON = Field(1e-7, ge=0, description="Small constant for numerical stability.")


class _KerasRule(Optimizer):
    """An optimizer of `optim_rules`: its arguments are the spec's own (Keras's names)."""

    _rule: str  # the class's name in optim_rules / optim_muon

    def _rule_kwargs(self) -> dict[str, Any]:
        common = set(Optimizer.model_fields) | {"type"}
        return {k: getattr(self, k) for k in type(self).model_fields if k not in common}

    def _torch_optimizer(self):
        from ...engine import optim_muon, optim_rules

        classes = {
            "Lion": optim_rules.Lion,
            "Lamb": optim_rules.Lamb,
            "Adafactor": optim_rules.Adafactor,
            "Ftrl": optim_rules.Ftrl,
            "ScheduleFreeAdamW": optim_rules.ScheduleFreeAdamW,
            "Muon": optim_muon.Muon,
        }
        return classes[self._rule], self._rule_kwargs()


@OPTIMIZERS.register("lion")
class Lion(_KerasRule):
    """Lion (Chen et al. 2023): the sign of an interpolation of momentum and gradient."""

    type: Literal["Lion"] = "Lion"
    _rule = "Lion"
    beta_1: float = Field(
        0.9, gt=0, le=1, description="Rate to combine the current gradient and the momentum."
    )
    beta_2: float = Field(0.99, ge=0, le=1, description="Exponential decay rate of the momentum.")


@OPTIMIZERS.register("lamb")
class Lamb(_KerasRule):
    """LAMB (You et al. 2019): Adam's direction scaled per weight by ||w|| / ||update||."""

    type: Literal["Lamb"] = "Lamb"
    _rule = "Lamb"
    beta_1: float = _BETA_1
    beta_2: float = _BETA_2
    epsilon: float = _EPSILON


@OPTIMIZERS.register("adafactor")
class Adafactor(_KerasRule):
    """Adafactor (Shazeer and Stern 2018): factored second moments for 2-D+ weights, the step
    relative to the weight's RMS."""

    type: Literal["Adafactor"] = "Adafactor"
    _rule = "Adafactor"
    beta_2_decay: float = Field(
        -0.8, description="Decay rate of the 2nd moment: 1 - t**beta_2_decay."
    )
    epsilon_1: float = Field(1e-30, ge=0, description="Added to the squared gradients.")
    epsilon_2: float = Field(1e-3, ge=0, description="Lower bound of the weight's RMS.")
    clip_threshold: float = Field(1.0, gt=0, description="Threshold of the update's RMS.")
    relative_step: bool = Field(
        True, description="Cap a constant learning rate at 1/sqrt(step), as the step does anyway."
    )


@OPTIMIZERS.register("ftrl")
class Ftrl(_KerasRule):
    """FTRL-Proximal (McMahan et al. 2013), with L1, L2 and L2-shrinkage regularisation."""

    type: Literal["Ftrl"] = "Ftrl"
    _rule = "Ftrl"
    learning_rate_power: float = Field(
        -0.5, le=0, description="How the rate decreases during training (0: fixed)."
    )
    initial_accumulator_value: float = Field(
        0.1, ge=0, description="Starting value of the accumulators."
    )
    l1_regularization_strength: float = Field(0.0, ge=0, description="L1 regularization.")
    l2_regularization_strength: float = Field(0.0, ge=0, description="L2 regularization.")
    l2_shrinkage_regularization_strength: float = Field(
        0.0, ge=0, description="L2 shrinkage (a magnitude penalty on the gradient)."
    )
    beta: float = Field(0.0, description="Keras's beta (added to L2 as beta / (2 * lr)).")


@OPTIMIZERS.register("schedulefreeadamw", "schedule_free_adamw", "schedule_free_adam_w")
class ScheduleFreeAdamW(_KerasRule):
    """Schedule-free AdamW (Defazio et al. 2024): no learning-rate schedule needed."""

    type: Literal["ScheduleFreeAdamW"] = "ScheduleFreeAdamW"
    _rule = "ScheduleFreeAdamW"
    learning_rate: LearningRate = Field(0.0025, description=LR_TEXT)
    beta_1: float = _BETA_1
    beta_2: float = _BETA_2
    epsilon: float = Field(1e-8, ge=0, description="Small constant for numerical stability.")
    warmup_steps: int = Field(0, ge=0, description="Linear warmup of the rate over these steps.")


@OPTIMIZERS.register("muon")
class Muon(_KerasRule):
    """Muon: momentum orthogonalised by Newton-Schulz iterations for 2-D weights, AdamW for the
    others (not 2-D, embeddings with `exclude_embeddings`, paths matching `exclude_layers`)."""

    type: Literal["Muon"] = "Muon"
    _rule = "Muon"
    adam_beta_1: float = _BETA_1
    adam_beta_2: float = _BETA_2
    adam_weight_decay: float | None = Field(
        0.004, ge=0, description="The weight decay of the AdamW weights."
    )
    epsilon: float = _EPSILON
    weight_decay: float | None = Field(0.004, ge=0, description=DECAY_TEXT)
    exclude_layers: list[str] | None = Field(
        None, description="Regular expressions: weights whose path matches one use AdamW."
    )
    exclude_embeddings: bool = Field(True, description="Whether embeddings use AdamW.")
    muon_a: float = Field(3.4445, description="Newton-Schulz coefficient a.")
    muon_b: float = Field(-4.7750, description="Newton-Schulz coefficient b.")
    muon_c: float = Field(2.0315, description="Newton-Schulz coefficient c.")
    adam_lr_ratio: float = Field(1, gt=0, description="The AdamW weights' rate / learning_rate.")
    momentum: float = Field(0.95, ge=0, le=1, description="Momentum of the Muon weights.")
    ns_steps: int = Field(5, ge=0, description="Number of Newton-Schulz iterations.")
    nesterov: bool = Field(True, description="Whether to use Nesterov momentum.")
    rms_rate: float | None = Field(
        0.2, gt=0, description="Scale of the Muon update by sqrt(max(n, m)) (None: off)."
    )

    def _rule_kwargs(self) -> dict[str, Any]:
        out = super()._rule_kwargs()
        del out["exclude_layers"], out["exclude_embeddings"]  # decided by `_groups`
        return {**out, "weight_decay": self.weight_decay}

    def _common_kwargs(self) -> dict[str, Any]:
        return {**super()._common_kwargs(), "keras_weight_decay": None}  # Muon's own decay

    def _groups(self, params: list, names: list[str] | None) -> list:
        from ...engine.optim_muon import split

        groups = [p if isinstance(p, dict) else {"params": [p]} for p in params]
        return split(groups, names, self.exclude_layers or [], self.exclude_embeddings)
