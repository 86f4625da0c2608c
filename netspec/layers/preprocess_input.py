"""PreprocessInput: Keras's `keras.applications.<family>.preprocess_input` as a layer (the
ImageNet preprocessing of `keras.applications.imagenet_utils.preprocess_input`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Context, DataFormat, Layer, Shape, ShapeError, fmt_shape, register_layer
from .spatial import DATA_FORMAT_DESCRIPTION

# keras.applications.imagenet_utils: the ImageNet means (caffe: of BGR pixels in [0, 255];
# torch: of RGB values in [0, 1]) and standard deviations.
CAFFE_MEAN = (103.939, 116.779, 123.68)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


@register_layer
class PreprocessInput(Layer):
    """Keras's ImageNet `preprocess_input(x, data_format, mode)` of its applications, as a
    layer, on images of RGB values in [0, 255]: `mode` caffe reverses the channels (RGB to
    BGR) and subtracts the ImageNet means (103.939, 116.779, 123.68), without scaling; torch
    divides by 255, subtracts (0.485, 0.456, 0.406) and divides by (0.229, 0.224, 0.225) per
    channel; tf scales to [-1, 1] (`x / 127.5 - 1`). caffe and torch need 3 channels (on the
    last axis, or axis 1 of a rank-4 channels_first input); tf takes any shape. Output float32
    (integer images are cast first).

    Each `keras.applications` family's `preprocess_input` is one mode: caffe: resnet
    (ResNet50/101/152), vgg16, vgg19; tf: resnet_v2, mobilenet, mobilenet_v2, inception_v3,
    inception_resnet_v2, xception, nasnet; torch: densenet. efficientnet, efficientnet_v2,
    convnext and mobilenet_v3 preprocess inside the model (their `preprocess_input` is the
    identity): no layer needed."""

    type: Literal["PreprocessInput"] = "PreprocessInput"
    mode: Literal["caffe", "tf", "torch"] = Field(
        "caffe",
        description="caffe: RGB to BGR, minus the ImageNet means (resnet, vgg16, vgg19); tf: "
        "to [-1, 1] (resnet_v2, mobilenet, mobilenet_v2, inception_v3, xception, ...); torch: "
        "to [0, 1], then the ImageNet mean and std per channel (densenet).",
    )
    data_format: DataFormat | None = Field(None, description=DATA_FORMAT_DESCRIPTION)

    examples = (
        {"args": {}, "inputs": [[4, 5, 3]]},
        {"args": {"mode": "tf"}, "inputs": [[4, 4, 3]]},
        {"args": {"mode": "torch"}, "inputs": [[None, None, 3]]},
        {"args": {"mode": "caffe"}, "inputs": [[3, 4, 5]], "data_format": "channels_first"},
        {"args": {"mode": "torch", "data_format": "channels_first"}, "inputs": [[3, 2, 2]]},
        {"args": {"mode": "tf"}, "inputs": [[6]]},
        {"args": {"mode": "caffe"}, "inputs": [[2, 3]], "dtypes": ["uint8"]},
    )

    def channels_first(self, ctx: Context) -> bool:
        return (self.data_format or ctx.data_format) == "channels_first"

    def output_shape(self, shapes: list[Shape], ctx: Context) -> Shape:
        shape = shapes[0]
        if self.mode == "tf":
            return shape
        if self.channels_first(ctx):
            if len(shape) != 3:
                raise ShapeError(
                    f"mode {self.mode} with channels_first expects images of rank 4 (batch "
                    f"axis included), got shape {fmt_shape(shape)}"
                )
            channels = shape[0]
        else:
            if not shape:
                raise ShapeError(f"expects a channels axis, got shape {fmt_shape(shape)}")
            channels = shape[-1]
        if channels != 3:
            where = "axis 1" if self.channels_first(ctx) else "the last axis"
            raise ShapeError(
                f"mode {self.mode} expects 3 (RGB) channels on {where}, got shape "
                f"{fmt_shape(shape)}",
                "mode",
            )
        return shape

    def build(self, shapes: list[Shape], ctx: Context):
        from ..torch.preprocess_input import PreprocessInputModule

        return PreprocessInputModule(self.mode, self.channels_first(ctx))
