"""Lecture §1 and §3: logistic regression is a one-unit network, and backprop finds its gradient.

The unit is y = σ(w·x + b) with two input features (an nn.Neuron with a sigmoid),
the loss the binary cross-entropy L = -[y log ŷ + (1 - y) log(1 - ŷ)]. For every
training example, backward() fills in dL/dw_j and dL/db, and the demo compares
them with the lecture's closed forms

    dL/dw_j = (σ(w·x + b) - y) x_j        dL/db = σ(w·x + b) - y

before and after training. Training is plain gradient descent on the mean loss
over the examples; the decision boundary goes to out/logistic_regression.png.

    python demos/logistic_regression.py [--steps N] [--seed N] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu.data import make_blobs
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.losses import binary_cross_entropy, mean_loss
from tinygrad_edu.nn import Neuron
from tinygrad_edu.optim import SGD

TOLERANCE = 1e-12  # float rounding differences are ~1e-16; anything bigger is a bug


def check_gradients(unit: Neuron, X: Sequence[Sequence[float]], y: Sequence[int],
                    show: int = 0) -> float:
    """Backprop each example's loss alone; return the largest |autograd - closed form|.

    The first `show` examples are printed in full.
    """
    largest = 0.0
    for i, (x, target) in enumerate(zip(X, y)):
        unit.zero_grad()
        y_hat = unit(x)
        binary_cross_entropy(y_hat, target).backward()
        error = y_hat.data - target  # σ(w·x + b) - y
        autograd = [w.grad for w in unit.w] + [unit.b.grad]
        closed_form = [error * x_j for x_j in x] + [error]
        largest = max(largest, *(abs(a - c) for a, c in zip(autograd, closed_form)))
        if i < show:
            print(f"  x = [{x[0]:.3f}, {x[1]:.3f}], y = {target}, "
                  f"σ(w·x + b) = {y_hat.data:.6f}")
            for name, a, c in zip(("dL/dw_1", "dL/dw_2", "dL/db  "), autograd, closed_form):
                print(f"    {name} autograd {a:+.12f}   closed form {c:+.12f}")
    unit.zero_grad()
    return largest


def report(largest: float, n: int) -> bool:
    """Print the verdict of a check over n examples; True if it passed."""
    ok = largest <= TOLERANCE
    print(f"  every one of the {n} examples, w_1, w_2 and b: largest |autograd - closed form| "
          f"= {largest:.1e} (limit {TOLERANCE:g}): {'OK' if ok else 'MISMATCH'}")
    return ok


def accuracy(unit: Neuron, X: Sequence[Sequence[float]], y: Sequence[int]) -> float:
    """The fraction of examples on the right side of the boundary σ(w·x + b) = 0.5."""
    return sum((unit(x).data > 0.5) == (target == 1) for x, target in zip(X, y)) / len(y)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Check the gradients, train, plot; return the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="gradient steps (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the picture")
    args = parser.parse_args(argv)
    if args.steps < 0:
        parser.error(f"--steps must be 0 or more, got {args.steps}")

    # Two overlapping clouds of points, labelled 0 and 1.
    X, y = make_blobs(n_samples=100, centers=[[-1.0, -1.0], [1.0, 1.0]], noise=0.8,
                      seed=args.seed)
    unit = Neuron(2, activation="sigmoid", seed=args.seed)
    print(f"Logistic regression: one unit ŷ = σ(w·x + b), {len(X)} examples with 2 features")

    print("\n1. Before training: autograd's gradient against the closed form, example by example")
    before = check_gradients(unit, X, y, show=2)
    ok_before = report(before, len(X))

    print(f"\n2. Training: gradient descent on the mean loss, learning rate 0.5, "
          f"{args.steps} steps")
    optimizer = SGD(unit.parameters(), lr=0.5)
    losses = []
    for _ in range(args.steps):
        loss = mean_loss([binary_cross_entropy(unit(x), target) for x, target in zip(X, y)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    final_loss = mean_loss([binary_cross_entropy(unit(x), t) for x, t in zip(X, y)]).data
    acc = accuracy(unit, X, y)
    w1, w2, b = (p.data for p in unit.parameters())
    print(f"  loss {losses[0] if losses else final_loss:.4f} -> {final_loss:.4f}, "
          f"training accuracy {acc:.0%}; w = [{w1:.3f}, {w2:.3f}], b = {b:.3f}")

    print("\n3. After training: the same check with the trained weights")
    after = check_gradients(unit, X, y)
    ok_after = report(after, len(X))

    from tinygrad_edu.viz.plots import plot_decision_boundary  # matplotlib loads only now

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "logistic_regression.png"

    def probabilities(point: list[float]) -> list[float]:
        p = unit(point).data
        return [1.0 - p, p]

    plot_decision_boundary(probabilities, X, y, [picture],
                           title=f"Logistic regression: σ(w·x + b) = 0.5 is a line "
                                 f"(accuracy {acc:.0%})")
    print(f"\nWrote {picture}")
    return {"max_difference_before": before, "max_difference_after": after,
            "ok": ok_before and ok_after, "losses": losses, "final_loss": final_loss,
            "accuracy": acc, "picture": picture}


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
