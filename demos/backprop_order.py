"""Why backward follows an order: naive recursion against reverse topological order.

    a = 1,  b = a + a,  c = b + b        so c = 4a and dc/da = 4

Naive recursion runs each node's chain-rule step (`_backward`) and then, at
once, recurses into its inputs, once per edge. c uses b twice, so b's step runs
twice and passes its gradient down to a twice: a gets 8. (Visiting each node
only once does not fix it in general: a node must wait until every node that
uses it has passed its gradient on.) Reverse topological order, what
`backward()` does (lecture §5: "cannot do all at once, need to follow an
order"), runs every step exactly once, after all the nodes that use it, and a
gets 4. The demo prints both side by side, step by
step, checks the ordered one against a finite difference, and writes the
step-by-step page of the ordered pass to out/backprop_order.html.

    python demos/backprop_order.py [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu import Value, topological_order, viz
from tinygrad_edu.demos.arguments import DemoParser


def build() -> tuple[Value, Value, Value]:
    """a = 1, b = a + a, c = b + b, all labelled; returns (a, b, c)."""
    a = Value(1.0, label="a")
    b = a + a
    b.label = "b"
    c = b + b
    c.label = "c"
    return a, b, c


def grads(nodes: Sequence[Value]) -> str:
    return ", ".join(f"{node.label}.grad = {node.grad:g}" for node in nodes)


def naive_backward(root: Value, log: list[str]) -> None:
    """Each node's step, then straight into each input (once per edge): the wrong way."""
    root.grad = 1.0
    # A stack stands for the recursion: the first input is handled first, depth first.
    stack = [root]
    while stack:
        node = stack.pop()
        if node.inputs:
            node._backward()
            log.append(f"{node.label}._backward()")
        stack.extend(reversed(node.inputs))


def ordered_backward(root: Value, log: list[str]) -> None:
    """Each node's step once, in reverse topological order: what backward() does."""
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        if node.inputs:
            node._backward()
            log.append(f"{node.label}._backward()")


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run both orders, print them side by side, check, write the page; return the numbers."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the step-by-step page")
    args = parser.parse_args(argv)

    print("a = 1, b = a + a, c = b + b: c = 4a, so dc/da = 4\n")
    results = {}
    for name, run in (("naive recursion", naive_backward),
                      ("reverse topological order", ordered_backward)):
        a, b, c = build()
        log: list[str] = []
        run(c, log)
        results[name] = a.grad
        print(f"{name}:")
        print(f"  steps: {'; '.join(log)}")
        print(f"  {grads([c, b, a])}")
    naive, ordered = results["naive recursion"], results["reverse topological order"]

    a, b, c = build()
    c.backward()

    def c_at(x: float) -> float:
        b = Value(x) + Value(x)
        return (b + b).data

    h = 1e-6
    finite_difference = (c_at(1.0 + h) - c_at(1.0 - h)) / (2 * h)
    print(f"\nbackward() gives dc/da = {a.grad:g}; the finite difference gives "
          f"{finite_difference:.6f}")
    print(f"naive recursion: dc/da = {naive:g} (wrong: c uses b twice, so b's step ran twice "
          f"and passed its gradient to a twice)")
    print(f"reverse topological order: dc/da = {ordered:g}")
    agrees = ordered == a.grad == 4.0 and abs(finite_difference - 4.0) < 1e-6 and naive != 4.0
    print(f"check: the ordered pass gives 4, as backward() and the finite difference do, "
          f"and the naive one does not: {'OK' if agrees else 'MISMATCH'}")

    args.out.mkdir(parents=True, exist_ok=True)
    page = viz.walkthrough(c, args.out / "backprop_order.html",
                           title="Backward in reverse topological order: a = 1, b = a + a, "
                                 "c = b + b")
    print(f"Wrote {page} (open it in a browser, step with the arrow keys)")
    return {"naive": naive, "ordered": ordered, "backward": a.grad, "agrees": agrees,
            "page": page}


if __name__ == "__main__":
    try:
        sys.exit(0 if main()["agrees"] else 1)
    except viz.RendererNotFound as problem:
        sys.exit(f"backprop_order: cannot draw the graph: {problem}")
