"""Keras 3 initializers: spec models and their samplers (torch is imported when sampling).

Shapes are Keras weight shapes (a Dense kernel is (in, out), a Conv2D kernel (kh, kw, in, out)),
so fans are computed as Keras computes them, whatever layout the torch module stores.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from ..registry import Registry
from .base import VocabModel, name_or_object
from .bounds import FLOAT32_MAX, SEED_END, Float32

INITIALIZERS: Registry[type[Initializer]] = Registry("initializer")
# Keras's truncated normal cuts at 2 stddev; this is the stddev of a unit normal so truncated.
TRUNCATION_CORRECTION = 0.87962566103423978
Seed = Field(
    None,
    ge=0,
    lt=SEED_END,
    description="Seed of this initializer's own random stream; the same seed gives "
    "the same values. Default: drawn from the build seed.",
)


def compute_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """Keras's `compute_fans`: fans of a Keras-layout weight shape."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer(VocabModel):
    """Base initializer: `sample(shape, generator)` returns a float32 CPU tensor of `shape`."""

    def _gen(self, generator):
        import torch

        seed = getattr(self, "seed", None)
        return torch.Generator().manual_seed(seed) if seed is not None else generator

    def sample(self, shape: tuple[int, ...], generator=None):
        raise NotImplementedError

    def refuses(self, shape: tuple[int, ...]) -> str | None:
        """Why this initializer cannot fill a weight of `shape` (checked when validating);
        None when it can."""
        return None


class Elementwise(Initializer):
    """An initializer whose values are i.i.d., from a distribution that depends on the Keras
    shape only through its fans: the values need no particular layout, so a weight is drawn
    straight into the tensor that stores it (`fill_`), whatever order its axes are kept in,
    with no permuted copy (Orthogonal and Identity, whose values depend on the layout, are
    sampled in Keras layout and permuted)."""

    def fill_(self, out, shape: tuple[int, ...], generator=None):
        """Fill the float32 tensor `out` (as many elements as `shape`, in any layout) in place
        with this initializer's values for a Keras weight of `shape`; return `out`."""
        raise NotImplementedError

    def sample(self, shape, generator=None):
        import torch

        return self.fill_(torch.empty(shape), tuple(shape), generator)


@INITIALIZERS.register("zeros", "zero")
class Zeros(Elementwise):
    """All zeros."""

    type: Literal["Zeros"] = "Zeros"

    def fill_(self, out, shape, generator=None):
        return out.zero_()


@INITIALIZERS.register("ones", "one")
class Ones(Elementwise):
    """All ones."""

    type: Literal["Ones"] = "Ones"

    def fill_(self, out, shape, generator=None):
        return out.fill_(1.0)


@INITIALIZERS.register("constant")
class Constant(Elementwise):
    """Every value equal to `value`."""

    type: Literal["Constant"] = "Constant"
    value: Float32 = Field(0.0, description="The constant.")

    def fill_(self, out, shape, generator=None):
        return out.fill_(float(self.value))


@INITIALIZERS.register("random_normal", "normal")
class RandomNormal(Elementwise):
    """Normal distribution N(mean, stddev^2)."""

    type: Literal["RandomNormal"] = "RandomNormal"
    mean: Float32 = Field(0.0, description="Mean of the distribution.")
    stddev: float = Field(
        0.05, ge=0, le=FLOAT32_MAX, description="Standard deviation of the distribution."
    )
    seed: int | None = Seed

    def fill_(self, out, shape, generator=None):
        return out.normal_(self.mean, self.stddev, generator=self._gen(generator))


@INITIALIZERS.register("random_uniform", "uniform")
class RandomUniform(Elementwise):
    """Uniform distribution on [minval, maxval)."""

    type: Literal["RandomUniform"] = "RandomUniform"
    minval: Float32 = Field(-0.05, description="Lower bound of the range.")
    maxval: Float32 = Field(0.05, description="Upper bound of the range.")
    seed: int | None = Seed

    def refuses(self, shape):
        if self.minval > self.maxval:
            return f"RandomUniform's minval {self.minval} is above its maxval {self.maxval}"
        return None

    def fill_(self, out, shape, generator=None):
        return out.uniform_(self.minval, self.maxval, generator=self._gen(generator))


def _truncated(out, mean: float, stddev: float, generator):
    import torch

    if stddev == 0.0:  # a subnormal scale underflows: the distribution is its mean (torch
        return out.fill_(mean)  # would divide by the zero stddev)
    lo, hi = mean - 2 * stddev, mean + 2 * stddev
    return torch.nn.init.trunc_normal_(out, mean, stddev, lo, hi, generator=generator)


@INITIALIZERS.register("truncated_normal")
class TruncatedNormal(Elementwise):
    """Normal distribution N(mean, stddev^2) with values beyond 2 stddev redrawn, as Keras."""

    type: Literal["TruncatedNormal"] = "TruncatedNormal"
    mean: Float32 = Field(0.0, description="Mean of the distribution before truncation.")
    stddev: float = Field(
        0.05, ge=0, le=FLOAT32_MAX, description="Standard deviation before truncation."
    )
    seed: int | None = Seed

    def fill_(self, out, shape, generator=None):
        return _truncated(out, self.mean, self.stddev, self._gen(generator))


