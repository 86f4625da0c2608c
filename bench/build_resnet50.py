"""Build time of ResNet50 in-process, after the imports: netspec's zoo spec against a plain
PyTorch ResNet-50 of the same shape and against keras.applications.ResNet50(weights=None).

Contenders, timed in alternating rounds (medians):

  plain PyTorch        a hand-written torch ResNet-50 (the same layers, shapes and parameter
                       count; torch's default initialisation): the baseline
  netspec load+build   netspec.build(netspec.load("specs/applications/resnet50.yaml"), seed=0):
                       YAML, block expansion, pydantic, graph with shapes, Keras initialisers,
                       torch modules
  netspec load         netspec.load(...) only: validation with blocks expanded, no torch work
  keras ResNet50       keras.applications.ResNet50(weights=None) (with --keras; KERAS_BACKEND
                       torch; seconds per model, so a shorter second alternation)

    python bench/build_resnet50.py [--quick] [--keras]
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import common

SPEC = Path(__file__).resolve().parent.parent / "specs" / "applications" / "resnet50.yaml"


def torch_resnet50():
    """ResNet-50 v1 (Keras's layout: the stride on the first 1x1 conv of a block), built from
    torch.nn with torch's default initialisation."""
    from torch import nn

    def bottleneck(cin: int, filters: int, stride: int, project: bool) -> nn.Module:
        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                out = 4 * filters
                self.short = nn.Sequential(
                    nn.Conv2d(cin, out, 1, stride), nn.BatchNorm2d(out, eps=1.001e-5)
                ) if project else nn.Identity()  # fmt: skip
                self.body = nn.Sequential(
                    nn.Conv2d(cin, filters, 1, stride), nn.BatchNorm2d(filters, eps=1.001e-5),
                    nn.ReLU(), nn.Conv2d(filters, filters, 3, padding=1),
                    nn.BatchNorm2d(filters, eps=1.001e-5), nn.ReLU(),
                    nn.Conv2d(filters, out, 1), nn.BatchNorm2d(out, eps=1.001e-5),
                )  # fmt: skip

            def forward(self, x):
                return (self.short(x) + self.body(x)).relu()

        return Block()

    layers: list[nn.Module] = [
        nn.ZeroPad2d(3), nn.Conv2d(3, 64, 7, 2), nn.BatchNorm2d(64, eps=1.001e-5), nn.ReLU(),
        nn.ZeroPad2d(1), nn.MaxPool2d(3, 2),
    ]  # fmt: skip
    cin = 64
    for filters, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            layers.append(bottleneck(cin, filters, stride if i == 0 else 1, i == 0))
            cin = 4 * filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000), nn.Softmax(-1)]
    return nn.Sequential(*layers)


def main() -> None:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--keras", action="store_true", help="also time keras.applications.ResNet50")
    args = p.parse_args()
    import torch  # noqa: F401

    import netspec

    print(f"build_resnet50: {common.machine()}")
    start = time.perf_counter()
    model = netspec.build(netspec.load(SPEC), seed=0)
    print(f"first netspec load+build in the process: {time.perf_counter() - start:.2f} s")
    ours = sum(p.numel() for p in model.parameters()) + sum(b.numel() for b in model.buffers())
    plain = torch_resnet50()
    theirs = sum(p.numel() for p in plain.parameters()) + sum(
        b.numel() for n, b in plain.named_buffers() if not n.endswith("num_batches_tracked")
    )
    assert ours == theirs == 25_636_712, (ours, theirs)
    contenders = {
        "plain PyTorch": torch_resnet50,
        "netspec load+build": lambda: netspec.build(netspec.load(SPEC), seed=0),
        "netspec load": lambda: netspec.load(SPEC),
    }
    rounds = 3 if args.quick else 9
    result = common.alternate(contenders, rounds=rounds, number=1, warmup=1)
    common.report(result, "plain PyTorch", "ResNet50 (25,636,712 parameters), one build per round")
    summary = (
        f"SUMMARY build_resnet50: netspec load+build "
        f"{result.median('netspec load+build') * 1e3:.0f} ms = "
        f"{result.paired_ratio('netspec load+build', 'plain PyTorch'):.2f}x plain PyTorch "
        f"({result.median('plain PyTorch') * 1e3:.0f} ms); load alone "
        f"{result.median('netspec load') * 1e3:.0f} ms"
    )
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        def keras_resnet():
            keras.backend.clear_session()
            return keras.applications.ResNet50(weights=None)

        k = common.alternate(
            {
                "netspec load+build": contenders["netspec load+build"],
                "keras ResNet50": keras_resnet,
            },
            rounds=2 if args.quick else 5,
        )
        common.report(k, "netspec load+build", "keras.applications.ResNet50(weights=None)")
        summary += (
            f"; keras ResNet50(weights=None) {k.median('keras ResNet50'):.2f} s = "
            f"{k.paired_ratio('keras ResNet50', 'netspec load+build'):.1f}x netspec"
        )
    print(summary)


if __name__ == "__main__":
    main()
