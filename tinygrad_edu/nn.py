"""Neural network modules made of Values: Neuron, Layer, MLP and Embedding (lecture §1, §2, §7).

A neuron is the lecture's unit `y = g(w·x + b)`. It computes `w·x + b` as one
`dot` node (one edge and one local gradient per weight, input and bias), then
applies the activation g. A Layer is a list of neurons that read the same input;
an MLP is a stack of layers. The classes follow micrograd's `nn.py`, so code
written for `micrograd.nn.MLP` runs unchanged, and PyTorch's conventions:
`parameters()`, `named_parameters()`, `zero_grad()`.

Every parameter is a leaf Value whose `label` is its name, e.g.
`layers.0.neurons.3.w.1` (layer 0, neuron 3, the weight on input 1), so a drawn
graph says which weight is which.
"""

from __future__ import annotations

import numbers
import random
from typing import Callable, Optional, Protocol, Sequence, Union

from tinygrad_edu import engine
from tinygrad_edu.checks import class_index, require, require_type, whole_number
from tinygrad_edu.engine import Value, dot


def _activation(primitive: engine.Primitive) -> Callable[[Value], Value]:
    """The function a neuron applies: the Value method of that name, else the primitive."""
    method = getattr(Value, primitive.name, None)
    return method if method is not None else (lambda z: engine.apply(primitive, z))


# The activation g of a neuron, applied to z = w·x + b: the primitives of the engine's table
# marked as activations, the default (relu) first, and "linear" for none: g(z) = z.
ACTIVATIONS: dict[str, Optional[Callable[[Value], Value]]] = {
    **{p.name: _activation(p) for p in sorted(
        (p for p in engine.PRIMITIVES if p.activation), key=lambda p: p is not engine.RELU)},
    "linear": None,
}

# Where random initial weights come from: None is Python's global `random` (as in
# micrograd, so `random.seed(1337)` first gives reproducible weights), an int seeds a
# private generator, and an existing random.Random is used as it is.
Seed = Union[int, random.Random, None]


def _generator(seed: Seed) -> random.Random:
    """The random number generator that `seed` stands for (the `random` module itself for None)."""
    if seed is None or seed is random:
        return random  # type: ignore[return-value]  # the module has the same methods
    if isinstance(seed, random.Random):  # already a generator: share it
        return seed
    require_type(seed, "seed", numbers.Integral, "an int, a random.Random or None")
    return random.Random(seed)


def _check_activation(activation: str) -> str:
    """Return `activation` if it names a known activation, else raise ValueError listing them."""
    require_type(activation, "activation", str, "the name of an activation")
    require(activation in ACTIVATIONS, "activation", activation,
            f"one of: {', '.join(ACTIVATIONS)}")
    return activation


def _activation_or_nonlin(activation: str, nonlin: Optional[bool]) -> str:
    """micrograd's spelling: nonlin=True is a ReLU unit, nonlin=False a linear one."""
    if nonlin is None:
        return activation
    require_type(nonlin, "nonlin", bool, "True (ReLU) or False (linear), micrograd's spelling")
    return "relu" if nonlin else "linear"


# What a module is made of: parameters (Values), other modules, and lists of either.
Member = Union[Value, "Module", Sequence]


class Model(Protocol):
    """What training reads of a model (fit, evaluate, the gradient checks): a Module whose call
    maps one input to its output, one Value or a list of them. MLP is one, and so is a Module
    of your own with such a __call__."""

    def __call__(self, x: Sequence[Union[Value, float]], /) -> Union[Value, list[Value]]: ...

    def parameters(self) -> list[Value]: ...

    def zero_grad(self) -> None: ...


