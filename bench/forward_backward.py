"""Forward and training-step time of a netspec-built module vs the same network hand-written.

Two networks: (a) an MLP 784-512-512-10 (relu), batch 256, where the matmuls dominate; (b) a deep
narrow MLP, 20 Dense(128) (relu), batch 64, where per-layer Python overhead dominates. The
hand-written module gets netspec's weights copied in, and its outputs and gradients are checked
equal before anything is timed. An `nn.Sequential` of the same layers is timed as well, for
reference.

Measured, per contender: `forward` (under torch.no_grad) and `step` (zero_grad(set_to_none),
forward, MSE loss, loss.backward(); no optimizer). Goal: netspec/handwritten <= 1.03.

    python bench/forward_backward.py [--quick]
"""

from __future__ import annotations

import common
import torch
import torch.nn.functional as F
from torch import nn

import netspec

GOAL = 1.03


class HandMLP(nn.Module):
    """784-512-512-10, written as one would by hand."""

    def __init__(self, sizes: list[int]):
        super().__init__()
        self.fc1 = nn.Linear(sizes[0], sizes[1])
        self.fc2 = nn.Linear(sizes[1], sizes[2])
        self.fc3 = nn.Linear(sizes[2], sizes[3])

    def linears(self) -> list[nn.Linear]:
        return [self.fc1, self.fc2, self.fc3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class HandDeep(nn.Module):
    """A stack of Linear layers, relu between them, last one linear."""

    def __init__(self, sizes: list[int]):
        super().__init__()
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False))

    def linears(self) -> list[nn.Linear]:
        return list(self.fcs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.fcs) - 1
        for i, fc in enumerate(self.fcs):
            x = fc(x)
            if i != last:
                x = torch.relu(x)
        return x


def sequential(linears: list[nn.Linear]) -> nn.Sequential:
    parts: list[nn.Module] = []
    for i, fc in enumerate(linears):
        parts.append(fc)
        if i != len(linears) - 1:
            parts.append(nn.ReLU())
    return nn.Sequential(*parts)


def copy_weights(model: nn.Module, linears: list[nn.Linear]) -> None:
    """netspec Dense kernels are (units, in), as nn.Linear.weight: a plain copy."""
    dense = list(model.layers.values())
    assert len(dense) == len(linears)
    with torch.no_grad():
        for d, fc in zip(dense, linears, strict=True):
            fc.weight.copy_(d.kernel)
            fc.bias.copy_(d.bias)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor):
    def step() -> None:
        model.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        _sync(x.device)

    return step


def forward_fn(model: nn.Module, x: torch.Tensor):
    def forward() -> None:
        with torch.no_grad():
            model(x)
        _sync(x.device)

    return forward


def check_equal(models: dict[str, nn.Module], x: torch.Tensor, y: torch.Tensor) -> None:
    """Same outputs, same loss gradients (bit for bit: same ops on the same weights)."""
    outs = {name: m(x) for name, m in models.items()}
    ref_name, ref = next(iter(outs.items()))
    # Bit for bit on the CPU; on a GPU, cuBLAS may pick other kernels per call.
    same = (
        torch.equal
        if x.device.type == "cpu"
        else (lambda a, b: torch.allclose(a, b, rtol=1e-4, atol=1e-5))
    )
    for name, out in outs.items():
        assert same(out, ref), f"{name} output differs from {ref_name}"
    grads = {}
    for name, m in models.items():
        m.zero_grad(set_to_none=True)
        F.mse_loss(m(x), y).backward()
        grads[name] = [p.grad.clone() for p in m.parameters()]
    for name, g in grads.items():
        assert len(g) == len(grads[ref_name])
        for a, b in zip(g, grads[ref_name], strict=True):
            assert same(a, b), f"{name} gradients differ from {ref_name}"


def bench_case(
    label: str,
    sizes: list[int],
    hand_cls: type,
    batch: int,
    rounds: int,
    number: int,
    device: torch.device,
) -> dict[str, float]:
    spec = netspec.loads(common.dense_spec(sizes[0], sizes[1:], last_activation=None))
    ns = netspec.build(spec, seed=0)
    hand = hand_cls(sizes)
    copy_weights(ns, hand.linears())
    seq = sequential([fc for fc in hand_cls(sizes).linears()])
    copy_weights(ns, [m for m in seq if isinstance(m, nn.Linear)])

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(batch, sizes[0], generator=gen)
    y = torch.randn(batch, sizes[-1], generator=gen)
    models = {"handwritten": hand, "netspec": ns, "nn.Sequential": seq}
    models = {name: m.to(device) for name, m in models.items()}
    x, y = x.to(device), y.to(device)
    check_equal(models, x, y)
    print(f"\n== {label}: outputs and gradients equal (netspec, handwritten, nn.Sequential)")

    ratios = {}
    for kind, make in (("forward", forward_fn), ("step", step_fn)):
        fns = {
            name: (make(m, x) if kind == "forward" else make(m, x, y)) for name, m in models.items()
        }
        n = number * 3 if kind == "forward" else number
        result = common.alternate(fns, rounds=rounds, number=n, warmup=max(5, n))
        common.report(result, "handwritten", f"{label} -- {kind} ({n} calls per round)")
        ratios[kind] = result.paired_ratio("netspec", "handwritten")
    return ratios


def main() -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (synchronized per call)")
    args = parser.parse_args()
    device = torch.device(args.device)
    rounds = 8 if args.quick else 40
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"forward_backward: {common.machine()}, device {where}; rounds={rounds}"
        f"{' (quick)' if args.quick else ''}"
    )

    mlp = bench_case(
        "MLP 784-512-512-10 relu, batch 256",
        [784, 512, 512, 10],
        HandMLP,
        batch=256,
        rounds=rounds,
        number=2 if args.quick else 5,
        device=device,
    )
    deep = bench_case(
        "deep MLP 20 x Dense(128) relu, batch 64",
        [128] * 21,
        HandDeep,
        batch=64,
        rounds=rounds,
        number=20 if args.quick else 50,
        device=device,
    )

    worst = max(*mlp.values(), *deep.values())
    print(
        f"\nnetspec/handwritten (goal <= {GOAL}): "
        f"MLP forward {mlp['forward']:.3f}, step {mlp['step']:.3f}; "
        f"deep forward {deep['forward']:.3f}, step {deep['step']:.3f} -> "
        f"{common.goal(worst, GOAL)}"
    )
    print(
        f"SUMMARY forward_backward: netspec/handwritten time, {common.machine()}: "
        f"MLP 784-512-512-10 b256 forward {mlp['forward']:.2f}x, train step "
        f"{mlp['step']:.2f}x; 20xDense(128) b64 forward {deep['forward']:.2f}x, train step "
        f"{deep['step']:.2f}x (goal <= {GOAL}: {common.goal(worst, GOAL)})"
    )


if __name__ == "__main__":
    main()
