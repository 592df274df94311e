"""The "numpy" backend of `trace`: a recorded graph grouped into array operations.

A network's graph repeats itself: the same neuron runs on every example, the
same relu follows every neuron. This backend finds the repetition and runs each
repeated operation once, as one numpy call on an array:

1. Sums are flattened. A chain of single-use additions and constant factors
   (`sum(losses) * (1/n) + 1e-4 * sum(p*p)`) becomes one weighted sum,
   out = Σ coef_k · in_k + const: a *linear* node.
2. Nodes are grouped. Nodes that apply the same rule to inputs from the same
   groups form a group (the leaves are group 0), so a group only reads groups
   made before it. Each group owns a slice of one array of values, and of one
   array of gradients.
3. Each group becomes one array operation. Dot nodes whose weights are shared
   down the rows and whose inputs are shared along the columns (a layer on a
   batch) are one matrix product, X @ W.T + b; the backward pass is the two
   products dW = G.T @ X and dX = G @ W. Other groups gather their inputs by
   index and apply their rule elementwise; gradients are added back by index.

No primitive has code of its own here: an elementwise group reads its
primitive's rule with `ARRAYS` (the rules' math namespace for numpy arrays), and
whether a node is a weighted sum is the Primitive's answer to "is each edge's
derivative a fixed number?". numpy is imported by this module only.
"""

from __future__ import annotations

import math
from array import array
from typing import Callable, NamedTuple, Optional, Sequence, Union

import numpy as np

from tinygrad_edu import engine
from tinygrad_edu.tracing.recording import Recording, Step
from tinygrad_edu.tracing.tape import Tape

Array = np.ndarray


# ------------------------------------------------------------ the math of arrays
def _sigmoid(x: Array) -> Array:
    """σ(x) as the engine computes it: 1/(1 + e^-x) for x >= 0, e^x/(1 + e^x) below."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


class ArrayMath:
    """The math namespace of the rules for numpy arrays: one entry per node of a group."""

    exp, log, tanh, power, sigmoid = np.exp, np.log, np.tanh, np.power, _sigmoid

    @staticmethod
    def relu(x: Array) -> Array:
        return np.maximum(x, 0.0)

    @staticmethod
    def step(x: Array) -> Array:
        return x > 0.0  # a boolean array multiplies as 1.0 / 0.0

    @staticmethod
    def times_power(c: Array, a: Array, e: Array) -> Array:
        return np.where(c != 0.0, c * np.power(a, e), 0.0)

    @staticmethod
    def times_log(out: Array, a: Array) -> Array:
        return np.where(a > 0.0, out * np.log(np.where(a > 0.0, a, 1.0)), 0.0)

    @staticmethod
    def is_fraction(x: Array) -> Array:
        return np.floor(x) != x


ARRAYS = ArrayMath


def _linear(step: Step) -> Optional[tuple[tuple[float, ...], float]]:
    """A step as a weighted sum Σ coef_k · input_k + constant, if its primitive is linear.

    The Primitive says whether each edge's derivative is a fixed number; where all
    are (and the op is not a dot, which has its own schedule) those numbers are
    the coefficients, and the rule's forward at all-zero inputs is the constant.
    """
    if step.primitive is engine.DOT or not all(step.constant_edges()):
        return None
    constant = step.constant
    key = (step.primitive, step.recorded, constant, step.left, step.count,
           constant == 0.0 and math.copysign(1.0, constant))
    if key not in _LINEAR:
        if len(_LINEAR) >= 10_000:  # a graph of many different constants
            _LINEAR.clear()
        _LINEAR[key] = _affine(step)
    return _LINEAR[key]


# _linear's answers for nodes of one shape: most graphs repeat a few (`x * 0.999`, `a + b`).
_LINEAR: dict[tuple, Optional[tuple[tuple[float, ...], float]]] = {}


def _affine(step: Step) -> Optional[tuple[tuple[float, ...], float]]:
    """_linear's answer, found by reading the rule at 0, 1 and -1."""
    coefficients = tuple(step.recorded)
    constant = float(step.forward(engine.FLOATS, [0.0] * len(step.inputs)))
    # A fixed derivative makes an op affine only where it is smooth: relu's derivative, step,
    # has derivative 0 but is no constant. So the rule is asked once more, at 1 and at -1.
    for x in (1.0, -1.0):
        expected = x * sum(coefficients) + constant
        if not math.isclose(step.forward(engine.FLOATS, [x] * len(step.inputs)), expected,
                            rel_tol=1e-9, abs_tol=1e-12):
            return None
    return coefficients, constant


