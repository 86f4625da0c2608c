"""The layer catalogue. Adding a layer: one small file, plus one import line below."""

from __future__ import annotations

import warnings
from importlib import metadata

from .base import LAYERS, Context, Layer, Shape, ShapeError, Weight, register_layer

# Registration: importing a layer module registers its classes.
from . import dense  # noqa: E402,F401  isort: skip
from . import activation  # noqa: E402,F401  isort: skip
from . import dropout  # noqa: E402,F401  isort: skip
from . import flatten  # noqa: E402,F401  isort: skip
from . import reshape  # noqa: E402,F401  isort: skip
from . import permute  # noqa: E402,F401  isort: skip
from . import repeat_vector  # noqa: E402,F401  isort: skip
from . import embedding  # noqa: E402,F401  isort: skip
from . import activity_regularization  # noqa: E402,F401  isort: skip
from . import merge  # noqa: E402,F401  isort: skip
from . import concatenate  # noqa: E402,F401  isort: skip
from . import dot  # noqa: E402,F401  isort: skip
from . import lambda_layer  # noqa: E402,F401  isort: skip
from . import shared  # noqa: E402,F401  isort: skip
from . import normalization  # noqa: E402,F401  isort: skip
from . import batch_normalization  # noqa: E402,F401  isort: skip
from . import group_normalization  # noqa: E402,F401  isort: skip
from . import pooling  # noqa: E402,F401  isort: skip
from . import global_pooling  # noqa: E402,F401  isort: skip
from . import padding  # noqa: E402,F401  isort: skip
from . import upsampling  # noqa: E402,F401  isort: skip
from . import locally_connected  # noqa: E402,F401  isort: skip
from . import conv  # noqa: E402,F401  isort: skip
from . import conv_transpose  # noqa: E402,F401  isort: skip
from . import depthwise_conv  # noqa: E402,F401  isort: skip
from . import separable_conv  # noqa: E402,F401  isort: skip
from . import activation_layers  # noqa: E402,F401  isort: skip
from . import noise  # noqa: E402,F401  isort: skip
from . import recurrent  # noqa: E402,F401  isort: skip
from . import masking  # noqa: E402,F401  isort: skip
from . import bidirectional  # noqa: E402,F401  isort: skip
from . import time_distributed  # noqa: E402,F401  isort: skip
from . import attention  # noqa: E402,F401  isort: skip
from . import multi_head_attention  # noqa: E402,F401  isort: skip

PLUGIN_GROUP = "netspec.layers"
_plugins_loaded = False


def load_plugins() -> list[str]:
    """Load the layer plugins installed in the environment (once); return their names.

    An entry point may name a Layer subclass (registered here) or a module or function that
    registers its layers itself with `register_layer`.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return []
    _plugins_loaded = True
    loaded = []
    for ep in metadata.entry_points(group=PLUGIN_GROUP):
        try:
            obj = ep.load()
            if isinstance(obj, type) and issubclass(obj, Layer):
                if obj.model_fields["type"].annotation.__args__[0] not in LAYERS:
                    register_layer(obj)
            elif callable(obj):
                obj()
            loaded.append(ep.name)
        except Exception as exc:  # a broken plugin must not break validation of other specs
            warnings.warn(f"netspec plugin '{ep.name}' failed to load: {exc}", stacklevel=2)
    return loaded


__all__ = [
    "LAYERS",
    "Context",
    "Layer",
    "Shape",
    "ShapeError",
    "Weight",
    "load_plugins",
    "register_layer",
]
