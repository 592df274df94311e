"""Lecture §6: when one value feeds two branches that meet again, their gradients add.

A regularised loss uses the weight w twice: in the data term and in an L2 penalty,

    pred = w * x,  err = pred - y,  data = err**2,  penalty = lam * w**2,  O = data + penalty

so w reaches O along two paths, and dO/dw = dO/ddata * ddata/dw + dO/dpenalty * dpenalty/dw.
The demo multiplies the local gradients along each path, prints each path's
contribution and their sum, compares the sum with backward() and with a finite
difference, and draws the graph to out/two_paths.svg.

    python demos/two_paths.py [--w 0.75] [--x 2] [--y 3] [--lam 0.1] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu import Value, viz
from tinygrad_edu.demos.arguments import DemoParser

STEP = 1e-6  # h of the central difference (O(w + h) - O(w - h)) / 2h
TOLERANCE = 1e-6  # its error is about h² (truncation) plus 1e-16 / h (rounding)


def regularised_loss(w: Value, x: float, y: float, lam: float) -> Value:
    """O = (w*x - y)**2 + lam * w**2, every node labelled with its name."""
    pred = w * x
    err = pred - y
    data = err**2
    penalty = lam * w**2
    out = data + penalty
    for node, name in ((pred, "pred"), (err, "err"), (data, "data"), (penalty, "penalty"),
                       (out, "O")):  # O: the lecture's name for where the branches meet
        node.label = name
    penalty.inputs[0].label = "w²"  # the square inside lam * w**2
    return out


def paths(root: Value, leaf: Value) -> list[list[tuple[Value, Value, float]]]:
    """Every path from root down to leaf, as its edges (node, input, d node / d input)."""
    found = []
    stack: list[list[tuple[Value, Value, float]]] = [[]]  # paths still being extended
    while stack:
        path = stack.pop()
        node = path[-1][1] if path else root
        if node is leaf:
            found.append(path)
            continue
        for child, local in zip(node.inputs, node.local_grads):
            stack.append(path + [(node, child, local)])
    return sorted(found, key=lambda p: p[0][1].label)  # data before penalty


def num(x: float) -> str:
    """A number, short: 2, -0.5, 0.1."""
    return f"{x:.6g}"


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print each path's contribution, their sum and the two checks; return the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--w", type=float, default=0.75, help="the weight (default 0.75)")
    parser.add_argument("--x", type=float, default=2.0, help="the input (default 2)")
    parser.add_argument("--y", type=float, default=3.0, help="the target (default 3)")
    parser.add_argument("--lam", type=float, default=0.1, help="the L2 strength (default 0.1)")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the picture")
    args = parser.parse_args(argv)
    for name in ("w", "x", "y", "lam"):
        if not math.isfinite(getattr(args, name)):
            parser.error(f"--{name} must be a finite number, got {getattr(args, name)}")

    w = Value(args.w, label="w")
    out = regularised_loss(w, args.x, args.y, args.lam)
    print(f"O = (w*x - y)**2 + lam * w**2 with w = {num(args.w)}, x = {num(args.x)}, "
          f"y = {num(args.y)}, lam = {num(args.lam)}:  O = {num(out.data)}")

    print("\nThe paths from O down to w (chain rule: multiply the local gradients):")
    contributions = []
    for path in paths(out, w):
        symbols = " * ".join(f"d{node.label}/d{child.label}" for node, child, _ in path)
        factors = " * ".join(num(local) for _, _, local in path)
        product = math.prod(local for _, _, local in path)
        contributions.append(product)
        print(f"  via {path[0][1].label:8} {symbols} = {factors} = {num(product)}")
    total = sum(contributions)
    print(f"  sum of the paths: {' + '.join(num(c) for c in contributions)} = {num(total)}")
    print(f"  by hand: 2(wx - y)x + 2 lam w = {num(2 * (args.w * args.x - args.y) * args.x)} "
          f"+ {num(2 * args.lam * args.w)}")

    out.backward()
    print(f"\nbackward() gives dO/dw = {num(w.grad)}")

    def loss_at(value: float) -> float:
        return regularised_loss(Value(value), args.x, args.y, args.lam).data

    finite_difference = (loss_at(args.w + STEP) - loss_at(args.w - STEP)) / (2 * STEP)
    print(f"finite difference (O(w + h) - O(w - h)) / 2h, h = {STEP:g}: {finite_difference:.9g}")
    gap = abs(total - finite_difference)
    scale = max(1.0, abs(finite_difference))
    agrees = abs(total - w.grad) <= 1e-12 * scale and gap <= TOLERANCE * scale
    print(f"check: the sum of the paths equals backward() and is within {TOLERANCE:g} "
          f"(relative) of the finite difference (|difference| = {gap:.1e}): "
          f"{'OK' if agrees else 'MISMATCH'}")

    args.out.mkdir(parents=True, exist_ok=True)
    picture = viz.render(out, args.out / "two_paths.svg", show_local_grads=True)
    print(f"Wrote {picture}")
    return {"contributions": contributions, "sum": total, "backward": w.grad,
            "finite_difference": finite_difference, "agrees": agrees, "picture": picture}


if __name__ == "__main__":
    try:
        sys.exit(0 if main()["agrees"] else 1)
    except viz.RendererNotFound as problem:
        sys.exit(f"two_paths: cannot draw the graph: {problem}")