# ----------------------------------------------------- gathering and scattering
class Gather:
    """Reads values at given positions of the value array and adds gradients back there.

    A contiguous run of positions is a slice (no copy); positions without
    repeats add with `+=`; repeated positions need np.add.at.
    """

    def __init__(self, index: Array) -> None:
        self.index = np.asarray(index, dtype=np.intp)
        self._classify()

    def relabel(self, new_position: Array) -> None:
        """Point at the same values after they moved: position p is now new_position[p]."""
        self.index = new_position[self.index]
        self._classify()

    def _classify(self) -> None:
        flat = self.index.ravel()
        start = int(flat[0]) if flat.size else 0
        self.slice: Optional[slice] = None
        if flat.size and np.array_equal(flat, np.arange(start, start + flat.size)):
            self.slice = slice(start, start + flat.size)
        self.unique = len(set(flat.tolist())) == flat.size

    def take(self, values: Array) -> Array:
        """The values at the positions, shaped like the index."""
        if self.slice is not None:
            return values[self.slice].reshape(self.index.shape)
        return values[self.index]

    def add(self, grads: Array, contribution: Array) -> None:
        """grads[positions] += contribution, correct when a position repeats."""
        if self.slice is not None:
            grads[self.slice] += contribution.reshape(-1)
        elif self.unique:
            grads[self.index] += contribution
        else:
            np.add.at(grads, self.index, contribution)


# -------------------------------------------------------- the array operations
class Elementwise:
    """A group of unary or binary nodes: one numpy call forward, one per input backward."""

    def __init__(self, step: Step, out: slice, inputs: list[Array],
                 constants: Array) -> None:
        primitive = step.made_by
        self.primitive, self.step, self.out = primitive, step, out
        self.inputs = [Gather(index) for index in inputs]
        self.constants = constants  # each node's folded number, where the op has one
        # x * x (a square, as in an L2 penalty): read x once, and add 2x·g back once.
        self.square = primitive is engine.MUL and np.array_equal(inputs[0], inputs[1])
        self.saved: list[Array] = []

    def gathers(self) -> list[Gather]:
        return list(self.inputs)

    def forward(self, values: Array) -> None:
        if self.square:
            x = self.inputs[0].take(values)
            self.saved = [x]
            values[self.out] = x * x
            return
        self.saved = [gather.take(values) for gather in self.inputs]
        operands = self._operands()
        if self.primitive.domain:
            self._check_domain(operands)
        values[self.out] = self.primitive.evaluate(ARRAYS, *operands)

    def _check_domain(self, operands: list[Array]) -> None:
        """Refuse operands outside the op's domain with the eager engine's error, for the first
        node of the group that has one (the Primitive's own rules, read on arrays)."""
        varies = tuple(len(operands) == len(self.saved) or (k == 1) == self.step.left
                       for k in range(len(operands)))
        for domain in self.primitive.domain:
            bad = np.broadcast_to(domain.bad(ARRAYS, varies, *operands), operands[0].shape)
            if bad.any():
                k = int(np.argmax(bad))
                engine.check_domain(self.primitive, [float(x[k]) for x in operands], varies)

    def _operands(self) -> list[Array]:
        """The inputs as arrays, in the shape the rule reads them (with the constants' array)."""
        if self.step.constant is None:
            return self.saved
        return [self.constants, *self.saved] if self.step.left else [*self.saved, self.constants]

    def backward(self, values: Array, grads: Array) -> None:
        upstream = grads[self.out]
        if self.square:  # d(x·x)/dx = x + x, the two edges at once
            self.inputs[0].add(grads, upstream * (2.0 * self.saved[0]))
            return
        locals_ = self._derivatives(values[self.out])
        for gather, local in zip(self.inputs, locals_):
            gather.add(grads, upstream * local)


    def _derivatives(self, out: Array) -> list:
        """One array (or number) per input: the rule's derivative on this group's nodes."""
        step = self.step
        at = self._operands()
        positions = range(len(at)) if len(at) == len(self.saved) else ((1,) if step.left else (0,))
        result = []
        for k in positions:
            rule = self.primitive.derivative[k]
            result.append(rule(ARRAYS, out, *at) if callable(rule) else rule)
        return result