class Module:
    """Base class of everything with parameters, as in PyTorch: parameters(), zero_grad().

    A module is made of what its attributes hold, in the order they were
    assigned: parameters (Values), other modules, and lists of them. `members()`
    lists those parts; `parameters()` and `named_parameters()` are derived from
    it, so the order and the names of the parameters are decided in one place.
    A subclass of your own gets its parameters the same way, as in PyTorch:
    assign `self.hidden = Layer(...)` and they are found.
    """

    def members(self) -> list[tuple[str, Member]]:
        """This module's parts, in order, by name: Values, modules, or lists of them."""
        return [(name, value) for name, value in vars(self).items()
                if not name.startswith("_") and _is_member(value)]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs, named by their path in the module: `layers.0.neurons.3.b`."""
        found: list[tuple[str, Value]] = []
        for name, member in self.members():
            _collect_named(member, name, found)
        return found

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the same order as named_parameters()."""
        found: list[Value] = []
        for _, member in self.members():
            if type(member) is Value:  # the common cases first: optimizers call this often
                found.append(member)
            elif type(member) is list and type(member[0]) is Value:
                found += member
            else:
                _collect(member, found)
        return found

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0, because backward() adds into leaf grads."""
        for parameter in self.parameters():
            parameter.grad = 0.0

    def _label_parameters(self) -> None:
        """Give every parameter its name as its label, so drawn graphs show the names."""
        for name, parameter in self.named_parameters():
            parameter.label = name


class Neuron(Module):
    """One unit y = g(w·x + b): weights drawn uniformly from [-1, 1], bias 0 (as in micrograd)."""

    def __init__(self, nin: int, activation: str = "relu", seed: Seed = None, *,
                 nonlin: Optional[bool] = None) -> None:
        self.nin = whole_number(nin, "nin (the number of inputs)", 1)
        activation = _activation_or_nonlin(activation, nonlin)
        self.activation = _check_activation(activation)
        self._activate = ACTIVATIONS[activation]
        draw = _generator(seed).uniform
        self.w = [Value(draw(-1, 1)) for _ in range(self.nin)]
        self.b = Value(0.0)
        self._label_parameters()

    def members(self) -> list[tuple[str, Member]]:
        """The weights `w.0`, `w.1`, ..., then the bias `b` (micrograd's order)."""
        return [("w", self.w), ("b", self.b)]

    def __call__(self, x: Sequence[Union[Value, float]]) -> Value:
        if len(x) != self.nin:
            raise ValueError(f"expected {self.nin} inputs, got {len(x)}")
        z = dot(self.w, x, self.b)  # w·x + b as one node
        return z if self._activate is None else self._activate(z)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons that all read the same `nin` inputs: the lecture's h = g(Wx + b)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", seed: Seed = None, *,
                 nonlin: Optional[bool] = None) -> None:
        whole_number(nout, "nout (the number of neurons)", 1)
        activation = _activation_or_nonlin(activation, nonlin)
        generator = _generator(seed)  # one generator for all neurons, drawn in order
        self.neurons = [Neuron(nin, activation, generator) for _ in range(nout)]
        self._label_parameters()

    def __call__(self, x: Sequence[Union[Value, float]]) -> Union[Value, list[Value]]:
        """A list of the neurons' outputs, or a single Value when the layer has one neuron."""
        out = self.outputs(x)
        return out[0] if len(out) == 1 else out

    def outputs(self, x: Sequence[Union[Value, float]]) -> list[Value]:
        """The neurons' outputs, always as a list (typed as one, as MLP.outputs is)."""
        return [neuron(x) for neuron in self.neurons]

    def __repr__(self) -> str:
        neuron = self.neurons[0]
        return f"Layer({neuron.nin}, {len(self.neurons)}, activation={neuron.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: `MLP(2, [16, 16, 1])` has two hidden layers of 16 and one output.

    Hidden layers use `activation` (ReLU by default), the last layer uses
    `output_activation` (linear by default: it returns the logit z, and the loss
    applies σ or softmax). This is micrograd's `MLP(nin, nouts)` with names.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 output_activation: str = "linear", seed: Seed = None) -> None:
        whole_number(nin, "nin (the number of inputs)", 1)
        sizes_wanted = "a non-empty list of layer sizes like [16, 16, 1]"
        require_type(nouts, "nouts", (list, tuple), sizes_wanted)
        require(len(nouts) > 0, "nouts", nouts, sizes_wanted)
        for k, size in enumerate(nouts):
            whole_number(size, f"nouts[{k}] (the size of layer {k})", 1)
        _check_activation(activation)
        _check_activation(output_activation)
        self.nin, self.nouts = nin, list(nouts)
        self.activation, self.output_activation = activation, output_activation
        generator = _generator(seed)
        sizes = [nin, *nouts]
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], output_activation if i == last else activation,
                  generator)
            for i in range(len(nouts))
        ]
        self._label_parameters()

    def __call__(self, x: Sequence[Union[Value, float]]) -> Value:
        """The output for one input: a Value if the last layer has one unit, else a list.

        Type checkers see a Value, the common one-output case, so `loss(model(x), y)`
        needs no cast; for several outputs, `outputs(x)` is typed as the list it is.
        """
        outputs = self.outputs(x)
        return outputs[0] if len(outputs) == 1 else outputs  # type: ignore[return-value]

    def outputs(self, x: Sequence[Union[Value, float]]) -> list[Value]:
        """The outputs for one input, always as a list: one Value per unit of the last layer."""
        values: Sequence[Union[Value, float]] = x
        for layer in self.layers:
            values = [neuron(values) for neuron in layer.neurons]
        return values  # type: ignore[return-value]  # the last layer's Values

    def __repr__(self) -> str:
        return (f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
                f"output_activation={self.output_activation!r})")


