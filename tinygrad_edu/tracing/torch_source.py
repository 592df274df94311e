"""The traced forward pass written as a PyTorch function: how scalar code becomes tensor code.

`torch_code(recording)` writes the forward pass of a recorded graph as one
Python function over torch tensors. Where the numpy backend grouped the graph
into array operations, each group is one line: a layer of dot nodes on a batch
is `X @ layers_0_weight.T + layers_0_bias` (with its relu around it when the
backend fused one), a group of sigmoids is one `torch.sigmoid`, a chain of sums
is one `.sum()` or `.mean()`. Without numpy, or for a graph with no repetition,
it is scalar tensor code, one line per node.

Each op is written by reading its primitive's forward rule with `TENSORS`, a
math namespace that writes torch source (`m.exp(x)` is `torch.exp(x)`), so an
op added to the engine appears here with no edit; an op whose rule calls a
function the namespace lacks is refused, naming it. The backward pass is
torch.autograd's: the function only computes forward.

The leaves become the function's arguments, grouped into tensors by their
labels: the parameters of `nn` (`layers.0.neurons.3.w.1`) become
`layers_0_weight[3, 1]`, as in `tinygrad_edu.torch.to_torch`; labels such as
`x3.1` and `y3` (what `fit(compile=True)` gives its inputs) become `x[3, 1]`
and `y[3]`. Unlabelled leaves that a layer reads as its inputs become `X`,
others that are read together become `y`, and a lone leaf is a 0-d tensor of
its own. Numbers the trace baked in (a first layer fed plain floats) become a
constant tensor above the function. `TorchCode.places` says where each leaf
sits, so a caller builds the arguments from the leaves' data
(`tinygrad_edu.torch.torch_inputs(program)` does it).

This module imports neither torch nor (unless it is there) numpy: it writes text.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from tinygrad_edu.engine import Value
from tinygrad_edu.tracing.python_backend import SOURCE, Expr, _call, _expr, literal, variable_names
from tinygrad_edu.tracing.recording import Recording

# A list of positions longer than this, or a tensor literal longer than that many
# characters, is written above the function, under a name.
INLINE_NUMBERS = 8
INLINE_CHARACTERS = 60
# A weighted sum or dot of at most this many terms per row is written term by term.
TERMS_WRITTEN_OUT = 4
# What the generated code runs with: `exec(source, {"torch": torch})`.
HEADER = "import torch\n"


# ---------------------------------------------------------------- the namespace
def _calling(function: str) -> Any:
    """A namespace entry that writes a call of `function` on its one argument."""
    return lambda x: _call(function, x)


class TensorMath:
    """The math namespace that writes torch: each function gives the source that computes it.

    The forward rules of the engine's primitives are read with it; a rule that
    calls a function this namespace has no spelling for is refused, naming it.
    """

    # One torch function each, of one tensor: `m.exp(x)` is `torch.exp(x)`.
    exp, log, tanh, sigmoid, relu = (staticmethod(_calling(f"torch.{name}")) for name in
                                     ("exp", "log", "tanh", "sigmoid", "relu"))

    @staticmethod
    def step(x: Any) -> Expr:
        """relu's derivative, 1.0 where x > 0 else 0.0 (as a float tensor)."""
        return Expr(f"({_expr(x).text} > 0.0).double()")

    @staticmethod
    def power(a: Any, b: Any) -> Any:
        """a ** b: `x ** 2.0` for a whole number exponent, else torch.pow(a, b)."""
        if type(a) is not Expr and type(b) is not Expr:
            return float(a) ** float(b)
        if type(b) is not Expr and float(b).is_integer():
            return SOURCE.power(a, b)
        return _call("torch.pow", a, b)

    sum_of = staticmethod(SOURCE.sum_of)  # a + b + c, as the rules add

    def __getattr__(self, name: str) -> Any:
        raise TypeError(f"torch_source: an op's forward rule calls m.{name}(...), which has no "
                        f"torch spelling yet; add `{name}` to TensorMath in "
                        f"tinygrad_edu/tracing/torch_source.py")


TENSORS = TensorMath()


# ------------------------------------------------------------------ the result
@dataclass
class TorchCode:
    """The generated source, and where each leaf of the graph sits in its arguments.

    `places[k]` is (leaf Value, argument name, index in that tensor) for every
    leaf; `shapes` gives each argument's shape, in the order the function takes them;
    `vectorised` says whether the numpy backend's groups were written (else one line a node).
    """

    source: str
    function_name: str
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    places: list[tuple[Value, str, tuple[int, ...]]] = field(default_factory=list)
    vectorised: bool = False

    def argument_data(self) -> dict[str, Any]:
        """Each argument's numbers from the leaves' current .data, as nested lists (or a float)."""
        data: dict[str, Any] = {name: _zeros(shape) for name, shape in self.shapes.items()}
        for leaf, name, index in self.places:
            if not index:
                data[name] = leaf.data
                continue
            row = data[name]
            for k in index[:-1]:
                row = row[k]
            row[index[-1]] = leaf.data
        return data