class Linear:
    """A group of weighted sums out = Σ coef_k · in_k + const, each with K terms."""

    def __init__(self, out: slice, index: Array, coefficients: Array, constants: Array) -> None:
        self.out, self.terms = out, Gather(index)
        self.coefficients = coefficients
        self.ones = bool(np.all(coefficients == 1.0))
        self.constants = constants if np.any(constants != 0.0) else None

    def gathers(self) -> list[Gather]:
        return [self.terms]

    def forward(self, values: Array) -> None:
        x = self.terms.take(values)
        m, k = x.shape
        if m == 1:  # one sum of many terms, such as a total loss
            result = np.array([x[0] @ self.coefficients[0]])
        elif k == 1:  # one term each, such as 1 - y * score
            result = x[:, 0] * self.coefficients[:, 0]
        else:
            result = x.sum(axis=1) if self.ones else (x * self.coefficients).sum(axis=1)
        if self.constants is not None:
            result += self.constants
        values[self.out] = result

    def backward(self, values: Array, grads: Array) -> None:
        upstream = grads[self.out][:, None]
        self.terms.add(grads, np.broadcast_to(upstream, self.coefficients.shape)
                       if self.ones else self.coefficients * upstream)


class MatrixProduct:
    """A layer of dot nodes on a batch: out[r, c] = Σ_k R[r, k] · L[c, k] + bias[c] + const.

    R holds what varies by row (the examples' inputs, as Values or as numbers
    baked in at recording time), L what varies by column (the neurons' weights),
    and a term whose row side is the number 1.0 everywhere is a bias.
    """

    def __init__(self, out: slice, shape: tuple[int, int], right: Optional[Array],
                 left: Optional[Array], baked: Optional[Array], baked_left: Optional[Array],
                 bias: Optional[Array], constants: Optional[Array]) -> None:
        self.out, self.shape = out, shape
        self.right = Gather(right) if right is not None else None
        self.left = Gather(left) if left is not None else None
        self.baked = baked  # rows × k numbers
        self.baked_left = Gather(baked_left) if baked_left is not None else None
        # One bias per column is the common case: keep it as a vector.
        self.one_bias = bias is not None and bias.shape[1] == 1
        self.bias = Gather(bias[:, 0] if self.one_bias else bias) if bias is not None else None
        self.constants = constants
        self.members: list[int] = []  # the recorded dot nodes it computes
        # Where a relu of every output goes, when this layer's only reader is that relu:
        # then the relu is done here, without a pass of its own (see _fuse_relus).
        self.relu: Optional[slice] = None
        self.saved: tuple = ()

    def gathers(self) -> list[Gather]:
        return [g for g in (self.right, self.left, self.baked_left, self.bias) if g is not None]

    def forward(self, values: Array) -> None:
        result = values[self.out].reshape(self.shape)  # a view: written in place
        x = w = None
        if self.right is not None and self.left is not None:  # given together: the pairs' sides
            x, w = self.right.take(values), self.left.take(values)
            np.matmul(x, w.T, out=result)
        else:
            result[...] = 0.0
        if self.baked_left is not None:
            result += self.baked @ self.baked_left.take(values).T
        if self.bias is not None:
            bias = self.bias.take(values)
            result += bias if self.one_bias else bias.sum(axis=1)
        if self.constants is not None:
            result += self.constants
        if self.relu is not None:
            np.maximum(result, 0.0, out=values[self.relu].reshape(self.shape))
        self.saved = (x, w)

    def backward(self, values: Array, grads: Array) -> None:
        if self.relu is not None:  # relu'(z) = 1 for z > 0, else 0
            z = values[self.out].reshape(self.shape)
            upstream = grads[self.relu].reshape(self.shape) * (z > 0.0)
        else:
            upstream = grads[self.out].reshape(self.shape)
        x, w = self.saved
        if self.right is not None and self.left is not None:
            self.left.add(grads, upstream.T @ x)  # dL/dW = G.T @ X
            self.right.add(grads, upstream @ w)  # dL/dX = G @ W
        if self.baked_left is not None:
            self.baked_left.add(grads, upstream.T @ self.baked)
        if self.bias is not None:
            column = upstream.sum(axis=0)
            self.bias.add(grads, column if self.one_bias
                          else np.broadcast_to(column[:, None], self.bias.index.shape))


