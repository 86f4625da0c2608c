"""The keras.ops classes netspec import knows, and what each becomes (netspec.keras_import.ops
reads these tables)."""

from __future__ import annotations

MERGES = {
    "Add": "Add",
    "Subtract": "Subtract",
    "Multiply": "Multiply",
    "Maximum": "Maximum",
    "Minimum": "Minimum",
}
OPERATORS = {
    "Add": "+",
    "Subtract": "-",
    "Multiply": "*",
    "TrueDivide": "/",
    "Divide": "/",
    "FloorDivide": "//",
    "Mod": "%",
    "Power": "**",
}
BINARY_FUNCTIONS = {"Maximum": "maximum", "Minimum": "minimum"}
# Elementwise ops as the Lambda language's functions (same math in Keras and torch).
UNARY = {
    "Absolute": "abs",
    "Exp": "exp",
    "Expm1": "expm1",
    "Log": "log",
    "Log1p": "log1p",
    "Log2": "log2",
    "Log10": "log10",
    "Sqrt": "sqrt",
    "Rsqrt": "rsqrt",
    "Square": "square",
    "Reciprocal": "reciprocal",
    "Negative": "negative",
    "Sin": "sin",
    "Cos": "cos",
    "Tan": "tan",
    "Arcsin": "arcsin",
    "Arccos": "arccos",
    "Arctan": "arctan",
    "Sinh": "sinh",
    "Cosh": "cosh",
    "Arcsinh": "arcsinh",
    "Arctanh": "arctanh",
    "Sign": "sign",
    "Floor": "floor",
    "Ceil": "ceil",
    "Erf": "erf",
    "Round": "round",  # with decimals=0 only (checked)
}
# keras.ops activations -> Keras's activation of the same function (keras.activations calls
# these very ops); the op's config keys are the activation's arguments.
ACTIVATION_OPS = {
    "Relu": "relu",
    "Relu6": "relu6",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
    "Gelu": "gelu",
    "Silu": "silu",
    "HardSigmoid": "hard_sigmoid",
    "HardSilu": "hard_silu",
    "LeakyRelu": "leaky_relu",
    "Elu": "elu",
    "Selu": "selu",
    "Celu": "celu",
    "Glu": "glu",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "LogSigmoid": "log_sigmoid",
    "HardTanh": "hard_tanh",
    "SoftShrink": "soft_shrink",
    "HardShrink": "hard_shrink",
    "TanhShrink": "tanh_shrink",
    "Squareplus": "squareplus",
    "SparsePlus": "sparse_plus",
    "SparseSigmoid": "sparse_sigmoid",
    "Sparsemax": "sparsemax",
    "Threshold": "threshold",
}
REDUCE = {
    "Mean": "mean",
    "Sum": "sum",
    "Max": "max",
    "Min": "min",
    "Prod": "prod",
    "Std": "std",
    "Var": "var",
    "Logsumexp": "logsumexp",
}
# Config entries a reduction may carry only at these values (no Lambda argument for them).
REDUCE_FIXED = {"initial": None, "dtype": None}
OTHERS = (
    *("GetItem", "Concatenate", "Matmul", "ExpandDims", "Squeeze", "Reshape", "Transpose"),
    *("Swapaxes", "Moveaxis", "Cast", "Clip"),
)
KNOWN = {*OPERATORS, *BINARY_FUNCTIONS, *UNARY, *ACTIVATION_OPS, *REDUCE, *OTHERS}
