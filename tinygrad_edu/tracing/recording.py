"""A recorded graph: each node as a step that names its inputs by position, with its numbers.

`record(root)` walks the graph of `root` in topological order (inputs first)
and writes each node down as a `Step`: its primitive, the positions of its
inputs, the numbers it folded in (its constant, where it stands, a mean's
count, a dot's pairs and factors) and its local derivatives as they were. The
backends replay these steps by reading each primitive's rule; the engine keeps
every number it folds, so nothing here is guessed back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence, cast

from tinygrad_edu import engine
from tinygrad_edu.engine import Primitive, Value, topological_order

# The Primitive's answer to constant_edges for nodes of one shape: a graph asks it for every node,
# and its nodes come in a few shapes (a chain of `x * 0.999` asks the same question each time).
_CONSTANT_EDGES: dict[tuple, tuple[bool, ...]] = {}


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
        constant = self.constant
        key = (self.primitive, len(self.inputs), constant, self.left, self.pairs,
               constant == 0.0 and math.copysign(1.0, constant))
        answer = _CONSTANT_EDGES.get(key)
        if answer is None:
            answer = self.made_by.constant_edges(len(self.inputs), constant, self.left,
                                                 self.pairs)
            if len(_CONSTANT_EDGES) >= 10_000:  # a graph of many different constants
                _CONSTANT_EDGES.clear()
            _CONSTANT_EDGES[key] = answer
        return answer

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
    """The graph of `root` as steps; `extras` are further nodes of it whose values are wanted.

    One pass over the nodes, a few microseconds each: a recording is made for every
    trace, and a trace of a million nodes should take seconds, not minutes. It reads
    the node's fields directly (engine.Value's slots), as `Value.inputs`,
    `.local_grads` and `.constant` would give them.
    """
    nodes = topological_order(root)
    position = {node: i for i, node in enumerate(nodes)}.__getitem__
    steps: list[Step] = []
    add = steps.append
    new = tuple.__new__
    left_type = engine._Left
    one_number: dict[float, tuple[float]] = {}  # one tuple for each local derivative seen
    for node in nodes:
        primitive = node._primitive
        if primitive is None:
            add(new(Step, (None, (), None, False, (), node.data, 0, 0, ())))
            continue
        a = node._input_a
        if a is None:  # an n-ary node: sum, mean, dot
            if primitive.forward is None:
                _refuse_numbers_only(node)
            folded = engine.folded(node)
            more = node._more
            add(new(Step, (primitive, tuple(map(position, more[0::2])), folded.constant, False,
                           more[1::2], node.data, folded.count, folded.pairs,
                           tuple(folded.factors))))
            continue
        if primitive.forward is None:
            _refuse_numbers_only(node)
        constant = node._constant
        left = type(constant) is left_type
        if left:  # a _Left: the number itself, as a plain float
            constant = float(cast(float, constant))
        b = node._input_b
        if b is None:
            local = node._local_a
            recorded = one_number.get(local)  # (1.0,) for every relu that passes, and so on
            if recorded is None or local == 0.0:  # 0.0 and -0.0 are one key: not shared
                recorded = (local,)
                if len(one_number) < 1_000:
                    one_number[local] = recorded
            add(new(Step, (primitive, (position(a),), constant, left, recorded, node.data,
                           0, 0, ())))
        else:
            add(new(Step, (primitive, (position(a), position(b)), constant, left,
                           (node._local_a, node._local_b), node.data, 0, 0, ())))
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


def _refuse_numbers_only(node: Value) -> None:
    """An op of your own (Value.from_op) has numbers for its derivatives, no rule: refuse it."""
    raise TypeError(f"trace: cannot replay the op {node.primitive.name!r} "  # type: ignore[union-attr]
                    f"({engine.describe_node(node)}): only the numbers of its derivatives "
                    f"at these inputs are known, not a rule to recompute them; run "
                    f"it eagerly instead")


__all__ = ["Recording", "Step", "record"]