class GatheredDot:
    """Dot nodes without a matrix layout: Σ a_k · b_k + Σ v_k · c_k + const, row by row."""

    def __init__(self, out: slice, pair_left: Array, pair_right: Array, singles: Array,
                 single_locals: Array, constants: Array) -> None:
        self.out = out
        self.pair_left, self.pair_right = Gather(pair_left), Gather(pair_right)
        self.singles, self.single_locals = Gather(singles), single_locals
        self.constants = constants
        self.saved: tuple = ()

    def gathers(self) -> list[Gather]:
        return [self.pair_left, self.pair_right, self.singles]

    def forward(self, values: Array) -> None:
        a, b = self.pair_left.take(values), self.pair_right.take(values)
        v = self.singles.take(values)
        self.saved = (a, b)
        values[self.out] = ((a * b).sum(axis=1) + (v * self.single_locals).sum(axis=1)
                            + self.constants)

    def backward(self, values: Array, grads: Array) -> None:
        upstream = grads[self.out][:, None]
        a, b = self.saved
        self.pair_left.add(grads, b * upstream)
        self.pair_right.add(grads, a * upstream)
        self.singles.add(grads, self.single_locals * upstream)


# A group of one node with at most this many inputs runs in a scalar run.
SCALAR_INPUTS = 8


class ScalarRun(Tape):
    """Consecutive groups of one node each (a chain, a deep net's single example), run as scalars.

    A numpy call costs about a microsecond whatever the size of its array, so a
    graph without repetition (a chain `x = relu(x * 0.999 + 0.001)`) would cost one
    call per node. Such nodes are written down as a tape of Python floats instead
    (tape.py: the eager engine's own float math and domain checks), and the run's
    values go in and out of the value array once per pass.
    """

    def __init__(self, start: int) -> None:
        super().__init__(start)  # the run's nodes own values[start:start + len(self)]
        self.inputs: Optional[Gather] = None
        self.out = slice(start, start)
        self.local: list[float] = []

    def close(self) -> None:
        """The run is complete: where its values go, and the Gather of its inputs."""
        self.out = slice(self.start, self.start + len(self))
        self.inputs = Gather(np.array(list(self.external)[::-1], dtype=np.intp))

    def gathers(self) -> list[Gather]:
        return [self.inputs] if self.inputs is not None else []

    def forward(self, values: Array) -> None:
        own = len(self)
        local = [0.0] * own
        local += self.inputs.take(values).tolist()  # type: ignore[union-attr]
        try:
            self.run_forward(local)
        except OverflowError:  # math.exp(1000): numpy's arrays give inf, reported the same way
            raise FloatingPointError("a value inside the graph is not finite (an overflow); "
                                     "the eager engine refuses it at the operation") from None
        self.local = local
        values[self.out] = local[:own]

    def backward(self, values: Array, grads: Array) -> None:
        own, local = len(self), self.local
        g = grads[self.out].tolist()
        g += [0.0] * (len(local) - own)
        self.run_backward(local, g)
        if len(g) > own:
            self.inputs.add(grads, np.array(g[own:]))  # type: ignore[union-attr]


# ------------------------------------------------------------------ compiling
class _Linear(NamedTuple):
    """A node lowered to a weighted sum of earlier nodes: Σ coefficients[k] · inputs[k] + constant.

    Two sequences rather than one of pairs, tuples where nothing was flattened into the
    node (a chain's `x * 0.999` shares its one coefficient with every other link): a graph
    may have millions of these.
    """

    inputs: Sequence[int]  # positions in the recording
    coefficients: Sequence[float]
    constant: float