class _Scaling(Elementwise):
    """Shared sampler of VarianceScaling and its named presets (Glorot, He, Lecun)."""

    def _params(self) -> tuple[float, str, str]:
        raise NotImplementedError

    def fill_(self, out, shape, generator=None):
        scale, mode, distribution = self._params()
        fan_in, fan_out = compute_fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        scale /= max(1.0, fan)
        gen = self._gen(generator)
        if distribution == "truncated_normal":
            return _truncated(out, 0.0, math.sqrt(scale) / TRUNCATION_CORRECTION, gen)
        if distribution == "untruncated_normal":
            return out.normal_(0.0, math.sqrt(scale), generator=gen)
        limit = math.sqrt(3.0 * scale)
        return out.uniform_(-limit, limit, generator=gen)


@INITIALIZERS.register("variance_scaling")
class VarianceScaling(_Scaling):
    """Samples with variance `scale / n`, n the fan chosen by `mode` (Keras's fans)."""

    type: Literal["VarianceScaling"] = "VarianceScaling"
    scale: float = Field(1.0, gt=0, le=FLOAT32_MAX, description="Scaling factor (positive).")
    mode: Literal["fan_in", "fan_out", "fan_avg"] = Field(
        "fan_in", description="Which fan divides the scale."
    )
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] = Field(
        "truncated_normal",
        description="Distribution; the truncated normal's stddev is divided by "
        "0.8796 so the variance is `scale / n`, as Keras. `normal` is read as truncated_normal.",
        # The schema lists Keras's legacy `normal` too, since the validator accepts it.
        json_schema_extra={"enum": ["truncated_normal", "untruncated_normal", "uniform", "normal"]},
    )
    seed: int | None = Seed

    @field_validator("distribution", mode="before")
    @classmethod
    def _normal_alias(cls, value):
        # Keras 3 maps the legacy name "normal" to "truncated_normal".
        return "truncated_normal" if value == "normal" else value

    def _params(self):
        return self.scale, self.mode, self.distribution


def _preset(name: str, alias: str, scale: float, mode: str, distribution: str, doc: str):
    cls = type(
        name,
        (_Scaling,),
        {
            "__doc__": doc,
            "__annotations__": {"type": Literal[name], "seed": "int | None"},
            "type": name,
            "seed": Seed,
            "_params": lambda self: (scale, mode, distribution),
        },
    )
    cls.__module__ = __name__
    return INITIALIZERS.register(alias)(cls)


GlorotNormal = _preset(
    "GlorotNormal",
    "glorot_normal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "Truncated normal with stddev sqrt(2 / (fan_in + fan_out)).",
)
GlorotUniform = _preset(
    "GlorotUniform",
    "glorot_uniform",
    1.0,
    "fan_avg",
    "uniform",
    "Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)).",
)
HeNormal = _preset(
    "HeNormal",
    "he_normal",
    2.0,
    "fan_in",
    "truncated_normal",
    "Truncated normal with stddev sqrt(2 / fan_in).",
)
HeUniform = _preset(
    "HeUniform",
    "he_uniform",
    2.0,
    "fan_in",
    "uniform",
    "Uniform in [-limit, limit], limit = sqrt(6 / fan_in).",
)
LecunNormal = _preset(
    "LecunNormal",
    "lecun_normal",
    1.0,
    "fan_in",
    "truncated_normal",
    "Truncated normal with stddev sqrt(1 / fan_in).",
)
LecunUniform = _preset(
    "LecunUniform",
    "lecun_uniform",
    1.0,
    "fan_in",
    "uniform",
    "Uniform in [-limit, limit], limit = sqrt(3 / fan_in).",
)


@INITIALIZERS.register("orthogonal", "OrthogonalInitializer")
class Orthogonal(Initializer):
    """A random orthogonal matrix (QR of a normal matrix, signs fixed), times `gain`; the
    weight is viewed as (prod(shape[:-1]), shape[-1]) as Keras does."""

    type: Literal["Orthogonal"] = "Orthogonal"
    gain: Float32 = Field(1.0, description="Multiplicative factor.")
    seed: int | None = Seed

    def refuses(self, shape):
        return (
            f"Orthogonal needs a weight of rank >= 2, got rank {len(shape)}"
            if len(shape) < 2
            else None
        )

    def sample(self, shape, generator=None):
        import torch

        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a weight of rank >= 2, got shape {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = torch.empty(max(rows, cols), min(rows, cols)).normal_(generator=self._gen(generator))
        # The factorisation and the arithmetic after it in numpy (its LAPACK is loaded with it):
        # the same values as torch's QR (Q is unique once the signs are fixed) and float32
        # products, without mapping torch's LAPACK and a handful of torch kernels into the
        # process for one call at build time (~7 MiB of peak memory, then ~2 MiB)
        import numpy as np

        q, r = np.linalg.qr(flat.numpy())
        q *= np.sign(r.diagonal())
        if rows < cols:
            q = q.T
        return torch.from_numpy(np.ascontiguousarray(q.reshape(shape) * np.float32(self.gain)))


@INITIALIZERS.register("identity", "IdentityInitializer")
class Identity(Initializer):
    """`gain` times the identity matrix (2-D weights only, as Keras)."""

    type: Literal["Identity"] = "Identity"
    gain: Float32 = Field(1.0, description="Multiplicative factor.")

    def refuses(self, shape):
        return f"Identity needs a 2-D weight, got rank {len(shape)}" if len(shape) != 2 else None

    def sample(self, shape, generator=None):
        import torch

        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D weight, got shape {tuple(shape)}")
        return self.gain * torch.eye(*shape)


InitializerField = name_or_object(INITIALIZERS)
