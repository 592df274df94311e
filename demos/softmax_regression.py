"""Lecture §2 and §3: multinomial logistic regression, and the gradient softmax(z) - onehot(y).

One fully connected layer turns the 2 features into 3 logits, z = Wx + b, and
ŷ = softmax(z) gives the class probabilities. The loss is the cross-entropy
L = -log softmax(z)_c for the correct class c. For every training example,
backward() fills in dL/dz_j, and the demo compares it with the lecture's

    dL/dz = softmax(z) - onehot(c)

before and after training on three clouds of points. The decision regions go to
out/softmax_regression.png.

    python demos/softmax_regression.py [--steps N] [--seed N] [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu.data import make_blobs
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.losses import cross_entropy, mean_loss, softmax
from tinygrad_edu.nn import Layer
from tinygrad_edu.optim import SGD

CLASSES = 3
TOLERANCE = 1e-12  # float rounding differences are ~1e-16; anything bigger is a bug


def probabilities(logits: Sequence[float]) -> list[float]:
    """softmax in plain floats: e^(z_j - max z) / Σ_k e^(z_k - max z)."""
    shift = max(logits)
    exps = [math.exp(z - shift) for z in logits]
    return [e / sum(exps) for e in exps]


def vector(numbers: Sequence[float]) -> str:
    """[+0.1234567890, -0.5000000000, ...]: enough digits to see two results agree."""
    return "[" + ", ".join(f"{x:+.10f}" for x in numbers) + "]"


def check_gradients(layer: Layer, X: Sequence[Sequence[float]], y: Sequence[int],
                    show: int = 0) -> float:
    """Backprop each example's loss alone; return the largest |dL/dz_j - (softmax - onehot)_j|.

    The loss is written as the lecture defines it, -log of the softmax
    probability of the correct class; the first `show` examples are printed.
    """
    largest = 0.0
    for i, (x, c) in enumerate(zip(X, y)):
        z = layer(x)
        loss = -softmax(z)[c].log()
        loss.backward()
        expected = probabilities([z_j.data for z_j in z])
        expected[c] -= 1.0  # softmax(z) - onehot(c)
        largest = max(largest, *(abs(z_j.grad - e) for z_j, e in zip(z, expected)))
        if i < show:
            print(f"  x = [{x[0]:.3f}, {x[1]:.3f}], class c = {c}")
            print(f"    dL/dz from backward()   = {vector([z_j.grad for z_j in z])}")
            print(f"    softmax(z) - onehot({c}) = {vector(expected)}")
    layer.zero_grad()
    return largest


def report(largest: float, n: int) -> bool:
    """Print the verdict of a check over n examples; True if it passed."""
    ok = largest <= TOLERANCE
    print(f"  every one of the {n} examples, all {CLASSES} logits: largest |autograd - formula| "
          f"= {largest:.1e} (limit {TOLERANCE:g}): {'OK' if ok else 'MISMATCH'}")
    return ok


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

    X, y = make_blobs(n_samples=90, centers=CLASSES, noise=0.7, seed=args.seed)
    layer = Layer(2, CLASSES, activation="linear", seed=args.seed)  # z = Wx + b
    print(f"Softmax regression: z = Wx + b with W {CLASSES}x2, ŷ = softmax(z); "
          f"{len(X)} examples in {CLASSES} classes")

    print("\n1. Before training: dL/dz from backward() against softmax(z) - onehot(c)")
    before = check_gradients(layer, X, y, show=2)
    ok_before = report(before, len(X))

    print(f"\n2. Training: gradient descent on the mean cross-entropy, learning rate 0.5, "
          f"{args.steps} steps")
    optimizer = SGD(layer.parameters(), lr=0.5)
    losses = []
    for _ in range(args.steps):
        # cross_entropy is the same loss as -log softmax(z)_c, as one compact subgraph
        loss = mean_loss([cross_entropy(layer(x), c) for x, c in zip(X, y)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.data)
    final_loss = mean_loss([cross_entropy(layer(x), c) for x, c in zip(X, y)]).data

    def class_probabilities(point: Sequence[float]) -> list[float]:
        return probabilities([z.data for z in layer(point)])

    predictions = [max(range(CLASSES), key=class_probabilities(x).__getitem__) for x in X]
    acc = sum(p == c for p, c in zip(predictions, y)) / len(y)
    print(f"  loss {losses[0] if losses else final_loss:.4f} -> {final_loss:.4f}, "
          f"training accuracy {acc:.0%}")

    print("\n3. After training: the same check with the trained weights")
    after = check_gradients(layer, X, y)
    ok_after = report(after, len(X))

    from tinygrad_edu.viz.plots import plot_decision_boundary  # matplotlib loads only now

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "softmax_regression.png"
    plot_decision_boundary(class_probabilities, X, y, [picture],
                           title=f"Softmax regression: straight boundaries between 3 classes "
                                 f"(accuracy {acc:.0%})")
    print(f"\nWrote {picture}")
    return {"max_difference_before": before, "max_difference_after": after,
            "ok": ok_before and ok_after, "losses": losses, "final_loss": final_loss,
            "accuracy": acc, "picture": picture}


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