class Embedding(Module):
    """A lookup table of `num_embeddings` vectors of length `dim` (lecture §7: the matrix E).

    `embedding(3)` returns row 3 as a list of `dim` parameter Values, labelled
    `weight.3.0`, `weight.3.1`, ... Entries start from a standard normal
    distribution, as in PyTorch's nn.Embedding.
    """

    def __init__(self, num_embeddings: int, dim: int, seed: Seed = None) -> None:
        self.num_embeddings = whole_number(num_embeddings,
                                           "num_embeddings (the vocabulary size)", 1)
        self.dim = whole_number(dim, "dim (the length of each vector)", 1)
        draw = _generator(seed).gauss
        self.weight = [[Value(draw(0.0, 1.0)) for _ in range(self.dim)]
                       for _ in range(self.num_embeddings)]
        self._label_parameters()

    def __call__(self, index: int) -> list[Value]:
        """Row `index` of the table: the vector of that word, as parameter Values."""
        index = class_index(index, "index", self.num_embeddings, "rows of the Embedding")
        return list(self.weight[index])  # a new list, so appending to it cannot change the table

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.dim})"


def _is_member(value: object) -> bool:
    """True for what a module can be made of: a Value, a Module, or a non-empty list of them."""
    if type(value) is Value or isinstance(value, Module):
        return True
    return isinstance(value, (list, tuple)) and len(value) > 0 and _is_member(value[0])


def _collect_named(member: Member, name: str, found: list[tuple[str, Value]]) -> None:
    """Add the parameters of one member to `found`, named `name`, `name.0`, `name.0.w.1`, ..."""
    if type(member) is Value:
        found.append((name, member))
    elif isinstance(member, Module):
        found.extend((f"{name}.{inner}", p) for inner, p in member.named_parameters())
    else:
        for i, item in enumerate(member):
            _collect_named(item, f"{name}.{i}", found)


def _collect(member: Member, found: list[Value]) -> None:
    """Add the parameters of one member to `found`, in the order of _collect_named."""
    if type(member) is Value:
        found.append(member)
    elif isinstance(member, Module):
        found.extend(member.parameters())
    elif type(member[0]) is Value:
        found.extend(member)  # a list of parameters, the common case, in one step
    else:
        for item in member:
            _collect(item, found)