def _lower(recording: Recording) -> tuple[dict[int, _Linear], bytearray, bytes]:
    """The linear nodes, with single-use linear inputs flattened into their one consumer.

    Returns them, a flag per node (1 where a linear node was flattened away), and a flag
    per node that is read by exactly one node (1 byte each: a graph may have millions).
    """
    steps = recording.steps
    uses = [0] * len(steps)
    for step in steps:
        for j in step.inputs:
            uses[j] += 1
    keep = set(recording.outputs) | {recording.root}
    linear: dict[int, _Linear] = {}
    folded_away = bytearray(len(steps))
    for i, step in enumerate(steps):
        lowered = None if step.primitive is None else _linear(step)
        if lowered is None:
            continue
        coefficients, constant = lowered
        if not any(j in linear and uses[j] == 1 and j not in keep for j in step.inputs):
            linear[i] = _Linear(step.inputs, coefficients, constant)  # nothing to flatten
            continue
        inputs: Sequence[int] = ()
        weights: Sequence[float] = ()
        for j, coefficient in zip(step.inputs, coefficients):
            inner = linear.get(j)
            if inner is not None and uses[j] == 1 and j not in keep:
                if not inputs and coefficient == 1.0:
                    # a chain a + b + c + ...: grow one pair of lists, no copies; an inner
                    # node's tuples are shared until something is added to them (a chain
                    # `x * 0.999 + 0.001` then makes no new tuple per link)
                    inputs, weights = inner.inputs, inner.coefficients
                else:
                    inputs, weights = _growable(inputs, weights)
                    inputs += inner.inputs
                    weights += [coefficient * c for c in inner.coefficients]
                constant += coefficient * inner.constant
                del linear[j]  # folded into this node: never computed on its own
                folded_away[j] = 1
            else:
                inputs, weights = _growable(inputs, weights)
                inputs.append(j)
                weights.append(coefficient)
        if len(inputs) <= 1 and type(inputs) is list:
            inputs, weights = tuple(inputs), tuple(weights)
        linear[i] = _Linear(inputs, weights, constant)
    return linear, folded_away, bytes([n == 1 for n in uses])


def _growable(inputs: Sequence[int], weights: Sequence[float]) -> tuple[list, list]:
    """The lists of a weighted sum being built: tuples (shared with a step or another sum)
    are copied before anything is added to them; lists are grown in place."""
    if type(inputs) is list:
        return inputs, weights  # type: ignore[return-value]
    return list(inputs), list(weights)


def _order(keys: dict[tuple, int], rank: Callable[[tuple], int]) -> dict[int, int]:
    """New numbers for the entries of `keys` (key -> number), sorted by rank(key)."""
    ranked = sorted(keys, key=rank)
    return {keys[key]: k for k, key in enumerate(ranked)}


def _as_block(right: Array, left: Array) -> tuple[Array, Array]:
    """Make X a contiguous block of the value array where it is one up to a column order.

    A layer reads the previous layer's outputs x_k in the order of its weights
    w_k, which need not be the order they sit in; the sum Σ_k x_k w_k does not
    care, so the weights' columns are put in the values' order instead.
    """
    if right.size == 0:
        return right, left
    base = int(right.min())
    relative = right - base
    n_rows, n_columns = right.shape
    order = np.argsort(relative[0])
    expected = np.arange(n_columns) + n_columns * np.arange(n_rows)[:, None]
    if not np.array_equal(relative[:, order], expected):
        return right, left
    return base + expected, left[:, order]


