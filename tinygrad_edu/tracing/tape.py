"""A tape: recorded nodes written down as a list of entries and run with Python floats.

Generated code replays fastest, but it has to be compiled first, and CPython
compiles about 15 µs per node: a graph of 100,000 nodes takes seconds. A tape is
written in about a microsecond per node and replays a few times slower than
compiled code (still several times faster than eager build and backward). The
python backend starts big graphs on a tape and compiles them once they have been
replayed often enough to pay for it; the numpy backend runs the nodes that share
no array operation with any other (a chain, the loss at the end of a network) as
tapes between its array operations.

Each entry reads its primitive's forward and derivative rule with the eager
engine's own float math (`engine.FLOATS`) and checks the op's domain as eager
does, so a tape gives eager's numbers and eager's errors; no op has code here.
"""

from __future__ import annotations

from typing import Any, Sequence

from tinygrad_edu import engine
from tinygrad_edu.tracing.recording import Step

# The kinds of entry: a weighted sum of one input (c·x + d) or of several (numpy's lowered
# chains of + and constant factors), a node of one or of two inputs or of many (sum, mean,
# dot) by its rule, a node whose op has a domain to check through the Step itself.
_AFFINE, _WEIGHTED, _ONE_INPUT, _TWO_INPUTS, _NARY, _ANY = range(6)
# How a tape computes a node of one shape: its forward rule, the derivative of each edge (the
# rule, or the number it is fixed at), where its constant goes. Nodes of one shape share it.
_HOW: dict[tuple, tuple] = {}


