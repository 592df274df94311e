"""From scalars to tensors: the lecture's network in PyTorch, with the same numbers on both sides.

The lecture's 2-layer network (§4), z1 = W1 x + b1, a1 = ReLU(z1), z2 = W2 a1 + b2,
a2 = σ(z2), L = BCE(a2, y), is built from Values and turned into a PyTorch
module with `to_torch`: each layer of neurons becomes one nn.Linear whose row j
holds neuron j's weights. `compare` then runs the mean loss and backward on
both sides: the loss, every output and every gradient agree to float64
rounding. The same loss, traced, is then written as PyTorch code by the trace
itself (`program.torch_source`: one line per layer) and run. Both are then
trained side by side with the same SGD steps, the PyTorch model comes back with
`from_torch`, and the trained model is saved for PyTorch (out/to_pytorch/model.pt
and model.py, which rebuilds it with PyTorch alone).

Needs PyTorch: pip install 'tinygrad_edu[torch]'.

    python demos/to_pytorch.py [--hidden N] [--steps N] [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu.data import make_moons
from tinygrad_edu.demos.arguments import DemoParser
from tinygrad_edu.losses import binary_cross_entropy, mean_loss
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.tracing import trace

TOLERANCE = 1e-12  # float64 rounding differences are ~1e-16; anything bigger is a bug
LEARNING_RATE = 0.5


def relative(a: float, b: float) -> float:
    """|a − b| relative to the larger of the two (0 when they are equal)."""
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """The network on both sides, the table, training side by side, the export; the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=4, help="hidden ReLU units (default 4)")
    parser.add_argument("--steps", type=int, default=20,
                        help="SGD steps on each side (default 20)")
    parser.add_argument("--out", type=Path, default=Path("out/to_pytorch"), metavar="DIR",
                        help="folder for model.pt and model.py")
    args = parser.parse_args(argv)
    if not 1 <= args.hidden <= 64:
        parser.error(f"--hidden must be between 1 and 64, got {args.hidden}")
    if not 0 <= args.steps <= 1000:
        parser.error(f"--steps must be between 0 and 1000, got {args.steps}")
    try:  # the bridge first: its ImportError says how to get PyTorch
        from tinygrad_edu.torch import (
            compare,
            export_files,
            from_torch,
            leaf_gradients,
            to_torch,
            torch_function,
            torch_inputs,
        )
    except ImportError as missing:
        sys.exit(f"to_pytorch: {missing}")
    import torch

    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    model = MLP(2, [args.hidden, 1], activation="relu", output_activation="sigmoid", seed=0)
    print(f"1. The lecture's network from Values: {model}, {len(model.parameters())} "
          f"parameters")
    net = to_torch(model)
    print("   and as PyTorch modules, in float64:")
    print("   " + str(net).replace("\n", "\n   "))
    weight = net.state_dict()["layers.0.weight"]
    print(f"   layers.0.neurons.1.w.0 = {model.layers[0].neurons[1].w[0].data!r} is "
          f"layers.0.weight[1, 0] = {weight[1, 0].item()!r}: row j of a layer's weight "
          f"matrix is neuron j's weights")

    print(f"\n2. Loss, outputs and gradients on both sides (8 of the {len(X)} examples)")
    table = compare(model, X[:8], y[:8], loss=binary_cross_entropy)
    print("   " + str(table).replace("\n", "\n   "))
    table_ok = table.largest_difference <= TOLERANCE
    print(f"   check: every number within {TOLERANCE:g} of PyTorch's: "
          f"{'OK' if table_ok else 'MISMATCH'}")

    print("\n3. The same loss traced, and written by the trace as PyTorch code "
          "(program.torch_source):")
    program = trace(lambda: mean_loss([binary_cross_entropy(model(x), t)
                                       for x, t in zip(X[:8], y[:8])]))
    source = program.torch_source
    print("   " + source.split("\n\n\n", 1)[-1].rstrip().replace("\n", "\n   "))
    print("   (above it, X = torch.tensor([...]): the 8 points, which the trace saw as plain "
          "floats)")
    arguments = torch_inputs(program)  # float64 tensors of the leaves' data, named as in it
    traced_loss = torch_function(program)(**arguments)
    traced_loss.backward()
    model.zero_grad()
    value = program()  # the program's forward and backward: into the parameters' .grad
    gradients = leaf_gradients(program, arguments)
    source_difference = max([relative(traced_loss.item(), value)]
                            + [relative(g, leaf.grad)
                               for g, leaf in zip(gradients, program.leaves)])
    model.zero_grad()
    source_ok = source_difference <= TOLERANCE
    print(f"   run with torch: loss {traced_loss.item():.15f} (program: {value:.15f}); largest "
          f"relative difference of the loss and {len(gradients)} gradients "
          f"{source_difference:.1e}: {'OK' if source_ok else 'MISMATCH'}")

    print(f"\n4. Training side by side: {args.steps} steps of SGD (lr {LEARNING_RATE}) on all "
          f"{len(X)} examples")
    optimizer = SGD(model.parameters(), lr=LEARNING_RATE)
    torch_optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)
    inputs = torch.tensor(X, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)
    ours_losses, theirs_losses = [], []
    for step in range(args.steps):
        loss = mean_loss([binary_cross_entropy(model(x), t) for x, t in zip(X, y)])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        theirs = torch.nn.functional.binary_cross_entropy(net(inputs)[:, 0], targets)
        torch_optimizer.zero_grad()
        theirs.backward()
        torch_optimizer.step()
        ours_losses.append(loss.data)
        theirs_losses.append(theirs.item())
        if step in (0, 1, args.steps - 1) or step == 2 and args.steps > 4:
            print(f"   step {step + 1:3}: loss {loss.data:.15f} (Values)  "
                  f"{theirs.item():.15f} (PyTorch)")
        elif step == 3:
            print("   ...")
    loss_difference = max(map(relative, ours_losses, theirs_losses), default=0.0)
    back = from_torch(net)
    weight_difference = max(relative(a.data, b.data)
                            for a, b in zip(model.parameters(), back.parameters()))
    training_ok = loss_difference <= TOLERANCE and weight_difference <= TOLERANCE
    print(f"   largest relative difference: losses {loss_difference:.1e}, trained weights "
          f"{weight_difference:.1e} (from_torch brought PyTorch's back as {back}): "
          f"{'OK' if training_ok else 'MISMATCH'}")

    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, content in export_files(model, args.out / "model.pt").items():
        path.write_bytes(content)
        written.append(path)
    print(f"\n5. Saved for PyTorch: {written[0]} (the state_dict) and {written[1]}, which "
          f"rebuilds the module with PyTorch alone; try: python {written[1]} 0.5,-0.2")
    return {"ok": table_ok and source_ok and training_ok, "table": table, "source": source,
            "source_difference": source_difference, "ours_losses": ours_losses,
            "theirs_losses": theirs_losses, "loss_difference": loss_difference,
            "weight_difference": weight_difference, "files": written}


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
