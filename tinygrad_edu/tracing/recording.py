"""A recorded graph: each node as a step that names its inputs by position, with its numbers.

`record(root)` walks the graph of `root` in topological order (inputs first)
and writes each node down as a `Step`: its primitive, the positions of its
inputs, the numbers it folded in (its constant, where it stands, a mean's
count, a dot's pairs and factors) and its local derivatives as they were. The
backends replay these steps by reading each primitive's rule; the engine keeps
every number it folds, so nothing here is guessed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence

from tinygrad_edu import engine
from tinygrad_edu.engine import Primitive, Value, topological_order


class Step(NamedTuple):
    """One recorded node: its primitive, the positions of its inputs, and its numbers.

    A step reads like the node for the primitive's rules: `constant`, `count`,
    `pairs` and `factors` are what `engine.folded()` gives for an n-ary node.
    """

    primitive: Optional[Primitive]  # None for a leaf
    inputs: tuple[int, ...]  # positions in the recording's topological order
    constant: Optional[float]  # the folded number (node.constant)
    left: bool  # the folded number stands left of the operator (`2 - x`)
    recorded: tuple[float, ...]  # node.local_grads at recording time
    data: float  # node.data at recording time
    count: int = 0  # type: ignore[assignment]  # mean's count, as engine.Folded: hides tuple.count
    pairs: int = 0  # dot: how many leading (weight, input) pairs
    factors: tuple[float, ...] = ()  # dot: the number each further Value is multiplied by

    @property
    def made_by(self) -> Primitive:
        """The primitive of a node's step; a leaf's step has none (ValueError)."""
        if self.primitive is None:
            raise ValueError("a leaf's step has no primitive: only a node's step is replayed")
        return self.primitive

    def operands(self, inputs: Sequence[Any]) -> list:
        """The operands of a one- or two-input step: `inputs` with its constant in its place."""
        if self.constant is None or self.made_by.arity is None:
            return list(inputs)
        return [self.constant, inputs[0]] if self.left else [inputs[0], self.constant]

    def constant_edges(self) -> tuple[bool, ...]:
        """For each input edge: is its local derivative a fixed number (the Primitive says)?"""
        return self.made_by.constant_edges(len(self.inputs), self.constant, self.left,
                                           self.pairs)

    def forward(self, m: Any, inputs: Sequence[Any]) -> Any:
        """The step's result, by its primitive's rule read with the math namespace `m`."""
        if self.made_by.arity is None:
            return self.made_by.evaluate(m, list(inputs), self)
        return self.made_by.evaluate(m, *self.operands(inputs))

    def derivatives(self, m: Any, out: Any, inputs: Sequence[Any]) -> list:
        """∂step/∂input for each input edge, by the primitive's rule read with `m`.

        A derivative that is a fixed number comes back as the number recorded.
        """
        primitive = self.made_by
        if primitive.arity is None:
            rules = primitive.derivative(m, out, list(inputs), self)
            return [recorded if fixed else rule for rule, recorded, fixed
                    in zip(rules, self.recorded, self.constant_edges())]
        at = self.operands(inputs)
        positions = range(len(at)) if len(at) == len(inputs) else ((1,) if self.left else (0,))
        result = []
        for k in positions:
            rule = primitive.derivative[k]
            result.append(rule(m, out, *at) if callable(rule) else rule)
        return [recorded if fixed else rule
                for rule, recorded, fixed in zip(result, self.recorded, self.constant_edges())]


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
            steps.append(Step(None, (), None, False, (), node.data))
            continue
        if primitive.forward is None:  # an op of your own (Value.from_op): numbers only
            raise TypeError(f"trace: cannot replay the op {primitive.name!r} "
                            f"({engine.describe_node(node)}): only the numbers of its derivatives "
                            f"at these inputs are known, not a rule to recompute them; run "
                            f"it eagerly instead")
        inputs = tuple(map(position, node.inputs))
        if primitive.arity is None:
            folded = engine.folded(node)
            steps.append(Step(primitive, inputs, folded.constant, False, node.local_grads,
                              node.data, folded.count, folded.pairs, tuple(folded.factors)))
        else:
            steps.append(Step(primitive, inputs, node.constant, node.constant_left,
                              node.local_grads, node.data))
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


__all__ = ["Recording", "Step", "record"]
