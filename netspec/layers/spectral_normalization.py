"""SpectralNormalization: a wrapper that divides a layer's kernel by its spectral norm
(Miyato et al. 2018), estimated by power iteration, at every training call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..vocab.bounds import MAX_SIZE
from .base import Context, Layer, Shape, ShapeError, Weight, register_layer
from .wrappers import NestedLayer, _build_inner, _check_nested, _inner_weights, _nested_error


def kernel_name(inner: Layer, weights: list[Weight]) -> str:
    """The weight Keras normalizes: the layer's `kernel`, else its `embeddings` (Keras looks
    for these attributes; recurrent layers and wrappers keep theirs in inner layers or cells,
    and attention layers have several, so Keras finds none)."""
    names = [w.name for w in weights]
    nested = "layer" in type(inner).model_fields or "recurrent_kernel" in names
    for name in ("kernel", "embeddings"):
        if names.count(name) == 1 and not nested:
            return name
    raise ShapeError(
        f"SpectralNormalization wraps a layer with one kernel (Dense, EinsumDense, Conv*, "
        f"DepthwiseConv*) or an Embedding; {inner.type} has no kernel Keras can normalize",
        ("layer", "type"),
    )


@register_layer
class SpectralNormalization(Layer):
    """Spectral normalization of a layer's kernel (Keras's `SpectralNormalization`): at every
    call in training mode, `power_iterations` steps of power iteration on the kernel (in Keras
    layout, reshaped to (-1, its last axis)) update the non-trainable vector `vector_u`
    (shape (1, last axis), TruncatedNormal(stddev=0.02)) and give the kernel's largest singular
    value sigma; the kernel itself is then replaced by kernel / sigma (an all-zero kernel is
    left alone), and the wrapped layer runs with it. As in Keras the replacement is not
    differentiated (gradients are those of the normalized kernel, which the optimizer then
    updates), and inference uses the kernel as the last training call left it. Weights in
    Keras's order: the kernel, vector_u, then the layer's others. One difference: Keras 3.15
    casts the output to the input's dtype, so integer inputs (an Embedding's indices) give
    truncated integer outputs; netspec's output is float32 for every input."""

    model_config = ConfigDict(defer_build=True)

    type: Literal["SpectralNormalization"] = "SpectralNormalization"
    layer: NestedLayer = Field(
        ...,
        description="The layer whose kernel is normalized: one with a `kernel` (Dense, "
        "EinsumDense, Conv1D-3D and their Transpose, DepthwiseConv1D/2D, LocallyConnected) or "
        "an Embedding (its `embeddings`).",
    )
    power_iterations: int = Field(
        1,
        gt=0,
        le=MAX_SIZE,
        description="Power iteration steps per training call (to estimate the spectral norm).",
    )

    examples = (
        {"args": {"layer": {"type": "Dense", "units": 3}}, "inputs": [[4]]},
        {
            "args": {"layer": {"type": "Conv2D", "filters": 2, "kernel_size": 3}},
            "inputs": [[5, 5, 2]],
        },
        {
            "args": {
                "layer": {"type": "Dense", "units": 2, "use_bias": False, "activation": "tanh"},
                "power_iterations": 3,
            },
            "inputs": [[None, 5]],
        },
        {
            "args": {"layer": {"type": "Conv1DTranspose", "filters": 2, "kernel_size": 3}},
            "inputs": [[6, 3]],
        },
        {"args": {"layer": {"type": "DepthwiseConv2D", "kernel_size": 2}}, "inputs": [[4, 4, 3]]},
        {
            "args": {"layer": {"type": "Embedding", "input_dim": 6, "output_dim": 3}},
            "inputs": [[4]],
            "dtypes": ["int64"],
            "keras_parity": False,  # Keras casts the output to int64; tests/test_new_attention.py
        },
    )

    def _check(self) -> None:
        inner = self.layer
        _check_nested(inner, "layer")
        if inner.arity[0] > 1:
            raise ShapeError(f"{inner.type} takes several inputs: it cannot be wrapped", "layer")
        if inner.produces_mask():
            raise ShapeError(
                f"the mask {inner.type} would make inside SpectralNormalization is not carried "
                "(Keras drops it too): make the mask outside the wrapper",
                "layer",
            )

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        self._check()
        inner = self.layer
        try:
            out = inner.output_shape(shapes, ctx)
        except ShapeError as exc:
            raise _nested_error(exc, "layer", inner) from None
        if isinstance(out, list):
            raise ShapeError(
                f"{inner.type} here has {len(out)} outputs; SpectralNormalization takes a layer "
                "with one",
                "layer",
            )
        return out

    def weights(self, shapes: list[Shape], ctx: Context) -> list[Weight]:
        from ..vocab import INITIALIZERS

        weights = _inner_weights(self.layer, shapes, ctx, "layer")
        name = kernel_name(self.layer, weights)
        at = next(i for i, w in enumerate(weights) if w.name == name)
        init = INITIALIZERS.get("TruncatedNormal").model_validate({"stddev": 0.02})
        vector_u = Weight("vector_u", (1, weights[at].shape[-1]), init, trainable=False)
        # Keras's order: the kernel (tracked first, as the wrapper's own attribute), vector_u,
        # then the wrapped layer's other weights.
        return [*weights[: at + 1], vector_u, *weights[at + 1 :]]

    def temporary_elements(self, shapes: list[Shape], ctx: Context) -> int:
        return self.layer.temporary_elements(shapes, ctx)

    def activity_regularizer_spec(self) -> Any:
        return self.layer.activity_regularizer_spec()

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.spectral_normalization import SpectralNormalizationModule

        weights = self.graph_weights(shapes, ctx)
        name = kernel_name(self.layer, weights)
        vector_u = next(w for w in weights if w.name == "vector_u")
        inner = _build_inner(self.layer, shapes, ctx)
        return SpectralNormalizationModule(inner, name, vector_u, self.power_iterations, ctx)