def _zeros(shape: tuple[int, ...]) -> Any:
    if not shape:
        return 0.0
    return [_zeros(shape[1:]) for _ in range(shape[0])]


def torch_code(recording: Recording, function_name: str = "forward",
               vectorise: bool = True) -> TorchCode:
    """The forward pass of `recording` as a PyTorch function (see the module's doc).

    vectorise=False, or no numpy installed, writes scalar tensor code: one line
    per node, one 0-d tensor argument per leaf.
    """
    if vectorise:
        try:
            from tinygrad_edu.tracing.numpy_backend import NumpyBackend
        except ImportError:  # no numpy: the scalar form needs none
            vectorise = False
    if not vectorise:
        return _scalar_code(recording, function_name)
    backend = NumpyBackend(recording, gradients=False, scalar_runs=False)  # a line per group
    return _Writer(recording, backend, function_name).write()


# ------------------------------------------------------------ the scalar form
def _scalar_code(recording: Recording, function_name: str) -> TorchCode:
    """One line per node: each step's rule read with TENSORS on its inputs' names."""
    names = variable_names(recording)
    root = recording.root
    if recording.steps[root].primitive is not None and "loss" not in names:
        names[root] = "loss"  # what trace() calls the Value fn returns first
    lines = []
    for i, step in enumerate(recording.steps):
        if step.primitive is not None:
            value = _expr(step.forward(TENSORS, [Expr(names[j]) for j in step.inputs]))
            lines.append(f"    {names[i]} = {value.text}")
    shapes: dict[str, tuple[int, ...]] = {names[i]: () for i in recording.leaves}
    places: list[tuple[Value, str, tuple[int, ...]]] = [(recording.nodes[i], names[i], ())
                                                        for i in recording.leaves]
    extras = (f"torch.stack([{', '.join(names[j] for j in recording.outputs)}])"
              if recording.outputs else None)
    return TorchCode(_function(function_name, shapes, [], lines, names[root], extras),
                     function_name, shapes, places, False)


def _function(function_name: str, shapes: dict[str, tuple[int, ...]], constants: list[str],
              lines: list[str], result: str, extras: Optional[str]) -> str:
    """The whole source: the import, the constants, the def with its arguments' shapes."""
    head = [HEADER.rstrip("\n")]
    if constants:
        head += ["", *constants]
    opening = f"def {function_name}("
    head += ["", "", *_wrapped(list(shapes), opening, " " * len(opening), "):")]
    described = [f"{name}: {_shape_text(shape) or 'a number'}" for name, shape in shapes.items()]
    if len(described) > 12:
        described = [*described[:11], f"... ({len(shapes)} tensors in all)"]
    head += _wrapped(described, "    # ", "    # ", "")
    tail = f"    return {result}" + (f", {extras}" if extras else "")
    return "\n".join(head + lines + [tail]) + "\n"


def _wrapped(items: list[str], first: str, indent: str, end: str, width: int = 96) -> list[str]:
    """`first` + the items joined by ", " + `end`, over lines of at most `width` characters."""
    lines, line = [], first
    for k, item in enumerate(items):
        text = item + ("," if k < len(items) - 1 else end)
        if line not in (first, indent) and len(line) + 1 + len(text) > width:
            lines.append(line)
            line = indent
        line += text if line in (first, indent) else " " + text
    if not items:
        line += end
    lines.append(line)
    return lines


def _shape_text(shape: Sequence[int]) -> str:
    """`8 x 4` for a shape, `4 values` for a vector; "" for a 0-d tensor."""
    if len(shape) == 1:
        return f"{shape[0]} values" if shape[0] != 1 else "1 value"
    return " x ".join(map(str, shape))


# ---------------------------------------------------------- the vectorised form
_NEURON = re.compile(r"(?:(.*)\.)?neurons\.(\d+)\.(?:w\.(\d+)|b)")
_NUMBERED = re.compile(r"(.*?[A-Za-z_])(\d+)")


def label_place(label: str) -> Optional[tuple[str, tuple[int, ...]]]:
    """Which tensor a leaf's label puts it in, and where: `layers.0.neurons.3.w.1` is
    (`layers.0.weight`, (3, 1)), `x3.1` is (`x`, (3, 1)), `a` is (`a`, ()); None without one."""
    neuron = _NEURON.fullmatch(label)
    if neuron:
        prefix = f"{neuron.group(1)}." if neuron.group(1) else ""
        if neuron.group(3) is not None:
            return f"{prefix}weight", (int(neuron.group(2)), int(neuron.group(3)))
        return f"{prefix}bias", (int(neuron.group(2)),)
    parts = label.split(".")
    index: list[int] = []
    while len(parts) > 1 and parts[-1].isdigit():
        index.insert(0, int(parts.pop()))
    head = ".".join(parts)
    numbered = _NUMBERED.fullmatch(head)
    if numbered:
        head, index = numbered.group(1), [int(numbered.group(2)), *index]
    if not head or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", head):
        return None
    return head, tuple(index)


