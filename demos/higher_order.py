"""Derivatives of derivatives: the derivative of a graph is a graph too.

`grad(y, [x], create_graph=True)` builds dy/dx out of Values, over the same
leaves, from each op's derivative rule in the engine's table; differentiating
that graph again gives the second derivative. The demo
  1. builds d/dx tanh(x) and d²/dx² tanh(x) at x = 0.5, checks them against
     1 − tanh² and −2 tanh (1 − tanh²), and draws the second derivative's graph
     to out/tanh_second_derivative.svg;
  2. builds the Hessian of a logistic-regression loss (lecture §1, §3) entry by
     entry, grad of grad, and checks it against the closed form
     Xᵀ diag(p(1 − p)) X / N;
  3. runs a few steps of Newton's method (θ ← θ − H⁻¹ ∇L, with that Hessian)
     against gradient descent on the same loss.

    python demos/higher_order.py [--steps 6] [--lr 1.0] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu import Value, grad, topological_order, viz
from tinygrad_edu.data import make_blobs
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.engine import mean
from tinygrad_edu.losses import binary_cross_entropy_with_logits

TOLERANCE = 1e-12


def tanh_derivatives(out: Path) -> tuple[float, Path]:
    """Part 1: the first and second derivative of tanh at 0.5 as graphs; the largest error."""
    x = Value(0.5, label="x")
    y = x.tanh()
    y.label = "y"
    (dy,) = grad(y, [x], create_graph=True)
    dy.label = "dy/dx"
    (d2y,) = grad(dy, [x], create_graph=True)
    d2y.label = "d²y/dx²"
    t = math.tanh(0.5)
    print("1. y = tanh(x) at x = 0.5")
    print(f"   dy/dx   = {dy.data:.12f}   1 − tanh²(x)            = {1 - t * t:.12f}")
    print(f"   d²y/dx² = {d2y.data:.12f}   −2 tanh(x)(1 − tanh²(x)) = {-2 * t * (1 - t * t):.12f}")
    sizes = len(topological_order(dy)), len(topological_order(d2y))
    print(f"   dy/dx is a graph of {sizes[0]} Values, d²y/dx² one of {sizes[1]}, "
          f"all over the same leaf x")
    d2y.backward()  # so the drawing shows each node's gradient too
    picture = viz.render(d2y, out / "tanh_second_derivative.svg", show_local_grads=True)
    print(f"   wrote {picture}")
    return max(abs(dy.data - (1 - t * t)), abs(d2y.data + 2 * t * (1 - t * t))), picture


def logistic_loss(theta: Sequence[Value], X: Sequence[Sequence[float]], y: Sequence[int]
                  ) -> Value:
    """Mean BCE of σ(w1 x1 + w2 x2 + b) over the examples; theta = (w1, w2, b)."""
    w1, w2, b = theta
    return mean([binary_cross_entropy_with_logits(w1 * x1 + w2 * x2 + b, label)
                 for (x1, x2), label in zip(X, y)])


def hessian(theta: list[Value], X, y) -> tuple[list[list[float]], list[float], float]:
    """H[i][j] = ∂²L/∂θi∂θj by grad of grad; also the gradient and the loss."""
    loss = logistic_loss(theta, X, y)
    first = grad(loss, theta, create_graph=True)
    H = [[g.data for g in grad(first[i], theta)] for i in range(len(theta))]
    return H, [g.data for g in first], loss.data


def closed_form_hessian(theta: list[float], X, y) -> list[list[float]]:
    """Xᵀ diag(p(1 − p)) X / N, with a column of ones for the bias."""
    rows = [[x1, x2, 1.0] for x1, x2 in X]
    H = [[0.0] * 3 for _ in range(3)]
    for row in rows:
        z = sum(t * r for t, r in zip(theta, row))
        p = 1.0 / (1.0 + math.exp(-z))
        for i in range(3):
            for j in range(3):
                H[i][j] += p * (1.0 - p) * row[i] * row[j] / len(rows)
    return H


def solve(A: list[list[float]], b: list[float]) -> list[float]:
    """x with A x = b, by Gaussian elimination with partial pivoting (A is small)."""
    n = len(b)
    M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(M[r][col]))
        M[col], M[pivot] = M[pivot], M[col]
        for r in range(col + 1, n):
            factor = M[r][col] / M[col][col]
            M[r] = [a - factor * c for a, c in zip(M[r], M[col])]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (M[r][n] - sum(M[r][c] * x[c] for c in range(r + 1, n))) / M[r][r]
    return x


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the three parts, print their checks; return the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps (default 6)")
    parser.add_argument("--lr", type=float, default=1.0,
                        help="gradient descent's learning rate (default 1.0)")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the picture")
    args = parser.parse_args(argv)
    if args.steps < 0:
        parser.error(f"--steps must be 0 or more, got {args.steps}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"--lr must be a finite number > 0, got {args.lr}")
    args.out.mkdir(parents=True, exist_ok=True)

    tanh_error, picture = tanh_derivatives(args.out)

    # Two overlapping clouds: no line separates them, so the loss has a finite minimum.
    X, y = make_blobs(n_samples=40, centers=[[-1.0, -0.5], [1.0, 0.5]], noise=1.0, seed=3)
    start = [0.3, -0.2, 0.1]
    H, _, _ = hessian([Value(t) for t in start], X, y)
    expected = closed_form_hessian(start, X, y)
    hessian_error = max(abs(a - e) for row, erow in zip(H, expected) for a, e in zip(row, erow))
    print(f"\n2. The Hessian of the logistic-regression loss at θ = {start}, N = {len(X)}:")
    for row, erow in zip(H, expected):
        print("   grad of grad: " + "  ".join(f"{v:9.6f}" for v in row)
              + "     Xᵀ diag(p(1−p)) X / N: " + "  ".join(f"{v:9.6f}" for v in erow))
    print(f"   largest |difference| = {hessian_error:.1e}")

    print(f"\n3. Newton's method against gradient descent (lr {args.lr:g}), from θ = 0:")
    print("   step   Newton loss      gradient descent loss")
    newton, descent = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    newton_losses, descent_losses = [], []
    for step in range(args.steps + 1):
        H, g, newton_loss = hessian([Value(t) for t in newton], X, y)
        _, g_descent, descent_loss = hessian([Value(t) for t in descent], X, y)
        newton_losses.append(newton_loss)
        descent_losses.append(descent_loss)
        print(f"   {step:4d}   {newton_loss:.12f}   {descent_loss:.12f}")
        newton = [t - d for t, d in zip(newton, solve(H, g))]
        descent = [t - args.lr * d for t, d in zip(descent, g_descent)]
    newton_wins = args.steps == 0 or newton_losses[-1] <= descent_losses[-1]
    print("   Newton uses the curvature, so each of its steps is scaled to the loss's shape: "
          "it reaches the minimum in a few steps, where gradient descent is still on its way.")

    agrees = tanh_error <= TOLERANCE and hessian_error <= TOLERANCE and newton_wins
    print(f"\ncheck: second derivatives match their formulas within {TOLERANCE:g}, and Newton "
          f"ends no higher than gradient descent: {'OK' if agrees else 'MISMATCH'}")
    return {"tanh_error": tanh_error, "hessian_error": hessian_error,
            "newton_losses": newton_losses, "descent_losses": descent_losses,
            "agrees": agrees, "picture": picture}


if __name__ == "__main__":
    try:
        sys.exit(0 if main()["agrees"] else 1)
    except viz.RendererNotFound as problem:
        sys.exit(f"higher_order: cannot draw the graph: {problem}")