class NumpyBackend:
    """Runs a recording as a short list of array operations over one array of values."""

    name = "numpy"

    def __init__(self, recording: Recording, gradients: bool = True,
                 scalar_runs: bool = True) -> None:
        """scalar_runs=False: every group is an array operation, a group of one node too (for
        a reader of the operations that wants each node's own; runs are the fast way)."""
        steps = recording.steps
        self.gradients = gradients  # False: a forward-only program, no backward pass
        linear, folded_away, used_once = _lower(recording)
        n_leaves = len(recording.leaves)
        # Per node of the recording: its place in the value array (the leaves come first), and
        # its group (the leaves' is -1). A graph may have millions of nodes.
        position = array("q", bytes(8 * len(steps)))
        group_of: list[int] = [-1] * len(steps)  # a list: it shares the numbers, makes none
        for k, leaf in enumerate(recording.leaves):
            position[leaf] = k
        # A group is known by its first node; nodes with the same key run as one operation:
        # the same rule, inputs from the same groups.
        groups: dict[tuple, int] = {}  # a group's key -> its first node
        firsts: list[int] = []  # each group's first node, in the order the groups were made
        more: dict[int, list[int]] = {}  # a group of several nodes: its first -> all its nodes
        for i, step in enumerate(steps):
            if step.primitive is None or folded_away[i]:
                continue  # a leaf, or folded into a weighted sum
            lowered = linear.get(i)
            if lowered is not None:
                key: tuple = ("linear", *map(group_of.__getitem__, lowered.inputs))
            elif step.primitive is engine.DOT:
                key = ("dot", step.pairs, step.constant is None, *map(group_of.__getitem__,
                                                                      step.inputs))
            else:
                key = (step.primitive, step.constant is None, step.left,
                       *map(group_of.__getitem__, step.inputs))
            first = groups.get(key)
            if first is None:
                first = groups[key] = i
                firsts.append(i)
            elif first in more:
                more[first].append(i)
            else:
                more[first] = [first, i]
            group_of[i] = first
        del groups, group_of
        self.operations: list = []
        size = n_leaves
        run: Optional[ScalarRun] = None  # the scalar run being written, if any
        for i in firsts:
            members = more.get(i)
            lowered = linear.get(i)
            terms = steps[i].inputs if lowered is None else lowered.inputs
            if scalar_runs and members is None and len(terms) <= SCALAR_INPUTS:
                if run is None:
                    run = ScalarRun(size)
                    self.operations.append(run)
                if lowered is not None:
                    run.add_weighted(*lowered, position)
                    del linear[i]  # in the tape now (a graph may have millions of these)
                else:
                    run.add_step(steps[i], position)
                position[i] = size
                size += 1
                continue
            if run is not None:
                run.close()
                run = None
            operation, cells = self._compile(members or [i], steps, linear, position, size)
            for i, cell in cells.items():
                position[i] = size + cell
            size += max(cells.values()) + 1
            self.operations.append(operation)
        if run is not None:
            run.close()
        self.size, self.n_leaves = size, n_leaves
        self._fuse_relus(used_once)
        self.leaf_order, moved = self._place_leaves(recording)
        # A leaf returned beside the loss (or as the loss) moved with the leaves' new layout.
        self.root = int(moved[position[recording.root]])
        self.outputs = moved[np.array([position[i] for i in recording.outputs], dtype=np.intp)]
        self.values = np.zeros(size)
        self.grads = np.zeros(size if gradients else 0)

    def _fuse_relus(self, used_once: bytes) -> None:
        """Let a matrix product apply the relu that reads all of it and that alone reads it."""
        if not any(isinstance(op, MatrixProduct) for op in self.operations):
            return
        products = {(op.out.start, op.out.stop): op for op in self.operations
                    if isinstance(op, MatrixProduct)}
        fused = set()
        for k, op in enumerate(self.operations):
            if not (isinstance(op, Elementwise) and op.primitive is engine.RELU
                    and op.inputs[0].slice is not None):
                continue
            product = products.get((op.inputs[0].slice.start, op.inputs[0].slice.stop))
            if product is not None and product.relu is None \
                    and all(used_once[i] for i in product.members):
                product.relu = op.out
                fused.add(k)
        self.operations = [op for k, op in enumerate(self.operations) if k not in fused]

    def _place_leaves(self, recording: Recording) -> tuple[list[int], Array]:
        """Lay the leaves out so that each layer's weights and biases are one block, row by row.

        Returns the leaves' recording positions in their new order (the order in
        which run() takes their data and gives their gradients), and where each
        value's old position is now.
        """
        n = self.n_leaves
        placed: dict[int, None] = {}  # old leaf positions, in their new order
        products_first = sorted(self.operations, key=lambda op: type(op) is not MatrixProduct)
        for operation in products_first:
            for gather in operation.gathers():
                for p in gather.index.ravel().tolist():
                    if p < n and p not in placed:
                        placed[p] = None
        order = list(placed) + [p for p in range(n) if p not in placed]
        new_position = np.arange(self.size)
        new_position[order] = np.arange(n)
        for operation in self.operations:
            for gather in operation.gathers():
                gather.relabel(new_position)
        return [recording.leaves[p] for p in order], new_position

    def _compile(self, members: list[int], steps: list[Step], linear: dict[int, _Linear],
                 position: Sequence[int], offset: int) -> tuple[object, dict[int, int]]:
        """The array operation of one group, and where each member's value goes in it."""
        first = steps[members[0]]
        if members[0] in linear:
            return self._linear_group(members, linear, position, offset)
        if first.primitive is engine.DOT:
            grid = self._matrix_product(members, steps, position, offset)
            if grid is not None:
                return grid
            return self._gathered_dot(members, steps, position, offset)
        # Members in the order of their first input, so a relu after a layer reads it in place.
        members = sorted(members, key=lambda i: position[steps[i].inputs[0]])
        cells = {i: k for k, i in enumerate(members)}
        out = slice(offset, offset + len(members))
        inputs = [np.array([position[steps[i].inputs[k]] for i in members])
                  for k in range(len(first.inputs))]
        constants = np.array([steps[i].constant or 0.0 for i in members])
        return Elementwise(first, out, inputs, constants), cells

    @staticmethod
    def _linear_group(members: list[int], linear: dict[int, _Linear],
                      position: Sequence[int], offset: int) -> tuple[object, dict[int, int]]:
        members = sorted(members, key=lambda i: position[linear[i].inputs[0]]
                         if linear[i].inputs else 0)
        index = np.array([[position[j] for j in linear[i].inputs] for i in members],
                         dtype=np.intp).reshape(len(members), -1)
        coefficients = np.array([linear[i].coefficients for i in members]
                                ).reshape(len(members), -1)
        constants = np.array([linear[i].constant for i in members])
        out = slice(offset, offset + len(members))
        return (Linear(out, index, coefficients, constants),
                {i: k for k, i in enumerate(members)})

    @staticmethod
    def _dot_terms(step: Step, position: Sequence[int], biases: set[int]
                   ) -> tuple[list, list, list]:
        """A dot node's terms as (left Value, right Value) pairs, (Value, number) singles,
        and the Values at the positions in `biases` (those with the number 1.0)."""
        paired = 2 * step.pairs
        pairs = [(position[step.inputs[k]], position[step.inputs[k + 1]])
                 for k in range(0, paired, 2)]
        singles = [(position[step.inputs[k]], step.recorded[k])
                   for k in range(paired, len(step.inputs)) if k not in biases]
        return pairs, singles, [position[step.inputs[k]] for k in sorted(biases)]

    def _matrix_product(self, members: list[int], steps: list[Step], position: Sequence[int],
                        offset: int) -> Optional[tuple[object, dict[int, int]]]:
        """The group as X @ W.T + b if its nodes form a full rows × columns grid, else None."""
        first = steps[members[0]]
        # A term whose number is 1.0 in every node of the group is a bias: b · 1.0.
        biases = {k for k in range(2 * first.pairs, len(first.inputs))
                  if all(steps[i].recorded[k] == 1.0 for i in members)}
        rows: dict[tuple, int] = {}
        columns: dict[tuple, int] = {}
        where: dict[int, tuple[int, int]] = {}
        paired = 2 * first.pairs
        singles = [k for k in range(paired, len(first.inputs)) if k not in biases]
        bias_at = sorted(biases)
        for i in members:
            step = steps[i]
            at = [position[j] for j in step.inputs]
            row = (tuple(at[1:paired:2]), tuple([step.recorded[k] for k in singles]))
            column = (tuple(at[0:paired:2]), tuple([at[k] for k in singles]),
                      tuple([at[k] for k in bias_at]))
            where[i] = (rows.setdefault(row, len(rows)), columns.setdefault(column, len(columns)))
        # Rows and columns in the order their values sit in the value array, so that a layer
        # reading the previous one reads a block of it.
        row_order = _order(rows, lambda key: min(key[0], default=0))
        column_order = _order(columns, lambda key: min(key[0] + key[1] + key[2], default=0))
        n_rows, n_columns = len(rows), len(columns)
        cells = {i: row_order[r] * n_columns + column_order[c] for i, (r, c) in where.items()}
        constants = np.zeros(n_rows * n_columns)
        filled = np.zeros(n_rows * n_columns, dtype=bool)
        for i, cell in cells.items():
            constant = (steps[i].constant or 0.0)
            if filled[cell] and constants[cell] != constant:
                return None  # two nodes on one cell that differ: not a grid
            constants[cell], filled[cell] = constant, True
        if not filled.all():
            return None
        row_keys = sorted(rows, key=lambda key: row_order[rows[key]])
        column_keys = sorted(columns, key=lambda key: column_order[columns[key]])
        pairs_count = len(row_keys[0][0])
        right = np.array([key[0] for key in row_keys], dtype=np.intp).reshape(n_rows, -1)
        left = np.array([key[0] for key in column_keys], dtype=np.intp).reshape(n_columns, -1)
        right, left = _as_block(right, left)
        baked = np.array([key[1] for key in row_keys]).reshape(n_rows, -1)
        baked_left = np.array([key[1] for key in column_keys], dtype=np.intp
                              ).reshape(n_columns, -1)
        bias = np.array([key[2] for key in column_keys], dtype=np.intp).reshape(n_columns, -1)
        out = slice(offset, offset + n_rows * n_columns)
        operation = MatrixProduct(
            out, (n_rows, n_columns),
            right if pairs_count else None, left if pairs_count else None,
            baked if baked.shape[1] else None, baked_left if baked.shape[1] else None,
            bias if bias.shape[1] else None,
            constants.reshape(n_rows, n_columns) if constants.any() else None)
        operation.members = list(cells)
        return operation, cells

    def _gathered_dot(self, members: list[int], steps: list[Step], position: Sequence[int],
                      offset: int) -> tuple[object, dict[int, int]]:
        m = len(members)
        pair_left, pair_right, singles, single_locals = [], [], [], []
        for i in members:
            pairs, numbers, _ = self._dot_terms(steps[i], position, set())
            pair_left.append([w for w, _ in pairs])
            pair_right.append([x for _, x in pairs])
            singles.append([v for v, _ in numbers])
            single_locals.append([c for _, c in numbers])
        out = slice(offset, offset + m)
        constants = np.array([(steps[i].constant or 0.0) for i in members])
        operation = GatheredDot(out, np.array(pair_left, dtype=np.intp).reshape(m, -1),
                                np.array(pair_right, dtype=np.intp).reshape(m, -1),
                                np.array(singles, dtype=np.intp).reshape(m, -1),
                                np.array(single_locals).reshape(m, -1), constants)
        return operation, {i: k for k, i in enumerate(members)}

    def run(self, data: list[float]) -> tuple[float, list[float], list[float]]:
        """(root value, extra values, leaf gradients) at the given leaf values."""
        value, extras, grads = self.run_arrays(data)
        return value, extras, grads.tolist()

    def run_arrays(self, data: Union[Array, Sequence[float]]) -> tuple[float, list[float], Array]:
        """run(), with the leaves' data and gradients as arrays: a training program's step.

        The gradients are a view of the backend's own array, good until the next run.
        """
        values, grads = self.values, self.grads
        values[:self.n_leaves] = data
        with np.errstate(all="ignore"):  # a non-finite result is reported by the Program
            for operation in self.operations:
                operation.forward(values)
            if not np.isfinite(values).all():  # eager refuses a NaN or inf at the operation
                raise FloatingPointError("a value inside the graph is not finite (an overflow); "
                                         "the eager engine refuses it at the operation")
            if self.gradients:
                grads.fill(0.0)
                grads[self.root] = 1.0
                for operation in reversed(self.operations):
                    operation.backward(values, grads)
        return float(values[self.root]), values[self.outputs].tolist(), grads[:self.n_leaves]


__all__ = ["ARRAYS", "ArrayMath", "NumpyBackend"]
