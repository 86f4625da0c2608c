"""Compiling a validated spec into a torch module (torch is imported here, on call)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BudgetError, NetspecError
from .graph import Graph, layer_refs
from .layers.base import Context
from .loader import ValidSpec, from_data, load

if TYPE_CHECKING:
    import torch

    from .torch.model import NetspecModel

# What `build` takes: a ValidSpec, spec data (a dict as YAML would give) or a spec file's path.
SpecSource = ValidSpec | dict[str, Any] | str | os.PathLike[str]

DTYPE_BYTES = 4  # weights are float32
DEFAULT_BUDGET_SHARE = 0.5  # of physical memory
# To train, the activations of a batch are kept for the backward pass, which makes a gradient
# of the same size for each (x2); each parameter has its gradient and the optimizer's state,
# two moments for Adam, the default (x4). An estimate: a layer's temporaries are not counted.
TRAIN_ACTIVATIONS = 2
TRAIN_PARAMS = 4


def memory_budget() -> int:
    """Default memory budget (a model's parameters and activations, the data read into
    memory): half of this machine's physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return int(total * DEFAULT_BUDGET_SHARE)


def param_counts(graph: Graph) -> dict[str, tuple[int, int]]:
    """Per layer (trainable, non-trainable) parameter counts, as Keras counts them."""
    counts: dict[str, tuple[int, int]] = {}
    for node in graph.nodes:
        trainable = frozen = 0
        if node.layer is not None:
            for w in node.weights:
                if w.trainable and node.layer.trainable:
                    trainable += w.size
                else:
                    frozen += w.size
        counts[node.name] = (trainable, frozen)
    return counts


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def activation_elements(graph: Graph) -> tuple[int, bool]:
    """Elements of one sample's activations: the model inputs and every layer's output(s)
    (a Keras-style static estimate) and the temporaries a layer declares (padded copies of
    its input; others, such as attention scores, are not counted). A variable (None)
    dimension is counted as 1; the flag says whether there was one."""
    shapes = [i.shape for i in graph.inputs]
    temporaries = 0
    for node in graph.nodes:
        if node.output is not None:
            shapes += node.output if isinstance(node.output, list) else [node.output]
        if node.layer is not None and node.input_shapes is not None:
            ctx = Context(graph.data_format, list(node.input_dtypes))
            temporaries += node.layer.temporary_elements(list(node.input_shapes), ctx)
    variable = any(d is None for shape in shapes for d in shape)
    return sum(math.prod(d or 1 for d in shape) for shape in shapes) + temporaries, variable


def memory_need(graph: Graph, batch_size: int = 1, training: bool = False) -> tuple[int, int, int]:
    """(total, activations, parameters) bytes for one batch of `batch_size`: float32 values;
    to train, activations x TRAIN_ACTIVATIONS and parameters x TRAIN_PARAMS."""
    params = sum(t + f for t, f in param_counts(graph).values()) * DTYPE_BYTES
    elements, _ = activation_elements(graph)
    activations = elements * batch_size * DTYPE_BYTES
    if training:
        params, activations = params * TRAIN_PARAMS, activations * TRAIN_ACTIVATIONS
    return params + activations, activations, params


def check_budget(
    graph: Graph, max_bytes: int | None = None, batch_size: int = 1, training: bool = False
) -> int:
    """Raise BudgetError when one batch (parameters and activations, see memory_need) would not
    fit `max_bytes` (default: the budget); the bytes needed otherwise."""
    need, activations, params = memory_need(graph, batch_size, training)
    budget = memory_budget() if max_bytes is None else max_bytes
    if need > budget:
        variable = activation_elements(graph)[1]
        raise BudgetError(
            f"model '{graph.name}' needs about {human_bytes(need)} for one batch of "
            f"{batch_size} (activations {human_bytes(activations)}, parameters "
            f"{human_bytes(params)}{'; variable dimensions counted as 1' if variable else ''}), "
            f"over the memory budget of {human_bytes(budget)}; raise it with --max-memory"
            + (" or lower train.batch_size" if training else " (build(max_memory=...))")
        )
    return need


def as_valid(spec_or_path: SpecSource) -> ValidSpec:
    """A ValidSpec from a ValidSpec, a dict (validated as YAML data) or a path."""
    if isinstance(spec_or_path, ValidSpec):
        return spec_or_path
    if isinstance(spec_or_path, dict):
        return from_data(spec_or_path)
    return load(Path(spec_or_path))


def build(
    spec_or_path: SpecSource,
    device: str | torch.device | None = None,
    seed: int | None = None,
    max_memory: int | None = None,
    declared_weights: bool = True,
) -> NetspecModel:
    """Build the torch module of a spec (a ValidSpec from `netspec.load`, a path, or a dict).

    The same `seed` gives the same initial weights; `device` is a torch device or 'auto'
    (CUDA when available). The parameter memory is checked against a budget before anything
    is allocated. The weights the spec declares (`weights:`, its nested models') are loaded
    unless `declared_weights` is false (a caller that loads other weights right after).
    """
    valid = as_valid(spec_or_path)
    graph = valid.graph
    check_budget(graph, max_memory)
    target = resolve_device(device) if device is not None else None

    import torch

    from .torch.model import NetspecModel

    generator = torch.Generator()
    generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, ()).item()))
    modules: dict[str, torch.nn.Module] = {}
    activity: dict[str, object] = {}  # the activity regularizers, by layer name
    # Entries that use other entries' modules (Shared) come after all the others, so the
    # weights a seed gives do not depend on them.
    later = [n for n in graph.nodes if layer_refs(n.layer)]
    for node in [n for n in graph.nodes if not layer_refs(n.layer)] + later:
        ctx = Context(
            graph.data_format,
            list(node.input_dtypes),
            generator=generator,
            modules=modules,
            weights=list(node.weights),
        )
        # a ValidSpec's graph has every layer and every input shape resolved
        assert node.layer is not None and node.input_shapes is not None
        module = node.layer.build(list(node.input_shapes), ctx)
        if not node.layer.trainable:
            module.requires_grad_(False)
        modules[node.name] = module
        if (regularizer := node.layer.activity_regularizer_spec()) is not None:
            activity[node.name] = regularizer
    model = NetspecModel(graph, modules, activity)
    if declared_weights:
        from .torch.declared import load_declared

        load_declared(model, valid)
    return model.to(target) if target is not None else model


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto' -> cuda when available else cpu; anything else as torch.device, checked."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise NetspecError(f"invalid device '{device}': {exc}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NetspecError(f"device '{device}' requested but CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise NetspecError(
                f"device '{device}' does not exist ({torch.cuda.device_count()} CUDA device(s))"
            )
    return dev


_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_size(text: str) -> int:
    """'64GiB', '500MB', '2g', '1048576' -> bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise NetspecError(f"invalid size '{text}' (examples: 64GiB, 500MB, 1048576)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