def _python_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


class _Writer:
    """Writes a NumpyBackend's operations as torch lines, keeping where every value sits.

    Every position of the backend's value array (its leaves first, then each
    operation's outputs) gets a place: a tensor's name and an index in it.
    Reading a group of positions is then a tensor expression: the whole tensor
    where they are all of it in order, a slice or an index where they are part
    of one, `torch.cat` where they come from several.
    """

    def __init__(self, recording: Recording, backend: Any, function_name: str) -> None:
        import numpy as np  # the backend is here, so numpy is

        self.np = np
        self.recording, self.backend, self.function_name = recording, backend, function_name
        self.leaves = [recording.nodes[i] for i in backend.leaf_order]
        self.leaf_names = variable_names(recording)
        self.shapes: dict[str, tuple[int, ...]] = {}  # every tensor, in the order it was made
        self.arguments: dict[str, tuple[int, ...]] = {}  # the leaves' tensors, in order of use
        self.leaf_tensors: set[str] = set()
        self.place: dict[int, tuple[str, tuple[int, ...]]] = {}
        self.used = set(keyword.kwlist) | {"torch", "sum", function_name}
        self.constants: list[str] = []
        self.lines: list[tuple[str, str]] = []  # (code, comment)
        self.counters: dict[str, int] = {}
        self.loose: set[int] = set()
        # The arguments the layers read (their inputs, weights and biases) come first.
        self.in_product = False
        self.product_arguments: list[str] = []
        self.layer = 0  # the matrix products written so far: z1, z2, ...
        self._label_tensors()

    # ------------------------------------------------------------ names and places
    def _fresh(self, base: str) -> str:
        """`base` if free, else base_2, base_3, ..."""
        base = _python_name(base) or "v"
        if base[0].isdigit():
            base = f"_{base}"
        name, k = base, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def _numbered(self, base: str) -> str:
        """base1, base2, ... (the next free one)."""
        while True:
            self.counters[base] = self.counters.get(base, 0) + 1
            name = f"{base}{self.counters[base]}"
            if name not in self.used:
                self.used.add(name)
                return name

    def _tensor(self, name: str, shape: tuple[int, ...], cells: Sequence[int],
                leaves: bool = False) -> None:
        """A tensor whose flat entries k hold the values at positions cells[k]."""
        self.shapes[name] = shape
        for flat, position in enumerate(cells):
            self.place[int(position)] = (name, self._unravel(flat, shape))
        if leaves:
            self.leaf_tensors.add(name)

    @staticmethod
    def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
        index = []
        for size in reversed(shape):
            flat, k = divmod(flat, size)
            index.append(k)
        return tuple(reversed(index))

    def _flat(self, name: str, index: tuple[int, ...]) -> int:
        return self._flat_of(index, self.shapes[name])

    def _label_tensors(self) -> None:
        """The leaves whose labels make whole tensors (a layer's weights, x3.1, y3) get them."""
        groups: dict[str, list[tuple[tuple[int, ...], int]]] = {}
        for k, leaf in enumerate(self.leaves):
            found = label_place(leaf.label) if leaf.label else None
            if found is None:
                self.loose.add(k)
            else:
                groups.setdefault(found[0], []).append((found[1], k))
        for head, members in groups.items():
            ranks = {len(index) for index, _ in members}
            shape = tuple(max(index[d] for index, _ in members) + 1
                          for d in range(ranks.pop())) if len(ranks) == 1 else None
            indices = {index for index, _ in members}
            if shape is None or len(indices) != len(members) or math.prod(shape) != len(members):
                self.loose.update(k for _, k in members)  # not a whole tensor: read one by one
                continue
            name = self._fresh(head)
            cells = [0] * len(members)
            for index, k in members:
                cells[self._flat_of(index, shape)] = k
            self._tensor(name, shape, cells, leaves=True)

    @staticmethod
    def _flat_of(index: tuple[int, ...], shape: tuple[int, ...]) -> int:
        flat = 0
        for k, size in zip(index, shape):
            flat = flat * size + k
        return flat

    def _claim(self, positions: Any, base: str) -> None:
        """Give the unlabelled leaves among `positions` a tensor: one named `base` if they are
        all of them and distinct, else a 0-d tensor each, named as in program.source."""
        flat = [int(p) for p in positions.ravel()]
        loose = [p for p in flat if p in self.loose]
        if not loose:
            return
        if len(loose) == len(flat) > 1 and len(set(flat)) == len(flat):
            shape = tuple(positions.shape)
            self._tensor(self._fresh(base), shape, flat, leaves=True)
            self.loose.difference_update(flat)
            return
        for p in dict.fromkeys(loose):
            self._tensor(self._fresh(self.leaf_names[self.backend.leaf_order[p]]), (), [p],
                         leaves=True)
            self.loose.discard(p)

    def _places(self, positions: Any) -> list[tuple[str, int]]:
        """(tensor, flat index in it) of each position, in order; leaf tensors become arguments."""
        found = []
        for p in positions.ravel().tolist():
            if p in self.loose:
                self._claim(self.np.array([p]), "")
            name, index = self.place[p]
            if name in self.leaf_tensors and name not in self.arguments:
                self.arguments[name] = self.shapes[name]
            if self.in_product and name in self.leaf_tensors:
                self.product_arguments.append(name)
            found.append((name, self._flat(name, index)))
        return found

    # ------------------------------------------------------------------ reading
    def read(self, positions: Any, shape: tuple[int, ...], base: str = "y") -> Expr:
        """The values at `positions` as a tensor expression of `shape`."""
        positions = self.np.asarray(positions)
        self._claim(positions, base)
        places = self._places(positions)
        names = list(dict.fromkeys(name for name, _ in places))
        if len(names) == 1:
            return self._part(names[0], [flat for _, flat in places], shape)
        runs: list[tuple[str, list[int]]] = []
        for name, flat in places:
            if runs and runs[-1][0] == name:
                runs[-1][1].append(flat)
            else:
                runs.append((name, [flat]))
        if all(len(flats) == 1 for _, flats in runs):
            pieces = [self._part(name, flats, ()).text for name, flats in runs]
            whole = f"torch.stack([{', '.join(pieces)}])"
        else:
            pieces = [self._part(name, flats, (len(flats),)).text for name, flats in runs]
            whole = f"torch.cat([{', '.join(pieces)}])"
        return Expr(whole if len(shape) == 1 else f"{whole}.reshape({_shape_tuple(shape)})")

    def _part(self, name: str, flats: list[int], shape: tuple[int, ...]) -> Expr:
        """Entries `flats` of tensor `name` as an expression of `shape`."""
        np = self.np
        tensor = self.shapes[name]
        size = math.prod(tensor)
        if flats == list(range(size)):
            return Expr(_adapt(name, tensor, shape))
        if len(flats) == 1 and not shape:
            index = self._unravel(flats[0], tensor)
            return Expr(f"{name}[{', '.join(map(str, index))}]")
        indices = np.array([self._unravel(f, tensor) for f in flats]).reshape(*shape, len(tensor))
        sliced = _as_slices(np, indices, tensor, shape)
        if sliced is not None:
            return Expr(f"{name}[{sliced}]")
        if len(tensor) == 1:
            text = f"{name}[{self.positions(flats)}]"
        elif len(tensor) == 2:
            rows, columns = zip(*(self._unravel(f, tensor) for f in flats))
            row_text = str(rows[0]) if len(set(rows)) == 1 < len(set(columns)) \
                else self.positions(rows)
            column_text = str(columns[0]) if len(set(columns)) == 1 < len(set(rows)) \
                else self.positions(columns)
            text = f"{name}[{row_text}, {column_text}]"
        else:
            text = f"{name}.reshape(-1)[{self.positions(flats)}]"
        return Expr(text if len(shape) == 1 else f"{text}.reshape({_shape_tuple(shape)})")

    def positions(self, index: Sequence[int]) -> str:
        """A list of positions to pick, as source: written out when short, else named above the
        function (which entries a group reads, such as the examples whose label is 1)."""
        text = f"[{', '.join(map(str, index))}]"
        if len(index) <= INLINE_NUMBERS:
            return text
        name = self._numbered("picked")
        if name == "picked1":
            self.constants.append("# which entries a group of nodes reads")
        self.constants.append(f"{name} = {text}")
        return name

    def number(self, values: Any, shape: tuple[int, ...]) -> Any:
        """Numbers as source: one literal where they are all equal, else a tensor (named above the
        function when long)."""
        array = self.np.asarray(values, dtype=float).reshape(shape)
        flat = array.ravel().tolist()
        if flat and all(x == flat[0] for x in flat):
            return flat[0]
        if len(shape) == 2 and (array == array[:, :1]).all():
            array = array[:, :1]  # one number per row: a column, which broadcasts along the row
        elif len(shape) == 2 and (array == array[:1]).all():
            array = array[0]  # the same row in every row: a vector, which broadcasts
        flat = array.ravel().tolist()
        text = _tensor_literal(array.tolist())
        if len(text) <= INLINE_CHARACTERS:
            return Expr(text)
        text = _tensor_literal(array.tolist(), multiline=True)
        name = self._numbered("c")
        if name == "c1":
            self.constants.append("# numbers that differ from node to node of a group")
        self.constants.append(f"{name} = {text}")
        return Expr(name)

    def follow(self, positions: Any) -> tuple[Any, tuple[int, ...]]:
        """An order of a group's members, and the shape of its result, so that the values at
        `positions` (one per member) read as a whole tensor where they are one, in its order."""
        np = self.np
        count = len(positions)
        if count == 1:
            return np.arange(1), ()
        self._claim(positions, "y")
        places = self._places(positions)
        names = {name for name, _ in places}
        if len(names) == 1:
            name = names.pop()
            flats = [flat for _, flat in places]
            if sorted(flats) == list(range(math.prod(self.shapes[name]))):
                return np.argsort(flats), self.shapes[name]
        if len(set(places)) == count:  # several tensors, or part of one: read in their order
            rank = {name: r for r, name in enumerate(self.shapes)}
            return np.array(sorted(range(count), key=lambda k: (rank[places[k][0]],
                                                                places[k][1]))), (count,)
        return np.arange(count), (count,)

    def _named(self, value: Expr, shape: tuple[int, ...]) -> Expr:
        """`value` itself, or where it is pieced together from several tensors, a line of its
        own (`cat1 = torch.cat([...])`) and its name: the op's line then reads as the op."""
        if not value.text.startswith(("torch.cat(", "torch.stack(")):
            return value
        name = self._numbered("cat" if value.text.startswith("torch.cat(") else "stack")
        self.emit(name, value, _shape_text(shape))
        self._tensor(name, shape, [])  # read by this op only: no value of the graph is here
        return Expr(name)

    # --------------------------------------------------------------- emitting
    def emit(self, name: str, value: Any, comment: str = "") -> None:
        self.lines.append((f"{name} = {_expr(value).text}", comment))

    def outputs(self, name: str, shape: tuple[int, ...], out: slice, order: Any) -> None:
        """The op's result tensor `name`: its member order[k] is its flat entry k."""
        cells = [out.start + int(m) for m in order]
        self._tensor(name, shape, cells)

    def result_name(self, out: slice, base: str, shape: tuple[int, ...]) -> str:
        """`loss` for the op that computes just the root, else base1, base2, ..."""
        if not shape and out.start == self.backend.root and "loss" not in self.used:
            self.used.add("loss")
            return "loss"
        return self._numbered(base)

    def write(self) -> TorchCode:
        from tinygrad_edu.tracing import numpy_backend as nb

        writers = {nb.MatrixProduct: self._in_product, nb.Elementwise: self._elementwise,
                   nb.Linear: self._linear, nb.GatheredDot: self._dot}
        for operation in self.backend.operations:
            writer = writers.get(type(operation))
            if writer is None:  # a new kind of array operation: say so, not a KeyError
                raise TypeError(f"torch_source: the numpy backend's {type(operation).__name__} "
                                f"has no torch writer in tinygrad_edu/tracing/torch_source.py")
            writer(operation)
        root = self.read([self.backend.root], ())
        if root.text != "loss" and root.text not in self.arguments:
            name = self._fresh("loss")
            self.emit(name, root)
            root = Expr(name)
        extras = None
        if len(self.backend.outputs):
            extras = self.read(self.backend.outputs, (len(self.backend.outputs),)).text
        for p in sorted(self.loose):  # leaves nothing reads (a graph that is one leaf)
            self._claim(self.np.array([p]), "")
        places = []
        for k, leaf in enumerate(self.leaves):
            name, index = self.place[k]
            self.arguments.setdefault(name, self.shapes[name])
            places.append((leaf, name, index))
        width = min(max((len(code) for code, _ in self.lines), default=0), 60)
        lines = []
        for code, comment in self.lines:
            lines += _wrapped_code(f"    {code:{width}}  # {comment}" if comment else f"    {code}")
        order = list(dict.fromkeys([*self.product_arguments, *self.arguments]))
        arguments = {name: self.arguments[name] for name in order}
        source = _function(self.function_name, arguments, self.constants, lines, root.text, extras)
        return TorchCode(source, self.function_name, arguments, places, True)

    def _in_product(self, op: Any) -> None:
        self.in_product = True
        try:
            self._product(op)
        finally:
            self.in_product = False

    # ---------------------------------------------------------- the operations
    def _product(self, op: Any) -> None:
        """out = X @ W.T + bias (+ constants), a layer on a batch; with its relu, if fused."""
        np = self.np
        rows, columns = op.shape
        self.layer += 1
        column_order = row_order = None
        terms: list[str] = []
        sides = []
        if op.left is not None:
            sides.append((op.left.index, op.right.index, None))
        if op.baked_left is not None:
            sides.append((op.baked_left.index, None, op.baked))
        for left, right, baked in sides:
            self._claim(left, "W")
            orders = self._matrix_orders(left)
            inner = np.arange(left.shape[1])
            if orders is not None and (column_order is None
                                       or np.array_equal(orders[0], column_order)):
                column_order, inner = orders
            if column_order is None:
                column_order = np.arange(columns)
            weights = np.empty_like(left)
            weights[np.ix_(column_order, inner)] = left
            if right is not None:
                inputs = np.empty_like(right)
                inputs[:, inner] = right
                self._claim(inputs, "X")
                if row_order is None:
                    row_order = self._row_order(inputs)
                x = self.read(inputs[np.argsort(row_order)], inputs.shape, "X").text
            else:  # a layer fed plain floats: its inputs are numbers, written above the function
                numbers = np.empty_like(baked)
                numbers[:, inner] = baked
                if row_order is None:
                    row_order = np.arange(rows)
                x = self._fresh("X")
                literal_ = _tensor_literal(numbers[np.argsort(row_order)].tolist(), multiline=True)
                self.constants += [
                    "# the inputs the trace saw as numbers (plain floats, not Values)",
                    f"{x} = {literal_}"]
            w = self.read(weights, weights.shape, "W").text
            terms.append(f"{x} @ {w}.T")
        if column_order is None:
            column_order = np.arange(columns)
        if row_order is None:
            row_order = np.arange(rows)
        if not terms:
            terms.append(f"torch.zeros({rows}, {columns}, dtype=torch.float64)")
        total = Expr(" + ".join(terms), 1)
        if op.bias is not None:
            bias = op.bias.index
            placed = np.empty_like(bias)
            placed[column_order] = bias
            if op.one_bias:
                total = total + self.read(placed, (columns,), "b")
            else:
                summed = self.read(placed, placed.shape, "b").text
                total = total + Expr(f"{summed}.sum(1)")
        if op.constants is not None:
            numbers = np.empty_like(op.constants)
            numbers[np.ix_(row_order, column_order)] = op.constants
            total = total + self.number(numbers, (rows, columns))
        nodes = len(op.members)
        keep_z = op.relu is None or any(
            op.out.start <= p < op.out.stop for p in [self.backend.root, *self.backend.outputs])
        order = np.empty(rows * columns, dtype=int)
        grid = np.arange(rows * columns).reshape(rows, columns)
        order[(row_order[:, None] * columns + column_order[None, :]).ravel()] = grid.ravel()
        shape_text = f"{rows} x {columns}"
        if keep_z:
            z = self._fresh(f"z{self.layer}")
            self.emit(z, total, f"{shape_text}: {nodes} dots")
            self.outputs(z, (rows, columns), op.out, order)
            total = Expr(z)
        if op.relu is not None:
            a = self._fresh(f"a{self.layer}")
            dots = "" if keep_z else f"{nodes} dots, "  # the nodes the line computes
            self.emit(a, TENSORS.relu(total), f"{shape_text}: {dots}{nodes} relus")
            self.outputs(a, (rows, columns), op.relu, order)

    def _matrix_orders(self, left: Any) -> Optional[tuple[Any, Any]]:
        """Where each row and column of a weight gather sits in the one leaf matrix it is, if it
        is one (a layer's `weight`): then the layer is written with that matrix, in its order."""
        np = self.np
        places = [self.place.get(int(p)) for p in left.ravel()]
        if any(place is None for place in places):
            return None
        names = {name for name, _ in places}  # type: ignore[misc]
        name = names.pop()
        if names or self.shapes[name] != tuple(left.shape) or len(left.shape) != 2:
            return None
        index = np.array([i for _, i in places]).reshape(*left.shape, 2)  # type: ignore[misc]
        rows, columns = index[:, :1, 0], index[:1, :, 1]
        if not (np.all(index[..., 0] == rows) and np.all(index[..., 1] == columns)
                and len(set(rows[:, 0].tolist())) == left.shape[0]
                and len(set(columns[0].tolist())) == left.shape[1]):
            return None
        return rows[:, 0], columns[0]

    def _row_order(self, inputs: Any) -> Any:
        """Where each row of a layer's input sits in the tensor it is read from, if that tensor is
        read whole with its columns in order; else the rows as they are."""
        np = self.np
        places = [self.place.get(int(p)) for p in inputs.ravel()]
        rows, columns = inputs.shape
        if any(place is None for place in places):
            return np.arange(rows)
        names = {name for name, _ in places}  # type: ignore[misc]
        name = names.pop()
        if names or self.shapes[name] != (rows, columns):
            return np.arange(rows)
        index = np.array([i for _, i in places]).reshape(rows, columns, 2)  # type: ignore[misc]
        if not (np.all(index[..., 1] == np.arange(columns))
                and np.all(index[..., 0] == index[:, :1, 0])
                and len(set(index[:, 0, 0].tolist())) == rows):
            return np.arange(rows)
        return index[:, 0, 0]

    def _elementwise(self, op: Any) -> None:
        """One primitive over a group: its rule read with TENSORS on the gathered inputs."""
        order, shape = self.follow(op.inputs[0].index)
        reads = [self.read(gather.index[order], shape) for gather in op.inputs]
        named: dict[str, Expr] = {}
        for read in reads:  # x * x: one name for x
            if read.text not in named:
                named[read.text] = self._named(read, shape)
        operands: list[Any] = [named[read.text] for read in reads]
        if op.step.constant is not None:
            constant = self.number(op.constants[order], shape)
            operands = [constant, *operands] if op.step.left else [*operands, constant]
        value = op.primitive.evaluate(TENSORS, *operands)
        first = operands[1 if op.step.constant is not None and op.step.left else 0]
        layer = re.fullmatch(r"z(\d+)", _expr(first).text)
        if op.primitive.activation and layer and shape == self.shapes[layer.group(0)]:
            name = self._fresh(f"a{layer.group(1)}")
        else:
            base = op.primitive.name if op.primitive.name.isidentifier() else "v"
            name = self.result_name(op.out, base, shape)
        self.emit(name, value, _shape_text(shape) if shape else "")
        self.outputs(name, shape, op.out, order)

    def _linear(self, op: Any) -> None:
        """Weighted sums Σ coef_k · in_k + const, row by row (one row: a total, such as a mean)."""
        np = self.np
        index, coefficients = op.terms.index, op.coefficients
        count, terms = index.shape
        constants = op.constants if op.constants is not None else np.zeros(count)
        value: Any = None
        shape: tuple[int, ...] = ()
        if count == 1 and terms > TERMS_WRITTEN_OUT:
            order = np.arange(1)
            value = self._total(index[0], coefficients[0])
        elif terms <= TERMS_WRITTEN_OUT and terms:
            order, shape = self.follow(index[:, 0])
            constant, first = _uniform(constants), _uniform(coefficients[:, 0])
            if constant and first is not None and first < 0.0:
                value = constant  # 1.0 - x reads better than -x + 1.0
                constants = np.zeros(count)
            for k in range(terms):
                x = self.read(index[order, k], shape)
                value = _weighted(value, self.number(coefficients[order, k], shape), x)
        else:
            order, shape = np.arange(count), ((count,) if count > 1 else ())
            x = self.read(index, (count, terms) if count > 1 else (terms,))
            axis = "1" if count > 1 else ""
            if np.all(coefficients == 1.0):
                value = Expr(f"{_atom(x)}.sum({axis})")
            else:
                weights = self.number(coefficients, (count, terms) if count > 1 else (terms,))
                value = Expr(f"({x.text} * {_expr(weights).text}).sum({axis})")
        if value is None:
            value = Expr(f"torch.zeros({_shape_tuple(shape)}, dtype=torch.float64)")
        if np.any(constants != 0.0):
            value = _plus(value, self.number(constants[order], shape))
        name = self.result_name(op.out, "v", shape)
        self.emit(name, value, _shape_text(shape) if shape else "")
        self.outputs(name, shape, op.out, order)

    def _total(self, positions: Any, weights: Any) -> Any:
        """Σ_k weights_k · value_k as one number: a mean where the weights are 1/n, else a sum
        per distinct weight, each over whole tensors where it can (a3.sum() + log1.sum())."""
        np = self.np
        terms = len(positions)
        self._claim(positions, "y")
        places = self._places(positions)
        rank = {name: r for r, name in enumerate(self.shapes)}
        by_place = sorted(range(terms), key=lambda k: (rank[places[k][0]], places[k][1]))
        if np.all(weights == weights[0]) and abs(weights[0] * terms) == 1.0:
            x = self.read(positions[by_place], (terms,))
            mean = Expr(f"{_atom(x)}.mean()")
            return mean if weights[0] > 0.0 else -mean
        value: Any = None
        for weight in dict.fromkeys(float(weights[k]) for k in by_place):
            if weight == 0.0 and np.any(weights != 0.0):
                continue  # terms times 0 (z · (1 - y) where y = 1): they add nothing
            parts: dict[str, list[int]] = {}
            for k in by_place:
                if weights[k] == weight:
                    parts.setdefault(places[k][0], []).append(places[k][1])
            total: Any = None
            for name, flats in parts.items():
                whole = flats == list(range(math.prod(self.shapes[name])))
                part = Expr(name) if whole else self._part(name, flats, (len(flats),))
                total = _plus(total, part if whole and not self.shapes[name] else
                              Expr(f"{_atom(part)}.sum()"))  # a number is its own sum
            value = _weighted(value, weight, total)
        return value
    def _dot(self, op: Any) -> None:
        """Dot nodes without a matrix layout: Σ a_k · b_k + Σ v_k · c_k + const, row by row."""
        np = self.np
        count = op.out.stop - op.out.start
        left, right = op.pair_left.index, op.pair_right.index
        singles, factors = op.singles.index, op.single_locals
        pairs, ones = left.shape[1], singles.shape[1]
        shape: tuple[int, ...] = (count,) if count > 1 else ()
        value: Any = None
        if pairs + ones <= TERMS_WRITTEN_OUT:
            for k in range(pairs):
                value = _plus(value, self.read(left[:, k], shape) * self.read(right[:, k], shape))
            for k in range(ones):
                value = _weighted(value, self.number(factors[:, k], shape),
                                  self.read(singles[:, k], shape))
        else:
            axis = "1" if count > 1 else ""
            grid = (count, pairs) if count > 1 else (pairs,)
            if pairs:
                a, b = self.read(left.reshape(grid), grid), self.read(right.reshape(grid), grid)
                value = Expr(f"({a.text} * {b.text}).sum({axis})")
            if ones:
                grid = (count, ones) if count > 1 else (ones,)
                v = self.read(singles.reshape(grid), grid)
                c = _expr(self.number(factors.reshape(grid), grid)).text
                value = _plus(value, Expr(f"({v.text} * {c}).sum({axis})"))
        if value is None:
            value = Expr(f"torch.zeros({_shape_tuple(shape)}, dtype=torch.float64)")
        if np.any(op.constants != 0.0):
            value = _plus(value, self.number(op.constants, shape))
        name = self.result_name(op.out, "dot", shape)
        self.emit(name, value, _shape_text(shape) if shape else "")
        self.outputs(name, shape, op.out, np.arange(count))


