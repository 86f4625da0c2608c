"""The Keras 3 oracle: the real Keras model of a netspec spec, to compare netspec against.

`keras_model(spec)` rebuilds a validated spec (`netspec.load`/`loads`/`from_data`) with Keras's
functional API: one `keras.Input` per model input, then each layer in the graph's execution
order, as the Keras layer of the same type with the same arguments (vocabulary objects become
the Keras initializer / regularizer / constraint / activation of the same name and arguments;
a layer's `data_format` left unset becomes the spec's). `copy_weights` then gives a built
netspec model the Keras model's weights, so outputs can be compared value for value.

A layer whose arguments do not map one-to-one onto Keras's (or that Keras lacks: keras_parity
False) needs an entry in `ADAPTERS` that makes its Keras layer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from netspec.graph import Graph, Ref  # noqa: E402
from netspec.layers import Layer  # noqa: E402
from netspec.loader import from_data, graph_of  # noqa: E402
from netspec.torch.weights import load_keras_weights  # noqa: E402
from netspec.vocab import Activation, Constraint, Initializer, Regularizer  # noqa: E402
from netspec.vocab.base import VocabModel  # noqa: E402

# Fields of every netspec layer that are not Keras constructor arguments (name and trainable
# are passed separately; inputs and input_shape are the graph's business).
BASE_FIELDS = {"type", "name", "inputs", "input_shape", "trainable"}
# type -> function(layer spec, graph, name) returning its Keras layer, for layers whose
# arguments are not Keras's one-to-one.
ADAPTERS: dict[str, Callable[[Layer, Graph, str], keras.layers.Layer]] = {}


def keras_activation(spec: Activation):
    """The Keras activation of a netspec activation: its name, or a function with the args."""
    args = spec.model_dump(exclude={"type"})
    if not args:
        return spec.type
    fn = getattr(keras.activations, spec.type)

    def activation(x):
        return fn(x, **args)

    activation.__name__ = spec.type
    return activation


def keras_value(value: Any) -> Any:
    """A netspec argument value as Keras takes it."""
    if isinstance(value, Activation):
        return keras_activation(value)
    for base, module in (
        (Initializer, keras.initializers),
        (Regularizer, keras.regularizers),
        (Constraint, keras.constraints),
    ):
        if isinstance(value, base):
            return getattr(module, value.type)(**value.model_dump(exclude={"type"}))
    if isinstance(value, VocabModel):
        raise TypeError(f"no Keras mapping for {value!r}")
    if isinstance(value, list):
        return [keras_value(v) for v in value]
    return value


def keras_kwargs(layer: Layer, graph: Graph) -> dict[str, Any]:
    """The Keras constructor arguments of a netspec layer (without name and trainable)."""
    kwargs = {
        f: keras_value(getattr(layer, f)) for f in type(layer).model_fields if f not in BASE_FIELDS
    }
    if "data_format" in kwargs and kwargs["data_format"] is None:
        kwargs["data_format"] = graph.data_format
    return kwargs


def keras_layer(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    """The Keras layer of a netspec layer spec."""
    if layer.type in ADAPTERS:
        return ADAPTERS[layer.type](layer, graph, name)
    if not type(layer).keras_parity:
        raise NotImplementedError(
            f"{layer.type} has no Keras counterpart (keras_parity is "
            "False): register its Keras layer in keras_oracle.ADAPTERS"
        )
    cls = getattr(keras.layers, layer.type)
    return cls(name=name, trainable=layer.trainable, **keras_kwargs(layer, graph))


def _value(values: dict[str, Any], ref: Ref):
    value = values[ref.node]
    return value if ref.index is None else value[ref.index]


def keras_model(spec) -> keras.Model:
    """The Keras functional model of a validated spec (a Spec, or a dict as YAML gives)."""
    if isinstance(spec, dict):
        spec = from_data(spec)
    graph = graph_of(spec)
    values: dict[str, Any] = {}
    inputs = []
    for inp in graph.inputs:
        tensor = keras.Input(shape=inp.shape, dtype=inp.dtype, name=inp.name)
        values[inp.name] = tensor
        inputs.append(tensor)
    for index in graph.order:
        node = graph.nodes[index]
        args = [_value(values, ref) for ref in node.inputs]
        single = node.layer.arity == (1, 1)
        values[node.name] = keras_layer(node.layer, graph, node.name)(args[0] if single else args)
    outputs = [_value(values, ref) for ref in graph.outputs]
    return keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=graph.name,
    )


def keras_weights(model: keras.Model) -> dict[str, list[np.ndarray]]:
    """Each Keras layer's weights (Keras layout and order), for layers that have some."""
    return {layer.name: layer.get_weights() for layer in model.layers if layer.weights}


def copy_weights(model: keras.Model, torch_model) -> None:
    """Give a built netspec model (`netspec.build`) the Keras model's weights."""
    weights = {
        name: arrays for name, arrays in keras_weights(model).items() if name in torch_model.layers
    }
    load_keras_weights(torch_model, weights)


def keras_param_counts(model: keras.Model) -> dict[str, tuple[int, int]]:
    """Per layer (trainable, non-trainable) parameter counts, as Keras counts them."""

    def size(weights) -> int:
        return sum(math.prod(w.shape) for w in weights)

    return {
        layer.name: (size(layer.trainable_weights), size(layer.non_trainable_weights))
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    }


def keras_predict(model: keras.Model, inputs: list[np.ndarray], training: bool = False):
    """The Keras model's outputs as numpy arrays (a list when it has several)."""
    out = model(inputs[0] if len(inputs) == 1 else list(inputs), training=training)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)


def keras_output_shapes(model: keras.Model) -> list[tuple]:
    """Keras's static output shapes, batch axis included."""
    return [tuple(o.shape) for o in model.outputs]


def layer_spec(
    layer_type: str,
    args: dict,
    inputs: list,
    dtypes: list | None = None,
    data_format: str | None = None,
    name: str = "layer",
) -> dict:
    """A one-layer spec (as data) for a layer example: inputs x0, x1, ... into one layer."""
    dtypes = dtypes or ["float32"] * len(inputs)
    spec = {
        "netspec": 1,
        "name": f"{layer_type}_example",
        "inputs": {
            f"x{i}": {"shape": list(shape), "dtype": dtype}
            for i, (shape, dtype) in enumerate(zip(inputs, dtypes, strict=True))
        },
        "layers": [
            {
                "type": layer_type,
                "name": name,
                "inputs": [f"x{i}" for i in range(len(inputs))],
                **args,
            }
        ],
    }
    if data_format is not None:
        spec["data_format"] = data_format
    return spec
