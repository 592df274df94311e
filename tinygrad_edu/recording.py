"""A recorded graph: each node as a step that names its inputs by position, with its numbers.

`record(root)` walks the graph of `root` in topological order (inputs first)
and writes each node down as a `Step`: its primitive, the positions of its
inputs, its folded constant and its local derivatives as they were. The
backends of `tinygrad_edu.tracing` replay these steps; they all read this one
description. Two things the engine folds away without a record are recovered
here: the plain-number operands of `mean` and the number-times-number terms of
`dot`.
"""

from __future__ import annotations

import builtins
import math
import operator
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence

from tinygrad_edu import engine
from tinygrad_edu.engine import Primitive, Value, topological_order


class Step(NamedTuple):
    """One recorded node: its primitive, the positions of its inputs, and its numbers."""

    primitive: Optional[Primitive]  # None for a leaf
    inputs: tuple[int, ...]  # positions in the recording's topological order
    constant: Optional[float]  # the folded number (node.constant)
    recorded: tuple[float, ...]  # node.local_grads at recording time
    pairs: int  # dot: how many leading (weight, input) pairs
    data: float  # node.data at recording time
    count: int = 0  # mean: how many operands it averaged
    folded: float = 0.0  # mean, dot: what its plain-number operands added (not in an edge)


@dataclass
class Recording:
    """A graph in topological order, as steps that refer to their inputs by position."""

    nodes: list[Value]
    steps: list[Step]
    leaves: list[int]  # positions of the leaves, in topological order
    root: int
    outputs: list[int]  # positions of the extra Values fn returned, flattened
    output_shape: Any  # how to put the extra values back into fn's structure

    @property
    def leaf_values(self) -> list[Value]:
        """The leaf Values of the graph, in topological order."""
        return [self.nodes[i] for i in self.leaves]


def record(root: Value, extras: Sequence[Value] = ()) -> Recording:
    """The graph of `root` as steps; `extras` are further nodes of it whose values are wanted."""
    nodes = topological_order(root)
    position = {node: i for i, node in enumerate(nodes)}.__getitem__
    steps = []
    for node in nodes:
        primitive = node.primitive
        if primitive is None:
            steps.append(Step(None, (), None, (), 0, node.data))
            continue
        if primitive.derivatives is None:  # an op of your own (Value.from_op): numbers only
            raise TypeError(f"trace: cannot replay the op {primitive.name!r} (the node "
                            f"{engine.describe_node(node)}): only the numbers of its derivatives "
                            f"at these inputs are known, not a rule to recompute them; run "
                            f"it eagerly instead")
        pairs = engine.dot_pairs(node)
        step = Step(primitive, tuple(map(position, node.inputs)), node.constant,
                    node.local_grads, pairs, node.data)
        if primitive is engine.MEAN:
            count, folded = mean_count_and_constants(step, [n.data for n in node.inputs])
            step = step._replace(count=count, folded=folded)
        elif primitive is engine.DOT:
            folded = dot_constant_products(step, node)
            if folded:
                step = step._replace(folded=folded)
        steps.append(step)
    outputs = []
    for extra in extras:
        try:
            outputs.append(position(extra))
        except KeyError:
            raise ValueError(f"trace: fn returned {extra!r} next to the loss, but it is not "
                             f"part of the loss's graph, so the program cannot compute it"
                             ) from None
    leaves = [i for i, step in enumerate(steps) if step.primitive is None]
    return Recording(nodes, steps, leaves, len(nodes) - 1, outputs, None)


def mean_count_and_constants(step: Step, operands: Sequence[float]) -> tuple[int, float]:
    """How many operands a mean node averaged, and the sum of those that were plain numbers.

    The engine keeps no record of a mean's plain-number operands (it folds them
    into its value, with local grad 1/n on each Value operand), so their sum is
    recovered from the recorded value: n * mean - (sum of the Value operands).
    """
    if not step.inputs:
        return 1, step.data
    count = round(1.0 / step.recorded[0])
    if count == len(step.inputs):
        return count, 0.0
    return count, step.data * count - math.fsum(operands)


def dot_constant_products(step: Step, node: Value) -> float:
    """What a dot node's number-times-number terms added: they have no edge, so no record.

    dot([x, 2.0], [3.0, 2.0]) adds 3x + 4; the engine keeps the edge of x only.
    The 4 is what the node's value has beyond its recorded terms, if more than
    rounding explains; else 0.
    """
    values = [child.data for child in node.inputs]
    paired = 2 * step.pairs
    products = list(map(operator.mul, values[0:paired:2], values[1:paired:2]))
    products += map(operator.mul, values[paired:], step.recorded[paired:])
    total = builtins.sum(products)  # in the engine's order: equal unless terms are missing
    if step.constant is not None:
        total += step.constant
    if total == step.data:
        return 0.0
    products.append(step.constant or 0.0)
    residual = step.data - math.fsum(products)
    rounding = 4 * (len(products) + 1) * 2.3e-16 * (math.fsum(map(abs, products))
                                                     + abs(step.data))
    return residual if abs(residual) > rounding else 0.0


__all__ = ["Recording", "Step", "dot_constant_products", "mean_count_and_constants", "record"]
