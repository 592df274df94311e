"""A small micrograd-like engine, as a student writes it, with the classic bugs one switch away.

`engine(bug)` returns a fresh class: correct for `bug=None`, and for each name in
BUGS the same class with that one bug planted, as it is written in real assignments
and published engines. tests/test_diagnose.py checks that `diagnose` names each one.
The correct class keeps interior grads of the latest pass (they start from 0 in each
backward()) and sorts the graph with an explicit stack, so it passes every probe.
"""

from __future__ import annotations

import math
from collections import deque

BUGS = (
    "add_assigns",        # __add__'s backward: self.grad = out.grad (a + a gives 1)
    "mul_assigns",        # __mul__'s backward: self.grad = other.data * out.grad
    "mul_swapped",        # __mul__'s backward: self.grad += self.data * out.grad
    "exp_uses_input",     # exp's backward: self.grad += self.data * out.grad
    "tanh_one_minus_t",   # tanh's backward: (1 - t) instead of (1 - t**2)
    "naive_tanh",         # tanh as (e^2x - 1) / (e^2x + 1): overflows for large x
    "pow_no_minus_one",   # x ** n's backward: n * x ** n
    "sub_plus",           # a - b's backward: b.grad += out.grad
    "relu_uses_output",   # relu's backward: self.grad += out.data * out.grad
    "sigmoid_uses_input", # sigmoid's backward: x * (1 - x)
    "no_rmul",            # no __rmul__: 2 * v raises TypeError
    "no_radd",            # no __radd__: 2 + v raises TypeError
    "recursive_backward", # backward recurses into children: no topological order
    "unordered_walk",     # backward walks the graph breadth first from the output
    "recursive_topo",     # the topological sort recurses: dies on a deep chain
    "stale_interior",     # interior grads are not reset: a second backward() adds old ones
    "endless_backward",   # backward never returns (a while loop that never ends)
)


def engine(bug: str | None = None) -> type:
    """A fresh micrograd-like Value class with `bug` planted (None: no bug)."""
    if bug is not None and bug not in BUGS:
        raise ValueError(f"unknown bug {bug!r}; choose from {', '.join(BUGS)}")

    class Value:
        def __init__(self, data, _children=(), _op=""):
            self.data = data
            self.grad = 0.0
            self._backward = lambda: None
            self._prev = set(_children)
            self._op = _op

        def __repr__(self):
            return f"Value(data={self.data}, grad={self.grad})"

        def __add__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data + other.data, (self, other), "+")

            def _backward():
                if bug == "add_assigns":
                    self.grad = out.grad
                    other.grad = out.grad
                else:
                    self.grad += out.grad
                    other.grad += out.grad
            out._backward = _backward
            return out

        def __mul__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data * other.data, (self, other), "*")

            def _backward():
                if bug == "mul_assigns":
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad
                elif bug == "mul_swapped":
                    self.grad += self.data * out.grad
                    other.grad += other.data * out.grad
                else:
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad
            out._backward = _backward
            return out

        def __pow__(self, other):
            assert isinstance(other, (int, float)), "only int/float powers"
            out = Value(self.data ** other, (self,), f"**{other}")

            def _backward():
                power = other if bug == "pow_no_minus_one" else other - 1
                self.grad += other * self.data ** power * out.grad
            out._backward = _backward
            return out

        def __sub__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data - other.data, (self, other), "-")

            def _backward():
                self.grad += out.grad
                other.grad += out.grad if bug == "sub_plus" else -out.grad
            out._backward = _backward
            return out

        def __neg__(self):
            return self * -1

        def __radd__(self, other):
            return self + other

        def __rsub__(self, other):
            return Value(other) - self

        def __rmul__(self, other):
            return self * other

        def __truediv__(self, other):
            return self * other ** -1

        def __rtruediv__(self, other):
            return other * self ** -1

        def exp(self):
            out = Value(math.exp(self.data), (self,), "exp")

            def _backward():
                source = self.data if bug == "exp_uses_input" else out.data
                self.grad += source * out.grad
            out._backward = _backward
            return out

        def log(self):
            out = Value(math.log(self.data), (self,), "log")

            def _backward():
                self.grad += out.grad / self.data
            out._backward = _backward
            return out

        def tanh(self):
            if bug == "naive_tanh":
                e = math.exp(2 * self.data)
                t = (e - 1) / (e + 1)
            else:
                t = math.tanh(self.data)
            out = Value(t, (self,), "tanh")

            def _backward():
                local = 1 - t if bug == "tanh_one_minus_t" else 1 - t ** 2
                self.grad += local * out.grad
            out._backward = _backward
            return out

        def sigmoid(self):
            s = 0.5 * (1 + math.tanh(self.data / 2))
            out = Value(s, (self,), "sigmoid")

            def _backward():
                x = self.data if bug == "sigmoid_uses_input" else s
                self.grad += x * (1 - x) * out.grad
            out._backward = _backward
            return out

        def relu(self):
            out = Value(max(self.data, 0.0), (self,), "ReLU")

            def _backward():
                local = out.data if bug == "relu_uses_output" else float(out.data > 0)
                self.grad += local * out.grad
            out._backward = _backward
            return out

        def backward(self):
            if bug == "endless_backward":
                while True:
                    pass
            if bug == "recursive_backward":
                self.grad = 1.0
                self._recurse()
                return
            if bug == "unordered_walk":
                self.grad = 1.0
                queue, seen = deque([self]), {self}
                while queue:
                    node = queue.popleft()
                    node._backward()
                    for child in node._prev:
                        if child not in seen:
                            seen.add(child)
                            queue.append(child)
                return
            order = _recursive_order(self) if bug == "recursive_topo" else _order(self)
            if bug != "stale_interior":
                for node in order:
                    if node._prev:
                        node.grad = 0.0
            self.grad = 1.0
            for node in reversed(order):
                node._backward()

        def _recurse(self):
            self._backward()
            for child in self._prev:
                child._recurse()

    if bug == "no_rmul":
        del Value.__rmul__
    if bug == "no_radd":
        del Value.__radd__
    Value.__qualname__ = Value.__name__ = "Value" if bug is None else f"Value_{bug}"
    return Value


def _order(root) -> list:
    """Every node root depends on, inputs first, with an explicit stack (no depth limit)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if child not in visited)
    return order


def _recursive_order(root) -> list:
    """micrograd's recursive build_topo: fails past Python's recursion limit."""
    order, visited = [], set()

    def build(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build(child)
            order.append(node)
    build(root)
    return order


# Each engine by name, for the command line: tinygrad-edu diagnose
# tests/planted_engine.py:Value_mul_assigns (and Value, the right one).
Value = engine(None)
for _bug in BUGS:
    globals()[f"Value_{_bug}"] = engine(_bug)
