"""The compiled model: a plain nn.Module that runs the spec's graph.

Each spec layer is a submodule under its spec name (`model.layers["dense_1"]`), so state_dict
keys are stable and readable. `forward` walks a precomputed plan (one tuple per layer, and one
per permute where a value enters or leaves a channels_last conv stack: layout.py), so its
overhead is that of a hand-written module's `forward` calling its submodules in turn.
"""

from __future__ import annotations

import torch
from torch import nn

from .layout import layout_plan
from .weights import KerasWeight


class NetspecModel(nn.Module):
    """A model compiled from a netspec spec."""

    def __init__(self, graph, modules: dict[str, nn.Module], activity: dict[str, object]):
        super().__init__()
        self.spec_name = graph.name
        self.input_names = [i.name for i in graph.inputs]
        self.output_names = [str(r) for r in graph.outputs]
        self.layers = nn.ModuleDict({n.name: modules[n.name] for n in graph.nodes})
        slot = {name: i for i, name in enumerate(self.input_names)}
        plan = []
        for k, index in enumerate(graph.order):
            node = graph.nodes[index]
            args = tuple((slot[r.node], r.index) for r in node.inputs)
            plan.append((self.layers[node.name], args, activity.get(node.name)))
            slot[node.name] = len(self.input_names) + k
        self._outputs = tuple((slot[r.node], r.index) for r in graph.outputs)
        # Masks (docs/spec-format.md, "Masks"): per plan step, the slot of the mask its module
        # takes as `mask=` and whether it makes one. None when no layer uses a mask: then
        # forward does no mask work at all.
        self._mask_plan = _mask_plan(graph, slot)
        if self._mask_plan is None:  # channels_last conv stacks pass channels-first views
            plan, self._outputs = layout_plan(graph, self.layers, activity, len(self.input_names))
        self._plan = plan
        self._single_output = len(self._outputs) == 1
        # A plain chain (one input, each step fed by the one before, the last one returned, no
        # activity penalties) runs as `for m in chain: x = m(x)`, as a hand-written module does.
        chained = all(refs == ((k, None),) for k, (_, refs, _) in enumerate(plan))
        plain = chained and not activity and self._outputs == ((len(plan), None),)
        self._chain = tuple(m for m, _, _ in plan) if plain and len(self.input_names) == 1 else None
        # Inputs declared float16, bfloat16 or float64 become float32 before the first layer,
        # as Keras's layers autocast floating inputs to their float32 compute dtype.
        self._cast = tuple(
            i
            for i, inp in enumerate(graph.inputs)
            if inp.dtype in ("float16", "bfloat16", "float64")
        )
        if self._mask_plan is not None or self._cast:
            self._chain = None
        self._activity: list[torch.Tensor] = []
        self._keras_weights = [
            (param, info)
            for module in self.layers.values()
            for sub in module.modules()
            for name, info in getattr(sub, "keras_weights", {}).items()
            if (param := getattr(sub, name)) is not None
        ]

    def _bind(self, args: tuple, kwargs: dict) -> list:
        if len(args) > len(self.input_names):
            raise TypeError(f"forward takes {len(self.input_names)} inputs, got {len(args)}")
        values = list(args)
        for name in self.input_names[len(args) :]:
            if name not in kwargs:
                raise TypeError(f"forward is missing input '{name}'")
            values.append(kwargs.pop(name))
        if kwargs:
            raise TypeError(f"unknown input(s) {sorted(kwargs)}; inputs: {self.input_names}")
        return values

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor):
        if self._chain is not None and len(args) == 1 and not kwargs:
            x = args[0]
            for module in self._chain:
                x = module(x)
            return x
        if kwargs or len(args) != len(self.input_names):
            values = self._bind(args, kwargs)
        else:
            values = list(args)
        for i in self._cast:
            values[i] = values[i].float()
        if self._mask_plan is not None:
            return self._forward_masked(values)
        activity = self._activity = []
        for module, refs, regularizer in self._plan:
            inputs = [values[s] if k is None else values[s][k] for s, k in refs]
            out = module(*inputs)
            if regularizer is not None:
                activity.append(_activity_penalty(regularizer, out))
            values.append(out)
        outs = tuple(values[s] if k is None else values[s][k] for s, k in self._outputs)
        return outs[0] if self._single_output else outs

    def _forward_masked(self, values: list):
        """forward with masks: mask makers compute theirs, mask users receive them."""
        activity = self._activity = []
        masks: dict[int, torch.Tensor] = {}
        for (module, refs, regularizer), (mask_in, makes) in zip(
            self._plan, self._mask_plan, strict=True
        ):
            inputs = [values[s] if k is None else values[s][k] for s, k in refs]
            if mask_in is None:
                out = module(*inputs)
            elif isinstance(mask_in, tuple):
                out = module(*inputs, mask=[None if s is None else masks[s] for s in mask_in])
            else:
                out = module(*inputs, mask=masks[mask_in])
            if makes is True:
                masks[len(values)] = module.compute_mask(*inputs)
            elif makes:
                each = [None if s is None else masks[s] for s in makes]
                masks[len(values)] = module.compute_mask(*inputs, mask=each)
            if regularizer is not None:
                activity.append(_activity_penalty(regularizer, out))
            values.append(out)
        outs = tuple(values[s] if k is None else values[s][k] for s, k in self._outputs)
        return outs[0] if self._single_output else outs

    def __getstate__(self) -> dict:
        # The latest forward's penalties belong to that forward's autograd graph, which
        # copy.deepcopy and pickle cannot copy: a copy starts without them.
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__
        return {**state, "_activity": []}

    def activity_loss(self) -> torch.Tensor:
        """Activity penalties of the latest forward (each divided by its batch size, as Keras)."""
        if not self._activity:
            return torch.zeros((), device=self._device())
        return torch.stack(self._activity).sum()

    def regularization_loss(self) -> torch.Tensor:
        """Weight penalties (kernel_ and bias_regularizer), on the Keras-layout weights."""
        terms = [
            info.weight.regularizer.penalty(info.keras_view(p))
            for p, info in self._keras_weights
            if info.weight.regularizer is not None
        ]
        return torch.stack(terms).sum() if terms else torch.zeros((), device=self._device())

    @property
    def has_losses(self) -> bool:
        """Whether `losses()` can be non-zero: a trainer skips it (three ops a step) if not."""
        return any(reg is not None for _, _, reg in self._plan) or any(
            info.weight.regularizer is not None for _, info in self._keras_weights
        )

    @property
    def has_constraints(self) -> bool:
        """Whether `apply_constraints()` has anything to project."""
        return any(info.weight.constraint is not None for _, info in self._keras_weights)

    def losses(self) -> torch.Tensor:
        """All penalties Keras adds to the loss: weight penalties plus the latest activity ones."""
        return self.regularization_loss() + self.activity_loss()

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Project constrained weights, as Keras does after every optimizer step; Keras's
        optimizer constrains only the variables it trains, so frozen weights are left alone."""
        for param, info in self._keras_weights:
            constraint = info.weight.constraint
            if constraint is not None and param.requires_grad:
                param.copy_(info.from_keras(constraint.project(info.keras_view(param))))

    def keras_weights(self) -> list[tuple[str, nn.Parameter, KerasWeight]]:
        """(state_dict key, parameter, Keras weight info) for every Keras weight."""
        names = {id(p): n for n, p in self.named_parameters()}
        return [(names.get(id(p), "?"), p, info) for p, info in self._keras_weights]

    def _device(self) -> torch.device:
        return next((p.device for p in self.parameters()), torch.device("cpu"))


def _mask_plan(graph, slot: dict[str, int]) -> list[tuple] | None:
    """Per plan step, (the mask its module takes as `mask=`: None, a slot, or a tuple of slots
    (None: no mask) for the layers that take each input's mask; how the step makes a mask:
    False, True (`compute_mask(*inputs)`), or a tuple of slots (`compute_mask(*inputs,
    mask=[...])`: merges)), or None when no layer takes a mask."""
    takes: dict[str, str | list[str | None]] = {}  # consumer -> the mask(s) it takes
    for node in graph.nodes:
        if node.layer is not None and node.layer.consumes_mask:
            masks = node.input_masks  # as they were when it ran (see clears_input_masks)
            if any(masks):
                takes[node.name] = masks if node.layer.mask_inputs else next(m for m in masks if m)
    if not takes:
        return None
    makes: dict[str, bool | list[str | None]] = {}
    stack = [m for t in takes.values() for m in ([t] if isinstance(t, str) else t) if m]
    while stack:
        name = stack.pop()
        node = graph.node(name)
        if name in makes or node is None:
            continue
        makes[name] = True
        if node.layer is not None and node.layer.mask_inputs:  # a merge: its inputs' masks
            makes[name] = list(node.input_masks)
            stack += [m for m in makes[name] if m]

    def slots(masks: str | bool | list[str | None] | None):
        if isinstance(masks, list):
            return tuple(None if m is None else slot[m] for m in masks)
        return slot[masks] if isinstance(masks, str) else masks

    names = [graph.nodes[i].name for i in graph.order]
    return [(slots(takes.get(n)), slots(makes.get(n, False))) for n in names]


def _activity_penalty(regularizer, out) -> torch.Tensor:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = None
    for o in outs:
        # keras.layers.Layer.__call__: the penalty is divided by the batch size.
        p = regularizer.penalty(o) / max(o.shape[0], 1)
        total = p if total is None else total + p
    return total
