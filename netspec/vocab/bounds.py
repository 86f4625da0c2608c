"""Bounds of spec numbers, so that what validates also runs in torch (and the JSON Schema says
them): floats that become float32 tensors or scalars, sizes, and seeds.

Sizes (units, filters, kernel sizes, strides, pool sizes, shape dimensions, repeat counts,
paddings, ...) are at most `MAX_SIZE` = 2^31 - 1 each: torch indexes with int64, but several of
its kernels (and cuDNN) take one dimension as a 32-bit int, and no real model comes near it.
A whole shape (the product of its dimensions) is at most `MAX_ELEMENTS` = 2^63 - 1, torch's
element count (checked on the graph, `netspec.graph`). Seeds are what `torch.manual_seed`
takes: [0, 2^64).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max
MAX_SIZE = 2**31 - 1
MAX_ELEMENTS = 2**63 - 1
SEED_END = 2**64

# A float that torch stores as float32: finite there (the JSON Schema shows the bounds; NaN
# and infinities fail them too).
Float32 = Annotated[float, Field(ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
Size = Annotated[int, Field(gt=0, le=MAX_SIZE)]  # a positive size of one dimension
Count = Annotated[int, Field(ge=0, le=MAX_SIZE)]  # a size that may be 0 (paddings, croppings)
Seed = Annotated[int, Field(ge=0, lt=SEED_END)]
