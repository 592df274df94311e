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
from typing import Callable, Optional, Sequence, Union

from tinygrad_edu.engine import Value, dot

# The activation g of a neuron, applied to z = w·x + b. "linear" means none: g(z) = z.
ACTIVATIONS: dict[str, Optional[Callable[[Value], Value]]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "linear": None,
}

# Where random initial weights come from: None is Python's global `random` (as in
# micrograd, so `random.seed(1337)` first gives reproducible weights), an int seeds a
# private generator, and an existing random.Random is used as it is.
Seed = Union[int, random.Random, None]


def _generator(seed: Seed) -> random.Random:
    """The random number generator that `seed` stands for (the `random` module itself for None)."""
    if seed is None:
        return random  # type: ignore[return-value]  # the module has the same methods
    if seed is random or isinstance(seed, random.Random):  # already a generator: share it
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a random.Random or None, "
                        f"got {type(seed).__name__}: {seed!r}")
    return random.Random(seed)


def _check_activation(activation: str) -> str:
    """Return `activation` if it names a known activation, else raise ValueError listing them."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; "
                         f"choose one of: {', '.join(ACTIVATIONS)}")
    return activation


def _check_size(number: object, what: str) -> int:
    """Return `number` if it is a whole number >= 1, else raise ValueError naming `what`."""
    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 1:
        raise ValueError(f"{what} must be a whole number >= 1, got {number!r}")
    return int(number)


class Module:
    """Base class of everything with parameters, as in PyTorch: parameters(), zero_grad()."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(name, parameter) pairs, named by their path inside the module."""
        return []

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the same order as named_parameters()."""
        return [parameter for _, parameter in self.named_parameters()]

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

    def __init__(self, nin: int, activation: str = "relu", seed: Seed = None) -> None:
        self.nin = _check_size(nin, "nin (the number of inputs)")
        self.activation = _check_activation(activation)
        self._activate = ACTIVATIONS[activation]
        draw = _generator(seed).uniform
        self.w = [Value(draw(-1, 1)) for _ in range(self.nin)]
        self.b = Value(0.0)
        self._label_parameters()

    def __call__(self, x: Sequence[Union[Value, float]]) -> Value:
        if len(x) != self.nin:
            raise ValueError(f"expected {self.nin} inputs, got {len(x)}")
        z = dot(self.w, x, self.b)  # w·x + b as one node
        return z if self._activate is None else self._activate(z)

    def named_parameters(self) -> list[tuple[str, Value]]:
        """The weights `w.0`, `w.1`, ... then the bias `b` (micrograd's order)."""
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def parameters(self) -> list[Value]:
        """The weights, then the bias."""
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """`nout` neurons that all read the same `nin` inputs: the lecture's h = g(Wx + b)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", seed: Seed = None) -> None:
        _check_size(nout, "nout (the number of neurons)")
        generator = _generator(seed)  # one generator for all neurons, drawn in order
        self.neurons = [Neuron(nin, activation, generator) for _ in range(nout)]
        self._label_parameters()

    def __call__(self, x: Sequence[Union[Value, float]]) -> Union[Value, list[Value]]:
        """A list of the neurons' outputs, or a single Value when the layer has one neuron."""
        out = [neuron(x) for neuron in self.neurons]
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> list[tuple[str, Value]]:
        """`neurons.J.w.I` and `neurons.J.b`, neuron by neuron."""
        return [(f"neurons.{j}.{name}", p)
                for j, neuron in enumerate(self.neurons)
                for name, p in neuron.named_parameters()]

    def parameters(self) -> list[Value]:
        """Neuron by neuron, each one's weights then bias."""
        return [p for neuron in self.neurons for p in neuron.parameters()]

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
        _check_size(nin, "nin (the number of inputs)")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes like [16, 16, 1], "
                             f"got {nouts!r}")
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

    def __call__(self, x: Sequence[Union[Value, float]]) -> Union[Value, list[Value]]:
        """The output for one input: a Value if the last layer has one unit, else a list."""
        for layer in self.layers:
            x = [neuron(x) for neuron in layer.neurons]
        return x[0] if len(x) == 1 else x

    def named_parameters(self) -> list[tuple[str, Value]]:
        """`layers.K.neurons.J.w.I` and `layers.K.neurons.J.b`, layer by layer."""
        return [(f"layers.{k}.{name}", p)
                for k, layer in enumerate(self.layers)
                for name, p in layer.named_parameters()]

    def parameters(self) -> list[Value]:
        """Layer by layer, neuron by neuron, weights then bias (micrograd's order)."""
        return [p for layer in self.layers for neuron in layer.neurons for p in neuron.parameters()]

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
        self.num_embeddings = _check_size(num_embeddings, "num_embeddings (the vocabulary size)")
        self.dim = _check_size(dim, "dim (the length of each vector)")
        draw = _generator(seed).gauss
        self.weight = [[Value(draw(0.0, 1.0)) for _ in range(self.dim)]
                       for _ in range(self.num_embeddings)]
        self._label_parameters()

    def __call__(self, index: int) -> list[Value]:
        """Row `index` of the table: the vector of that word, as parameter Values."""
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"an embedding is looked up by an int index, "
                            f"got {type(index).__name__}: {index!r}")
        if not 0 <= index < self.num_embeddings:
            raise ValueError(f"index {index} is out of range for an Embedding of "
                             f"{self.num_embeddings} rows (0 to {self.num_embeddings - 1})")
        return list(self.weight[index])  # a new list, so appending to it cannot change the table

    def named_parameters(self) -> list[tuple[str, Value]]:
        """`weight.R.C` for row R, column C, row by row."""
        return [(f"weight.{r}.{c}", value)
                for r, row in enumerate(self.weight) for c, value in enumerate(row)]

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.dim})"