def _wrapped_code(line: str, width: int = 96) -> list[str]:
    """`name = value  # comment` over several lines where it is too long: the value in
    parentheses, broken between its words (inside parentheses Python reads on)."""
    if len(line) <= width:
        return [line]
    code, _, comment = line.partition("  # ")
    name, _, value = code.strip().partition(" = ")
    indent = code[:len(code) - len(code.lstrip())]
    opening = f"{indent}{name} = ("
    words = value.rstrip().split(" ")
    lines, current = [], opening + words[0]
    for word in words[1:]:
        if len(current) + 1 + len(word) > width:
            lines.append(current)
            current = " " * len(opening) + word
        else:
            current += " " + word
    lines.append(current + ")" + (f"  # {comment}" if comment else ""))
    return lines


def _uniform(values: Any) -> Optional[float]:
    """The one number all of `values` are, or None where they differ."""
    flat = [float(x) for x in values.ravel()]
    return flat[0] if flat and all(x == flat[0] for x in flat) else None


def _weighted(total: Any, coefficient: Any, x: Expr) -> Any:
    """total + coefficient · x, written as a person would: `a - b`, `a + 2.0 * b`, `-x`."""
    if type(coefficient) is not Expr:
        c = float(coefficient)
        if c == 1.0:
            return _plus(total, x)
        if c == -1.0:
            return -x if total is None else total - x
        if c < 0.0 and total is not None:
            return total - (-c) * x
        return _plus(total, c * x)
    return _plus(total, coefficient * x)


