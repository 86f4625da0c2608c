"""The Keras 3 oracle: the real Keras model of a netspec spec, to compare netspec against.

`keras_model(spec)` rebuilds a validated spec (`netspec.load`/`loads`/`from_data`) with Keras's
functional API: one `keras.Input` per model input, then each layer in the graph's execution
order, as the Keras layer of the same type with the same arguments (vocabulary objects become
the Keras initializer / regularizer / constraint / activation of the same name and arguments;
a layer's `data_format` left unset becomes the spec's). `copy_weights` then gives a built
netspec model the Keras model's weights, so outputs can be compared value for value.

A layer whose arguments do not map one-to-one onto Keras's (or that Keras lacks: keras_parity
False) needs an entry in `ADAPTERS` that makes its Keras layer.

A `Shared` entry calls the Keras layer object of the entry it names once more (a shared layer,
as a siamese network in Keras's functional API): Keras has one layer with two calls, so the model
answers `get_layer(shared_name)` with a `SharedCall` (that call's output, no weights of its own)
and `keras_param_counts` gives the Shared entry (0, 0), as netspec counts it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from netspec.graph import Graph, Ref  # noqa: E402
from netspec.layers import Layer  # noqa: E402
from netspec.loader import from_data  # noqa: E402
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


@dataclass
class SharedCall:
    """A Shared entry's call of another entry's Keras layer: its output, no weights of its own."""

    name: str
    layer: keras.layers.Layer  # the shared Keras layer (one object, called once more here)
    output: Any
    weights: list = field(default_factory=list)
    trainable_weights: list = field(default_factory=list)
    non_trainable_weights: list = field(default_factory=list)

    def count_params(self) -> int:
        return 0


class OracleModel(keras.Model):
    """A Keras functional model (a Model subclass called with inputs and outputs is one) that
    also answers `get_layer` for netspec's Shared entries."""

    def get_layer(self, name=None, index=None):
        shared = self.__dict__.get("shared_calls", {})
        if index is None and name in shared:
            return shared[name]
        return super().get_layer(name, index)


def keras_model(spec) -> keras.Model:
    """The Keras functional model of a validated spec (a Spec, or a dict as YAML gives)."""
    if isinstance(spec, dict):
        spec = from_data(spec)
    graph = spec.graph
    values: dict[str, Any] = {}
    made: dict[str, keras.layers.Layer] = {}
    shared: dict[str, SharedCall] = {}
    inputs = []
    for inp in graph.inputs:
        tensor = keras.Input(shape=inp.shape, dtype=inp.dtype, name=inp.name)
        values[inp.name] = tensor
        inputs.append(tensor)
    for index in graph.order:  # a shared entry's original comes first in this order
        node = graph.nodes[index]
        args = [_value(values, ref) for ref in node.inputs]
        if node.type == "Shared":
            layer = made[node.layer.layer]  # the same Keras layer object, called once more
            arity = graph.node(node.layer.layer).layer.arity
        else:
            layer = made[node.name] = keras_layer(node.layer, graph, node.name)
            arity = node.layer.arity
        out = layer(args[0] if arity == (1, 1) else args)
        # Nested outputs (stacked RNN cells' states, [h, c] per cell) flat, as netspec's `name:k`
        values[node.name] = keras.tree.flatten(out) if isinstance(out, (list, tuple)) else out
        if node.type == "Shared":
            shared[node.name] = SharedCall(node.name, layer, values[node.name])
    outputs = [_value(values, ref) for ref in graph.outputs]
    model = OracleModel(
        inputs[0] if len(inputs) == 1 else inputs,
        outputs[0] if len(outputs) == 1 else outputs,
        name=graph.name,
    )
    object.__setattr__(model, "shared_calls", shared)  # plain attribute: not Keras-tracked
    return model


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

    counts = {
        layer.name: (size(layer.trainable_weights), size(layer.non_trainable_weights))
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    }
    # Calls of a shared layer after its first one own no weights (Keras counts them once).
    counts.update({name: (0, 0) for name in model.__dict__.get("shared_calls", {})})
    return counts