class Tape:
    """Nodes in topological order, as entries that read and write one list of floats.

    The list holds the tape's own nodes first (entry k writes index k), then the
    numbers it reads from outside (its inputs), the first input last: index -1,
    then -2, ..., so entries never need renumbering as the tape grows.
    """

    def __init__(self, start: int) -> None:
        self.start = start  # positions >= start are the tape's own nodes, in order
        self.entries: list[tuple] = []
        self.external: dict[int, int] = {}  # a position before the tape -> its input number

    def __len__(self) -> int:
        return len(self.entries)

    def where(self, p: int) -> int:
        """The index in the tape's list of the node at position p (an input: a negative one)."""
        if p >= self.start:
            return p - self.start
        k = self.external.get(p)
        if k is None:
            k = self.external[p] = len(self.external)
        return -1 - k

    def add_weighted(self, inputs: Sequence[int], coefficients: Sequence[float],
                     constant: float, position: Sequence[int]) -> None:
        """A weighted sum Σ c·x + constant; `position` gives each recorded node's position."""
        if len(inputs) == 1:
            self.entries.append((_AFFINE, self.where(position[inputs[0]]), coefficients[0],
                                 constant))
            return
        self.entries.append((_WEIGHTED, tuple([self.where(position[j]) for j in inputs]),
                             tuple(coefficients), constant))

    def add_step(self, step: Step, position: Sequence[int]) -> None:
        """A recorded node, by its primitive's rule."""
        primitive = step.made_by
        if primitive.domain:
            self.entries.append((_ANY, tuple([self.where(position[j]) for j in step.inputs]),
                                 step))
            return
        if primitive.arity is None:  # sum, mean, dot: the rules read the operands as a list
            fixed = step.constant_edges()
            # each edge's derivative: all fixed (sum, mean): the numbers recorded; else the
            # rule, and the recorded number put in where an edge's is fixed
            if all(fixed):
                rule: Any = tuple(step.recorded)  # a tuple: numbers, not a rule to call
                overrides: tuple = ()
            else:
                rule = primitive.derivative
                overrides = tuple((k, r) for k, (r, f) in enumerate(zip(step.recorded, fixed))
                                  if f)
            self.entries.append((_NARY, tuple([self.where(position[j]) for j in step.inputs]),
                                 primitive.forward, rule, overrides, step))
            return
        fixed = step.constant_edges()
        key = (primitive, step.constant, step.left, fixed, True in fixed and step.recorded)
        how = _HOW.get(key)
        if how is None:
            rules = [recorded if is_fixed else rule for rule, recorded, is_fixed in
                     zip(_rules(step), step.recorded, fixed)]
            if len(step.inputs) == 2:
                how = (primitive.forward, *rules)
            else:  # the operands the rule reads: the Value, and the constant where it has one
                layout = 0 if step.constant is None else 2 if step.left else 1
                how = (primitive.forward, rules[0], layout, step.constant)
            if len(_HOW) >= 10_000:
                _HOW.clear()
            _HOW[key] = how
        if len(step.inputs) == 2:
            self.entries.append((_TWO_INPUTS, self.where(position[step.inputs[0]]),
                                 self.where(position[step.inputs[1]]), how))
        else:
            self.entries.append((_ONE_INPUT, self.where(position[step.inputs[0]]), how))

    def run_forward(self, local: list[float]) -> None:
        """Fill in the tape's own values, local[:len(self)], from its inputs at the end of
        `local`. An operand outside its op's domain raises eager's error; math.exp(1000)
        raises OverflowError, as it does in eager."""
        m = engine.FLOATS
        for k, entry in enumerate(self.entries):
            kind = entry[0]
            if kind == _AFFINE:
                local[k] = local[entry[1]] * entry[2] + entry[3]
            elif kind == _ONE_INPUT:
                forward, _, layout, constant = entry[2]
                if layout == 0:
                    local[k] = forward(m, local[entry[1]])
                elif layout == 1:
                    local[k] = forward(m, local[entry[1]], constant)
                else:
                    local[k] = forward(m, constant, local[entry[1]])
            elif kind == _TWO_INPUTS:
                local[k] = entry[3][0](m, local[entry[1]], local[entry[2]])
            elif kind == _NARY:
                local[k] = entry[2](m, [local[j] for j in entry[1]], entry[5])
            elif kind == _WEIGHTED:
                local[k] = sum([local[j] * c for j, c in zip(entry[1], entry[2])]) + entry[3]
            else:
                _, where, step = entry
                operands = [local[j] for j in where]
                if step.made_by.domain:
                    at = step.operands(operands)
                    varies = (True,) * len(at) if len(at) == len(where) else \
                        ((False, True) if step.left else (True, False))
                    engine.check_domain(step.made_by, at, varies)
                local[k] = step.forward(m, operands)

    def run_backward(self, local: list[float], g: list[float]) -> None:
        """Add each edge's upstream gradient × local derivative into g, last entry first.
        `g` is laid out as `local`; it holds the gradients from outside the tape on entry."""
        m = engine.FLOATS
        entries = self.entries
        for k in range(len(entries) - 1, -1, -1):
            entry = entries[k]
            upstream = g[k]
            kind = entry[0]
            if kind == _AFFINE:
                g[entry[1]] += upstream * entry[2]
            elif kind == _ONE_INPUT:
                a = entry[1]
                _, rule, layout, constant = entry[2]
                if type(rule) is not float:
                    if layout == 0:
                        rule = rule(m, local[k], local[a])
                    elif layout == 1:
                        rule = rule(m, local[k], local[a], constant)
                    else:
                        rule = rule(m, local[k], constant, local[a])
                g[a] += upstream * rule
            elif kind == _TWO_INPUTS:
                _, a, b, (_, rule_a, rule_b) = entry
                if type(rule_a) is not float:
                    rule_a = rule_a(m, local[k], local[a], local[b])
                if type(rule_b) is not float:
                    rule_b = rule_b(m, local[k], local[a], local[b])
                g[a] += upstream * rule_a
                g[b] += upstream * rule_b
            elif kind == _NARY:
                _, where, _, rule, overrides, step = entry
                if type(rule) is not tuple:
                    rule = rule(m, local[k], [local[j] for j in where], step)
                    if overrides:
                        rule = list(rule)
                        for e, recorded in overrides:
                            rule[e] = recorded
                for j, local_grad in zip(where, rule):
                    g[j] += upstream * local_grad
            elif kind == _WEIGHTED:
                for j, c in zip(entry[1], entry[2]):
                    g[j] += upstream * c
            else:
                _, where, step = entry
                for j, local_grad in zip(where, step.derivatives(m, local[k],
                                                                 [local[j] for j in where])):
                    g[j] += upstream * local_grad


def _rules(step: Step) -> list[Any]:
    """The derivative rule of each of the step's edges (one where a constant is folded in)."""
    primitive = step.made_by
    if step.constant is None:
        return list(primitive.derivative)
    return [primitive.derivative[1 if step.left else 0]]


__all__ = ["Tape"]