def _plus(total: Any, x: Any) -> Any:
    if total is None:
        return x
    if type(x) is not Expr and float(x) < 0.0:
        return total - (-float(x))
    return total + x


def _atom(x: Expr) -> str:
    return x.text if x.binding >= 5 else f"({x.text})"


def _adapt(name: str, tensor: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """A whole tensor `name` read in another shape of the same size."""
    if tensor == shape:
        return name
    if len(shape) == 1 and tensor == (shape[0], 1):
        return f"{name}[:, 0]"
    if len(shape) == 1 and tensor == (1, shape[0]):
        return f"{name}[0]"
    if len(shape) == 1:
        return f"{name}.flatten()"
    if not shape:
        return f"{name}[{', '.join('0' for _ in tensor)}]"
    if len(tensor) == 1 and shape == (tensor[0], 1):
        return f"{name}[:, None]"
    return f"{name}.reshape({_shape_tuple(shape)})"


def _as_slices(np: Any, indices: Any, tensor: tuple[int, ...], shape: tuple[int, ...]
               ) -> Optional[str]:
    """`a:b, c` where the indices (one row per entry, shaped like `shape`) are a block of the
    tensor laid out as `shape`; None otherwise."""
    if len(shape) > len(tensor) or not shape:
        return None
    parts = []
    axis = 0  # the next axis of `shape` a ranging index must follow
    for d, size in enumerate(tensor):
        along = indices[..., d]
        first = int(along.ravel()[0])
        if np.all(along == first):
            parts.append(str(first))
            continue
        if axis >= len(shape):
            return None
        expected = first + np.arange(shape[axis]).reshape(
            [-1 if a == axis else 1 for a in range(len(shape))])
        if not np.array_equal(along, np.broadcast_to(expected, shape)):
            return None
        stop = first + shape[axis]
        parts.append(":" if first == 0 and stop == size else
                     f"{first or ''}:{stop if stop != size else ''}")
        axis += 1
    if axis != len(shape):
        return None
    while len(parts) > 1 and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts)


def _shape_tuple(shape: Sequence[int]) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(map(str, shape))})"


def _tensor_literal(numbers: Any, multiline: bool = False) -> str:
    """`torch.tensor([...], dtype=torch.float64)` with every number exact."""
    def text(item: Any) -> str:
        if isinstance(item, list):
            return f"[{', '.join(text(x) for x in item)}]"
        return literal(float(item))

    if multiline and numbers and isinstance(numbers[0], list):
        rows = ",\n    ".join(text(row) for row in numbers)
        return f"torch.tensor([\n    {rows},\n], dtype=torch.float64)"
    return f"torch.tensor({text(numbers)}, dtype=torch.float64)"


__all__ = ["TENSORS", "TensorMath", "TorchCode", "label_place", "torch_code"]
