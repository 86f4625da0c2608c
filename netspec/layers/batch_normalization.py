"""BatchNormalization: normalizes with the batch's statistics while training, with moving
averages of them at inference."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..vocab import InitializerField
from ..vocab.bounds import FLOAT32_MAX
from .base import Context, Shape, Weight, register_layer
from .normalization import EPSILON, _Affine, _init, axis_indices, known_sizes


@register_layer
class BatchNormalization(_Affine):
    """Keras's `BatchNormalization`. Training (`module.train()`): normalizes each channel of
    `axis` with the mean and the biased variance of the batch over every other axis,
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`, and updates
    `moving_mean = moving_mean * momentum + mean * (1 - momentum)` and
    `moving_variance = moving_variance * momentum + var * (1 - momentum)` with that same biased
    variance, as Keras does (torch's BatchNorm would use the unbiased one). Inference
    (`module.eval()`): the moving statistics instead. The moving statistics are non-trainable
    parameters (Keras's non-trainable params). As in Keras, `trainable: false` also runs the
    layer in inference mode while training. `axis` is Keras's: -1 whatever the data_format,
    so a channels_first spec sets `axis: 1`."""

    type: Literal["BatchNormalization"] = "BatchNormalization"
    axis: int = Field(
        -1,
        description="The channel axis, normalized per channel (batch axis = 0; -1 whatever the "
        "data_format, as Keras: channels_first images need 1).",
    )
    momentum: float = Field(0.99, ge=0, le=1, description="Momentum of the moving averages.")
    epsilon: float = Field(1e-3, gt=0, le=FLOAT32_MAX, description=EPSILON)
    synchronized: bool = Field(
        False,
        description="In a data-parallel run (netspec train --nproc, torchrun), normalize with "
        "the statistics of the global batch, over every process (Keras's argument); false: "
        "each process uses its own share's (rank 0's moving averages are saved). One process "
        "alone: no difference.",
    )
    moving_mean_initializer: InitializerField = _init("zeros", "Initializer of the moving mean.")
    moving_variance_initializer: InitializerField = _init(
        "ones", "Initializer of the moving variance."
    )

    examples = (
        {"args": {}, "inputs": [[4]]},
        {"args": {}, "inputs": [[None, 3]]},
        {"args": {"momentum": 0.9, "epsilon": 1e-5}, "inputs": [[2, 3, 5]]},
        {"args": {"axis": 1}, "inputs": [[3, 4, 5]], "data_format": "channels_first"},
        {
            "args": {"axis": 1, "center": False},
            "inputs": [[3, None]],
            "data_format": "channels_first",
        },
        {
            "args": {
                "axis": 2,
                "scale": False,
                "moving_mean_initializer": "random_normal",
                "moving_variance_initializer": {
                    "type": "RandomUniform",
                    "minval": 0.5,
                    "maxval": 2.0,
                },
            },
            "inputs": [[2, 3, 2, 2]],
        },
    )

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        shape = known_sizes(axis_indices(self.axis, shapes[0]), shapes[0], "BatchNormalization")
        return [
            *self.gamma_beta(shape),
            Weight("moving_mean", shape, self.moving_mean_initializer, trainable=False),
            Weight("moving_variance", shape, self.moving_variance_initializer, trainable=False),
        ]

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        return shapes[0]  # weights() checks the axes

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.batch_normalization import BatchNormModule

        axis = axis_indices(self.axis, shapes[0])[0]
        return BatchNormModule(self, self.graph_weights(shapes, ctx), ctx, axis)