def keras_predict(model: keras.Model, inputs: list[np.ndarray], training: bool = False):
    """The Keras model's outputs as numpy arrays (a list when it has several)."""
    out = model(inputs[0] if len(inputs) == 1 else list(inputs), training=training)
    if isinstance(out, (list, tuple)):
        return [keras.ops.convert_to_numpy(o) for o in out]
    return keras.ops.convert_to_numpy(out)


def as_list(value) -> list:
    """Outputs (one value or a tuple/list of them) as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def assert_keras_parity(spec: dict, x, atol: float = 1e-5):
    """netspec's outputs equal Keras's for the same weights, in inference mode, on the input
    tensor `x`; returns (netspec model, Keras model)."""
    import torch

    import netspec

    valid = from_data(spec)
    kmodel = keras_model(valid)
    model = netspec.build(valid, seed=0).eval()
    copy_weights(kmodel, model)
    with torch.no_grad():
        outs = [o.numpy() for o in as_list(model(x))]
    wants = as_list(keras_predict(kmodel, [x.numpy()]))
    assert len(outs) == len(wants)
    for out, want in zip(outs, wants, strict=True):
        assert out.shape == want.shape
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=atol)
    return model, kmodel


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


def example_spec(name: str, example: dict):
    """The validated one-layer spec of one of a layer's `examples`."""
    return from_data(
        layer_spec(
            name,
            example["args"],
            example["inputs"],
            example.get("dtypes"),
            example.get("data_format"),
        )
    )


