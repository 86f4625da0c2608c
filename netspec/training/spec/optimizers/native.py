"""The Keras 3 optimizers PyTorch has (torch imported when called): `make` returns torch's own
class (fused where PyTorch has it, on CPU as on CUDA; else foreach) under
`optim_common.KerasSteps`, with the arguments mapped to Keras's update rule.

Keras's `weight_decay` is decoupled: `w -= lr * weight_decay * w` before the update; torch's
AdamW does it for Adam, NAdam's `decoupled_weight_decay` for Nadam, `KerasSteps` elsewhere
(torch's own `weight_decay` there is an L2 term added to the gradient, which is not Keras's).
Where PyTorch's update rule differs from Keras's (the epsilon placement of Adam, AdamW,
RMSprop, Adagrad and Adamax), see README, Differences from Keras.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import LR_TEXT, OPTIMIZERS, LearningRate, Optimizer

_BETA_1 = Field(0.9, ge=0, lt=1, description="Exponential decay rate of the 1st moment.")
_BETA_2 = Field(0.999, ge=0, lt=1, description="Exponential decay rate of the 2nd moment.")
_EPSILON = Field(1e-7, ge=0, description="Small constant for numerical stability.")


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum: Keras's steps, also while a schedule
    or ReduceLROnPlateau changes the learning rate (torch's momentum buffer, Keras's velocity
    divided by -learning_rate, is rescaled when the rate changes)."""

    type: Literal["SGD"] = "SGD"
    learning_rate: LearningRate = Field(0.01, description=LR_TEXT)
    momentum: float = Field(0.0, ge=0, le=1, description="Momentum, in [0, 1].")
    nesterov: bool = Field(False, description="Whether to apply Nesterov momentum.")

    def _velocity_has_lr(self) -> bool:
        return True

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.SGD), {"momentum": self.momentum, "nesterov": self.nesterov}


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam; Keras adds epsilon to sqrt(v) before the bias correction, torch after."""

    type: Literal["Adam"] = "Adam"
    beta_1: float = _BETA_1
    beta_2: float = _BETA_2
    epsilon: float = _EPSILON
    amsgrad: bool = Field(False, description="Whether to apply the AMSGrad variant.")

    def _adam_kwargs(self) -> dict[str, Any]:
        return {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
            "amsgrad": self.amsgrad,
        }

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        if self.weight_decay:  # Keras's decay is decoupled: torch's AdamW
            return keras_class(torch.optim.AdamW), {
                **self._adam_kwargs(),
                "weight_decay": self.weight_decay,
            }
        return keras_class(torch.optim.Adam), self._adam_kwargs()

    def _decay_in_torch(self) -> bool:
        return True


@OPTIMIZERS.register("adamw", "adam_w")
class AdamW(Adam):
    """Adam with decoupled weight decay (`w -= learning_rate * weight_decay * w`)."""

    # a registered subclass names its own `type` (the union's discriminator)
    type: Literal["AdamW"] = "AdamW"  # type: ignore[assignment]
    weight_decay: float = Field(
        0.004,
        ge=0,
        description="Decoupled weight decay: each step first does "
        "`w -= learning_rate * weight_decay * w`.",
    )

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.AdamW), {
            **self._adam_kwargs(),
            "weight_decay": self.weight_decay,
        }


@OPTIMIZERS.register("rmsprop", "rms_prop")
class RMSprop(Optimizer):
    """RMSprop; Keras divides by sqrt(v + epsilon), torch by sqrt(v) + epsilon."""

    type: Literal["RMSprop"] = "RMSprop"
    rho: float = Field(0.9, ge=0, le=1, description="Discounting factor of the gradient history.")
    momentum: float = Field(0.0, ge=0, le=1, description="Momentum, in [0, 1].")
    epsilon: float = _EPSILON
    centered: bool = Field(False, description="Whether to normalize by the gradient variance.")

    def _velocity_has_lr(self) -> bool:
        return True

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.RMSprop), {
            "alpha": self.rho,
            "eps": self.epsilon,
            "momentum": self.momentum,
            "centered": self.centered,
        }


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    """Adagrad; Keras divides by sqrt(acc + epsilon), torch by sqrt(acc) + epsilon."""

    type: Literal["Adagrad"] = "Adagrad"
    initial_accumulator_value: float = Field(
        0.1, ge=0, description="Starting value of the accumulators."
    )
    epsilon: float = _EPSILON

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.Adagrad), {
            "initial_accumulator_value": self.initial_accumulator_value,
            "eps": self.epsilon,
        }


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Adadelta: the same rule in Keras and torch."""

    type: Literal["Adadelta"] = "Adadelta"
    rho: float = Field(0.95, ge=0, le=1, description="Decay rate.")
    epsilon: float = _EPSILON

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.Adadelta), {"rho": self.rho, "eps": self.epsilon}


@OPTIMIZERS.register("adamax")
class Adamax(Optimizer):
    """Adamax; Keras divides by u + epsilon, torch by max(beta_2 * u, |g| + epsilon)."""

    type: Literal["Adamax"] = "Adamax"
    beta_1: float = _BETA_1
    beta_2: float = _BETA_2
    epsilon: float = _EPSILON

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        return keras_class(torch.optim.Adamax), {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
        }


@OPTIMIZERS.register("nadam")
class Nadam(Optimizer):
    """Nadam: torch's NAdam with momentum_decay=1 is Keras's schedule (0.96 ** step)."""

    type: Literal["Nadam"] = "Nadam"
    beta_1: float = _BETA_1
    beta_2: float = _BETA_2
    epsilon: float = _EPSILON

    def _torch_optimizer(self):
        import torch

        from ...engine.optim_common import keras_class

        kwargs: dict[str, Any] = {
            "betas": (self.beta_1, self.beta_2),
            "eps": self.epsilon,
            "momentum_decay": 1.0,
        }
        if self.weight_decay:
            kwargs.update(weight_decay=self.weight_decay, decoupled_weight_decay=True)
        return keras_class(torch.optim.NAdam), kwargs

    def _decay_in_torch(self) -> bool:
        return True
