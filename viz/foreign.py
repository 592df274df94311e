"""Graphs of other engines: a micrograd-like graph read through `_prev`/`_children` and `_op`.

A student's own micrograd keeps its graph the way micrograd does: each node has
`data`, `grad`, a set `_prev` (or `_children`) of the nodes it was computed from,
and the op's name in `_op`. `mirror(root)` copies that graph, read-only, into
ForeignNodes, which have the attributes the drawing reads from this engine's
Values (`data`, `grad`, `label`, `op`, `inputs`, `local_grads`), so
`draw_dot(node)` draws a micrograd graph as it draws a Value's. Such an engine
keeps no local gradients, so none are drawn, and a set of inputs keeps one arrow
for `x * x`: the drawing shows the graph exactly as that engine stores it.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

# Where micrograd-like engines keep a node's inputs, in the order they are looked for.
INPUT_ATTRIBUTES = ("_prev", "_children")


class ForeignNode:
    """One node of another engine's graph, copied: data, grad, label, op and inputs."""

    __slots__ = ("source", "data", "grad", "label", "op", "inputs", "local_grads")

    def __init__(self, source: Any, label: str) -> None:
        self.source = source  # the other engine's node
        self.data = _number(getattr(source, "data", math.nan))
        self.grad = _number(getattr(source, "grad", math.nan))
        self.label = label
        op = getattr(source, "_op", None)
        self.op = str(op if op is not None else getattr(source, "op", "")) or "?"
        self.inputs: tuple[ForeignNode, ...] = ()
        self.local_grads: tuple[float, ...] = ()


def is_foreign_graph(node: Any) -> bool:
    """True for a node of a micrograd-like engine: it has data, grad and _prev or _children."""
    return (hasattr(node, "data") and hasattr(node, "grad")
            and any(hasattr(node, name) for name in INPUT_ATTRIBUTES))


def node_inputs(node: Any) -> list:
    """The nodes `node` was computed from, as its engine stores them ([] for a leaf)."""
    for name in INPUT_ATTRIBUTES:
        inputs = getattr(node, name, None)
        if inputs is not None:
            return list(inputs)
    return []


def mirror(root: Any, labels: Optional[Mapping[int, str]] = None,
           max_nodes: Optional[int] = None) -> tuple[ForeignNode, list[ForeignNode]]:
    """The graph of another engine's `root` as ForeignNodes: (root, every node inputs first).

    `labels` names nodes by id() of the other engine's node; a node without one
    keeps its own `label` attribute if it has one. The walk is a loop with an
    explicit stack, so a deep graph needs no recursion; past `max_nodes` nodes
    it stops (the drawing refuses such a graph anyway).
    """
    labels = labels or {}
    copies: dict[int, ForeignNode] = {}
    order: list[ForeignNode] = []
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        key = id(node)
        if inputs_done:
            copy = copies[key]
            copy.inputs = tuple(copies[id(operand)] for operand in node_inputs(node))
            copy.local_grads = (math.nan,) * len(copy.inputs)
            order.append(copy)
            continue
        if key in copies:
            continue
        label = labels.get(key, getattr(node, "label", ""))
        copies[key] = ForeignNode(node, label if isinstance(label, str) else "")
        if max_nodes is not None and len(copies) > max_nodes:
            return copies[id(root)], list(copies.values())  # too many: the count is enough
        stack.append((node, True))
        stack.extend((operand, False) for operand in node_inputs(node)
                     if id(operand) not in copies)
    return copies[id(root)], order


def topological(root: ForeignNode) -> list[ForeignNode]:
    """Every ForeignNode `root` depends on, inputs first, `root` last (a loop, no recursion)."""
    order: list[ForeignNode] = []
    seen: set[int] = set()
    stack: list[tuple[ForeignNode, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((operand, False) for operand in node.inputs if id(operand) not in seen)
    return order


def _number(value: Any) -> float:
    """A node's data or grad as a float (NaN when it is not a number, e.g. None)."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


__all__ = ["ForeignNode", "is_foreign_graph", "mirror", "node_inputs", "topological"]