def _bidirectional(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    backward = layer.backward_layer
    return keras.layers.Bidirectional(
        keras_layer(layer.layer, graph, f"{name}_layer"),
        merge_mode=layer.merge_mode,
        backward_layer=None if backward is None else keras_layer(backward, graph, f"{name}_bwd"),
        name=name,
        trainable=layer.trainable,
    )


def _time_distributed(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    inner = keras_layer(layer.layer, graph, f"{name}_layer")
    return keras.layers.TimeDistributed(inner, name=name, trainable=layer.trainable)


def _spectral_normalization(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    inner = keras_layer(layer.layer, graph, f"{name}_layer")
    return keras.layers.SpectralNormalization(
        inner, power_iterations=layer.power_iterations, name=name, trainable=layer.trainable
    )


# Wrappers: their nested layer spec becomes the Keras layer it wraps.
ADAPTERS["Bidirectional"] = _bidirectional
ADAPTERS["TimeDistributed"] = _time_distributed
ADAPTERS["SpectralNormalization"] = _spectral_normalization


def _spatial_dropout(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    # Keras's SpatialDropout classes take no `trainable` (nor, for 1D, `data_format`).
    extra = {}
    if layer.type != "SpatialDropout1D":
        extra["data_format"] = layer.data_format or graph.data_format
    return getattr(keras.layers, layer.type)(layer.rate, seed=layer.seed, name=name, **extra)


class CallWith(keras.layers.Layer):
    """A Keras layer called with the call arguments that netspec takes as layer arguments
    (`use_causal_mask`, `return_attention_scores`), on a list of inputs (`unpack`: as
    positional arguments, as MultiHeadAttention takes them). Its weights are the inner
    layer's, in the inner layer's order."""

    def __init__(self, inner, unpack: bool, call_kwargs: dict, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner
        self.unpack = unpack
        self.call_kwargs = call_kwargs

        self.supports_masking = True

    def call(self, inputs, training=None, mask=None):
        # Keras's own masks of the inputs, passed on as the inner layer takes them.
        if self.unpack:
            masks = dict(zip(("query_mask", "value_mask", "key_mask"), mask or [], strict=False))
            return self.inner(*inputs, training=training, **masks, **self.call_kwargs)
        return self.inner(inputs, training=training, mask=mask, **self.call_kwargs)

    def compute_mask(self, inputs, mask=None):
        # The attention layers carry the query's mask on (the scores, if returned, none).
        return mask[0] if isinstance(mask, (list, tuple)) and mask else None


def _attention(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    kwargs = keras_kwargs(layer, graph)
    call = {k: kwargs.pop(k) for k in ("use_causal_mask", "return_attention_scores")}
    if "projection_shape" in kwargs:  # MultiHeadAttention's `output_shape` (a field alias)
        kwargs["output_shape"] = kwargs.pop("projection_shape")
    inner = getattr(keras.layers, layer.type)(name=f"{name}_inner", **kwargs)
    unpack = layer.type in ("MultiHeadAttention", "GroupQueryAttention")
    return CallWith(inner, unpack, call, name=name, trainable=layer.trainable)


# Keras's call arguments and constructor quirks.
for _type in ("SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D"):
    ADAPTERS[_type] = _spatial_dropout
for _type in ("Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention"):
    ADAPTERS[_type] = _attention


def _einsum_dense(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    # netspec's field is `partial_output_shape` (Keras's attribute name), written output_shape.
    kwargs = keras_kwargs(layer, graph)
    kwargs["output_shape"] = kwargs.pop("partial_output_shape")
    return keras.layers.EinsumDense(name=name, trainable=layer.trainable, **kwargs)


ADAPTERS["EinsumDense"] = _einsum_dense


def _random_crop(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    # RandomCrop at inference: Keras 3.15's call returns the input unchanged, against its own
    # output shape (height, width) and docstring ("the largest possible window in the image
    # that matches the target aspect ratio", resized); netspec does what those say, which is
    # Keras's Resizing with crop_to_aspect_ratio. Training mode: tests/test_augmentation.py.
    return keras.layers.Resizing(
        layer.height,
        layer.width,
        crop_to_aspect_ratio=True,
        data_format=layer.data_format or graph.data_format,
        name=name,
    )


ADAPTERS["RandomCrop"] = _random_crop


def _keras_cell(cell) -> Any:
    """The Keras cell of a netspec RNN cell (StackedRNNCells: its cells, recursively)."""
    if cell.type == "StackedRNNCells":
        return keras.layers.StackedRNNCells([_keras_cell(c) for c in cell.cells])
    args = {f: keras_value(getattr(cell, f)) for f in type(cell).model_fields if f != "type"}
    return getattr(keras.layers, cell.type)(**args)


def _rnn(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    # RNN's `cell` objects become Keras cells (a list stays a list: Keras stacks it itself).
    kwargs = keras_kwargs(layer, graph)
    cell = layer.cell
    kwargs["cell"] = [_keras_cell(c) for c in cell] if isinstance(cell, list) else _keras_cell(cell)
    return keras.layers.RNN(name=name, trainable=layer.trainable, **kwargs)


ADAPTERS["RNN"] = _rnn


class _Rescaling(keras.layers.Rescaling):
    """Keras's Rescaling reads the global image_data_format when called; netspec's is the
    spec's data_format, set here for the call."""

    def __init__(self, data_format: str, **kwargs):
        super().__init__(**kwargs)
        self.spec_data_format = data_format

    def call(self, inputs):
        saved = keras.config.image_data_format()
        keras.config.set_image_data_format(self.spec_data_format)
        try:
            return super().call(inputs)
        finally:
            keras.config.set_image_data_format(saved)


def _rescaling(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    kwargs = keras_kwargs(layer, graph)
    return _Rescaling(graph.data_format, name=name, trainable=layer.trainable, **kwargs)


ADAPTERS["Rescaling"] = _rescaling


def _application_layer(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    # The internal layers of keras.applications (ConvNeXt, InceptionResNetV2), not exported
    # in keras.layers.
    from keras.src.applications.convnext import LayerScale
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    cls = {"LayerScale": LayerScale, "CustomScaleLayer": CustomScaleLayer}[layer.type]
    return cls(name=name, trainable=layer.trainable, **keras_kwargs(layer, graph))


class PreprocessInput(keras.layers.Layer):
    """Keras's `keras.applications.imagenet_utils.preprocess_input` as a layer (on a copy:
    Keras's tensor path divides its input in place)."""

    def __init__(self, mode: str, data_format: str, **kwargs):
        super().__init__(**kwargs)
        self.mode, self.data_format = mode, data_format

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32") + 0.0
        return keras.applications.imagenet_utils.preprocess_input(
            x, data_format=self.data_format, mode=self.mode
        )


def _preprocess_input(layer: Layer, graph: Graph, name: str) -> keras.layers.Layer:
    return PreprocessInput(name=name, **keras_kwargs(layer, graph))


ADAPTERS["LayerScale"] = ADAPTERS["CustomScaleLayer"] = _application_layer
ADAPTERS["PreprocessInput"] = _preprocess_input
