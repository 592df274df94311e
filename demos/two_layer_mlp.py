"""Lecture §4: the 2-layer network with 2 input features, backpropagated and trained.

    z1 = W1 x + b1      (x has 2 features)
    a1 = ReLU(z1)
    z2 = W2 a1 + b2
    a2 = σ(z2) = ŷ
    L  = BCE(ŷ, y)      and   dL/dz2 = a2 - y

The demo runs these lines for one example, draws its whole graph with each
neuron and layer boxed (out/two_layer_mlp_graph.svg), checks dL/dz2 = a2 - y
on every example before and after training, and trains on two moons with the
lecture's loop: for every training pair, forward, loss, backward, update.
The decision boundary goes to out/two_layer_mlp.png.

    python demos/two_layer_mlp.py [--epochs N] [--hidden N] [--seed N] [--quick] [--out DIR]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu import Value, viz
from tinygrad_edu.data import make_moons
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.losses import binary_cross_entropy, binary_cross_entropy_with_logits
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD

TOLERANCE = 1e-12  # float rounding differences are ~1e-16; anything bigger is a bug


def forward(model: MLP, x: Sequence[float]) -> dict[str, list[Value]]:
    """The lecture's lines, one layer at a time, every Value labelled with its name."""
    hidden, output = model.layers
    inputs = [Value(x_i, label=f"x{i + 1}") for i, x_i in enumerate(x)]
    a1 = [neuron(inputs) for neuron in hidden.neurons]  # each: ReLU(w·x + b), a dot then a relu
    z1 = [a.inputs[0] for a in a1]  # the dot node under each ReLU
    z2 = output.neurons[0](a1)  # the one output neuron is linear: w·a1 + b
    a2 = z2.sigmoid()
    for j, (z, a) in enumerate(zip(z1, a1)):
        z.label, a.label = f"z1[{j}]", f"a1[{j}]"
    z2.label, a2.label = "z2", "a2 = ŷ"
    return {"x": inputs, "z1": z1, "a1": a1, "z2": [z2], "a2": [a2]}


def check_output_gradient(model: MLP, X: Sequence[Sequence[float]],
                          y: Sequence[int]) -> tuple[float, int]:
    """(largest |dL/dz2 - (a2 - y)| over the examples, how many were checked).

    Each example's loss is the lecture's BCE of a2 = σ(z2), backpropagated
    alone. An example whose a2 rounded to exactly 0 or 1 is skipped: one of
    the BCE's logs would be log(0).
    """
    largest, checked = 0.0, 0
    for x, target in zip(X, y):
        nodes = forward(model, x)
        z2, a2 = nodes["z2"][0], nodes["a2"][0]
        if a2.data in (0.0, 1.0):
            continue
        binary_cross_entropy(a2, target).backward()
        largest = max(largest, abs(z2.grad - (a2.data - target)))
        checked += 1
    model.zero_grad()
    return largest, checked


def report(result: tuple[float, int]) -> bool:
    """Print the verdict of the check; True if it passed."""
    largest, checked = result
    ok = largest <= TOLERANCE and checked > 0
    print(f"  dL/dz2 against a2 - y on {checked} examples: largest |difference| = "
          f"{largest:.1e} (limit {TOLERANCE:g}): {'OK' if ok else 'MISMATCH'}")
    return ok


def accuracy(model: MLP, X: Sequence[Sequence[float]], y: Sequence[int]) -> float:
    """The fraction of examples with z2 > 0 (a2 > 0.5) exactly when y = 1."""
    return sum((model(x).data > 0.0) == (target == 1) for x, target in zip(X, y)) / len(y)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """One example in full, the check, training, the pictures; return the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the data (default 100, 20 with --quick)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden ReLU units (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the weights")
    parser.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the pictures")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (20 if args.quick else 100)
    if epochs < 0:
        parser.error(f"--epochs must be 0 or more, got {epochs}")
    if not 1 <= args.hidden <= 64:
        parser.error(f"--hidden must be between 1 and 64, got {args.hidden}")

    X, y = make_moons(n_samples=100, noise=0.1, seed=args.seed)
    model = MLP(2, [args.hidden, 1], activation="relu", output_activation="linear",
                seed=args.seed)
    print(f"The network: 2 inputs -> {args.hidden} ReLU units -> 1 sigmoid unit, "
          f"{len(model.parameters())} parameters; two moons, {len(X)} examples")

    print("\n1. One example through the lecture's lines")
    nodes = forward(model, X[0])
    z2, a2 = nodes["z2"][0], nodes["a2"][0]
    loss = binary_cross_entropy(a2, y[0])
    loss.label = "L"
    loss.backward()
    print(f"  x = [{X[0][0]:.3f}, {X[0][1]:.3f}], y = {y[0]}")
    print(f"  z1 = [{', '.join(f'{z.data:.3f}' for z in nodes['z1'])}]")
    print(f"  a1 = ReLU(z1) = [{', '.join(f'{a.data:.3f}' for a in nodes['a1'])}]")
    print(f"  z2 = {z2.data:.6f},  a2 = σ(z2) = {a2.data:.6f},  L = {loss.data:.6f}")
    print(f"  backward: dL/da2 = {a2.grad:.6f}, da2/dz2 = a2(1 - a2) = "
          f"{a2.data * (1 - a2.data):.6f}, so dL/dz2 = {z2.grad:.12f}")
    print(f"            and a2 - y = {a2.data - y[0]:.12f}")
    args.out.mkdir(parents=True, exist_ok=True)
    graph = viz.render(loss, args.out / "two_layer_mlp_graph.svg", cluster="module",
                       parameters=model.parameters())
    print(f"  drew its graph, one box per neuron and layer: {graph}")
    model.zero_grad()

    print("\n2. Before training, every example")
    ok_before = report(check_output_gradient(model, X, y))

    print(f"\n3. Training: for every pair (x, y): forward, loss, backward, update "
          f"(SGD, learning rate 0.2); {epochs} passes over the data")
    optimizer = SGD(model.parameters(), lr=0.2)
    rng = random.Random(args.seed)
    order = list(range(len(X)))
    epoch_losses = []
    for _ in range(epochs):
        rng.shuffle(order)
        total = 0.0
        for i in order:
            z2 = model(X[i])
            # The same BCE as above, computed from z2 so it stays finite when σ(z2) rounds to 1.
            loss = binary_cross_entropy_with_logits(z2, y[i])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.data
        epoch_losses.append(total / len(X))
    acc = accuracy(model, X, y)
    if epoch_losses:
        print(f"  mean loss per pass {epoch_losses[0]:.4f} -> {epoch_losses[-1]:.4f}, "
              f"training accuracy {acc:.0%}")

    print("\n4. After training, every example")
    ok_after = report(check_output_gradient(model, X, y))

    from tinygrad_edu.viz.plots import plot_decision_boundary  # matplotlib loads only now

    def probabilities(point: list[float]) -> list[float]:
        p = model(point).sigmoid().data
        return [1.0 - p, p]

    picture = args.out / "two_layer_mlp.png"
    plot_decision_boundary(probabilities, X, y, [picture],
                           title=f"2-layer MLP ({args.hidden} ReLU units) on two moons "
                                 f"(accuracy {acc:.0%})")
    print(f"\nWrote {picture}")
    return {"ok": ok_before and ok_after, "epoch_losses": epoch_losses, "accuracy": acc,
            "pictures": [graph, picture]}


if __name__ == "__main__":
    try:
        sys.exit(0 if main()["ok"] else 1)
    except viz.RendererNotFound as problem:
        sys.exit(f"two_layer_mlp: cannot draw the graph: {problem}")
