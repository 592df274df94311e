"""Lecture §3-§4: train the 2-input classifier and check that backprop gives dL/dz = σ(z) − y.

The network is the lecture's two-layer MLP with 2 input features:
    z1 = W1 x + b1,  a1 = ReLU(z1),  z2 = W2 a1 + b2,  a2 = σ(z2) = ŷ,  L = BCE(ŷ, y)
It is trained on the two-moons data. Before and after training, the binary
cross-entropy is written out from engine operations, -(y log a + (1 - y) log(1 - a))
with a = σ(z2), and the gradient backprop finds at z2 is compared with the
lecture's formula a − y on every example. The multi-class counterpart,
dL/dz = softmax(z) − onehot(y), is checked on a 3-class spiral. The decision
boundary, the loss curve and the training film (film.html: scrub through
training, open it in a browser) are written under out/train_classifier/.

Run it with `tinygrad-edu demo train_classifier` (or `python demos/train_classifier.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu.data import make_moons, make_spiral
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import (
    check_sigmoid_bce_gradient,
    check_softmax_ce_gradient,
    evaluate,
    fit,
    probabilities,
)


def one_example(model: MLP, x: list[float], y: int) -> tuple[float, float]:
    """Backprop through one example by hand, print dL/dz2 next to a2 − y, and return both."""
    z2 = model(x)
    a2 = z2.sigmoid()
    loss = -(y * a2.log() + (1 - y) * (1 - a2).log())  # BCE from engine operations
    loss.backward()
    print(f"  x = [{x[0]:.3f}, {x[1]:.3f}], y = {y}")
    print(f"  forward:  z2 = {z2.data:.6f}, a2 = σ(z2) = {a2.data:.6f}, L = {loss.data:.6f}")
    print(f"  backward: dL/da2 = -(y/a2 + (y - 1)/(1 - a2)) = {a2.grad:.6f}")
    print(f"            da2/dz2 = a2(1 - a2) = {a2.data * (1 - a2.data):.6f}")
    print(f"            dL/dz2 = {z2.grad:.12f}")
    print(f"            a2 - y = {a2.data - y:.12f}")
    model.zero_grad()
    return z2.grad, a2.data - y


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the demo: print the checks, train, write the plots; return the numbers and paths."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out/train_classifier", help="folder for the plots")
    parser.add_argument("--steps", type=int, default=150, help="training steps (default: 150)")
    parser.add_argument("--compile", action="store_true",
                        help="train with a traced program, replayed every step (trace())")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")

    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    model = MLP(2, [16, 1], activation="relu", seed=0)  # 2 inputs -> 16 ReLU units -> z2
    print(f"The network: {model}, {len(model.parameters())} parameters")

    print("\n1. One example, backprop by hand: dL/dz2 should equal a2 - y")
    dl_dz2, a2_minus_y = one_example(model, X[0], y[0])

    print("\n2. The whole batch, before training (loss = mean BCE over N = 100 examples):")
    before = check_sigmoid_bce_gradient(model, X, y)  # raises above 1e-9
    print(f"  {before}")

    print(f"\n3. Training: Adam, learning rate 0.05, {args.steps} full-batch steps"
          + (", traced once and replayed (--compile)" if args.compile else ""))
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), loss="bce",
                  steps=args.steps, progress=True, compile=args.compile, record=True)
    loss, accuracy = evaluate(model, X, y, "bce")
    print(f"  final loss {loss:.4f}, training accuracy {accuracy:.0%}, "
          f"{history.seconds:.1f} s")
    print("  After training:")
    after = check_sigmoid_bce_gradient(model, X, y)
    print(f"  {after}")

    print("\n4. The multi-class counterpart: softmax + cross-entropy on a 3-arm spiral")
    X3, y3 = make_spiral(n_samples=90, classes=3, seed=0)
    model3 = MLP(2, [16, 3], seed=0)
    multi_class = check_softmax_ce_gradient(model3, X3, y3)
    print(f"  {multi_class}")

    from tinygrad_edu.viz import film, plots  # matplotlib loads only now

    out = Path(args.out)
    boundary = [out / "decision_boundary.png", out / "decision_boundary.svg"]
    curve = [out / "loss_curve.png", out / "loss_curve.svg"]

    def predict_probabilities(point: list[float]) -> list[float]:
        return probabilities(model(point))

    plots.plot_decision_boundary(predict_probabilities, X, y, boundary,
                                 title=f"Two moons: MLP(2, [16, 1]), accuracy {accuracy:.0%}")
    plots.plot_loss_curve(history.losses, history.accuracies, curve,
                          title="Two moons: MLP(2, [16, 1]), BCE, Adam lr 0.05")
    movie = film(model, X, y, history, title="Two moons: MLP(2, [16, 1]) learning")
    movie.save(out / "film.html")
    print("\nWrote " + ", ".join(str(path) for path in boundary + curve + [out / "film.html"]))
    return {"dl_dz2": dl_dz2, "a2_minus_y": a2_minus_y, "accuracy": accuracy, "loss": loss,
            "checks": {"before": before, "after": after, "multi_class": multi_class},
            "pictures": boundary + curve, "film": out / "film.html"}


if __name__ == "__main__":
    main()
