"""The bridge to PyTorch: the same network as tensors, and the same numbers on both sides.

    from tinygrad_edu.torch import compare, from_torch, to_torch
    net = to_torch(model)          # nn.Linear layers and activation modules, in float64
    back = from_torch(net)         # Values again, with the same weights
    print(compare(model, X, y, loss=losses.binary_cross_entropy_with_logits))

A layer of neurons is one matrix product: the weights of neuron j are row j of
the layer's weight matrix, so the parameter `layers.0.neurons.3.w.1` (layer 0,
neuron 3, the weight on input 1) is `layers.0.weight[3, 1]` in PyTorch, and
`layers.0.neurons.3.b` is `layers.0.bias[3]`. Where the scalar engine runs
`dot(w, x, b)` once per neuron and example, PyTorch runs `X @ W.T + b` once
per layer for the whole batch; `compare` shows that the loss, every output and
every gradient come out the same, to float64 rounding.

A traced program writes its own forward pass as PyTorch code (`program.torch_source`);
`torch_inputs(program)` builds that function's arguments from the leaves' data,
`torch_function(program)` runs the source, and `leaf_gradients` reads each leaf's
gradient back from the tensors' `.grad`.

This module needs PyTorch: pip install 'tinygrad_edu[torch]'.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence, Union, cast

if __name__ != "tinygrad_edu.torch":  # found as `torch` itself: Python started in this folder
    raise ImportError(f"{__file__} is tinygrad_edu's bridge to PyTorch, but it was imported as "
                      f"{__name__!r}: Python looks in the current folder first, and that is "
                      f"tinygrad_edu/; start Python from another folder")
try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as missing:  # the engine needs no torch; only this bridge does
    raise ImportError("tinygrad_edu.torch needs PyTorch, which is not installed: "
                      "pip install 'tinygrad_edu[torch]'") from missing

from tinygrad_edu import losses
from tinygrad_edu.engine import Value
from tinygrad_edu.nn import MLP, Embedding, Layer, Neuron

# The PyTorch module of each activation of tinygrad_edu.nn ("linear" is none: Identity).
ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
}
_ACTIVATION_NAMES = {module: name for name, module in ACTIVATION_MODULES.items()}

# A model made of neurons: the kinds to_torch turns into a Network.
Neurons = Union[MLP, Layer, Neuron]


class Network(nn.Module):
    """An MLP, Layer or Neuron as tensors: each layer an nn.Linear and an activation module.

    `layers[k]` holds layer k's weights as a matrix (row j: neuron j's weights)
    and its biases as a vector; `activations[k]` is applied to its output
    (nn.Identity for a linear layer). The output has one column per unit of the
    last layer: shape (N, 1) for one output.
    """

    def __init__(self, sizes: Sequence[int], activations: Sequence[str],
                 kind: str = "MLP", hidden_activation: str = "relu") -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(nin, nout, dtype=torch.float64)
                                    for nin, nout in zip(sizes, sizes[1:]))
        self.activations = nn.ModuleList(ACTIVATION_MODULES[name]() for name in activations)
        # What from_torch gives back: "MLP", "Layer" or "Neuron", and an MLP's `activation`
        # (which a network without hidden layers does not show).
        self.kind, self.hidden_activation = kind, hidden_activation

    def linear_layers(self) -> list[nn.Linear]:
        """The nn.Linear of each layer, in order."""
        return [cast(nn.Linear, layer) for layer in self.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs for a batch x of shape (N, inputs): one row per example."""
        for layer, activation in zip(self.layers, self.activations):
            x = activation(layer(x))  # h = g(x Wᵀ + b): every neuron of the layer at once
        return x


# ------------------------------------------------------------------ to_torch
def to_torch(model: Union[Neurons, Embedding]) -> nn.Module:
    """The model as a torch.nn.Module in float64, with the same weights (see the module's doc).

    An MLP, Layer or Neuron becomes a `Network` of nn.Linear and activation
    modules; an Embedding becomes an nn.Embedding whose `weight[r, c]` is `weight.r.c`.
    """
    if isinstance(model, Embedding):
        table = nn.Embedding(model.num_embeddings, model.dim, dtype=torch.float64)
        with torch.no_grad():
            table.weight.copy_(_matrix(model.weight))
        return table
    return _network(model, "to_torch", embedding_too=True)


def _network(model: object, caller: str, embedding_too: bool = False) -> Network:
    """The Network of an MLP, Layer or Neuron, with its weights."""
    layers = _neuron_layers(model, caller, embedding_too)
    sizes = [layers[0][0].nin, *(len(neurons) for neurons in layers)]
    activations = [_layer_activation(neurons, k) for k, neurons in enumerate(layers)]
    if isinstance(model, MLP):
        network = Network(sizes, activations, "MLP", model.activation)
    else:
        network = Network(sizes, activations, type(model).__name__)
    with torch.no_grad():
        for linear, neurons in zip(network.linear_layers(), layers):
            linear.weight.copy_(_matrix([neuron.w for neuron in neurons]))
            linear.bias.copy_(torch.tensor([neuron.b.data for neuron in neurons],
                                           dtype=torch.float64))
    return network


def _neuron_layers(model: object, caller: str,
                   embedding_too: bool = False) -> list[list[Neuron]]:
    """The model's neurons, layer by layer: what becomes one nn.Linear each.

    `embedding_too` only says, in the error, that the caller also takes an Embedding.
    """
    if isinstance(model, MLP):
        return [list(layer.neurons) for layer in model.layers]
    if isinstance(model, Layer):
        return [list(model.neurons)]
    if isinstance(model, Neuron):
        return [[model]]
    kinds = "an MLP, Layer, Neuron or Embedding" if embedding_too else "an MLP, Layer or Neuron"
    raise TypeError(f"{caller}: model must be {kinds} of "
                    f"tinygrad_edu.nn, got {type(model).__name__}: {model!r}; a module of your "
                    f"own: convert its parts one by one")


def _layer_activation(neurons: Sequence[Neuron], k: int) -> str:
    """The one activation every neuron of layer k uses (a Linear takes one for all)."""
    names = sorted({neuron.activation for neuron in neurons})
    if len(names) != 1:
        raise ValueError(f"to_torch: the neurons of layer {k} use different activations "
                         f"({', '.join(names)}); one nn.Linear and one activation module "
                         f"need them all the same")
    if names[0] not in ACTIVATION_MODULES:
        raise ValueError(f"to_torch: layer {k}'s activation {names[0]!r} has no PyTorch "
                         f"module here; known: {', '.join(ACTIVATION_MODULES)}")
    return names[0]


def _matrix(rows: Sequence[Sequence[Value]]) -> torch.Tensor:
    return torch.tensor([[value.data for value in row] for row in rows], dtype=torch.float64)


def parameter_names(model: Union[Neurons, Embedding]) -> dict[str, str]:
    """Each parameter's name here and where it sits in PyTorch: `layers.0.weight[3, 1]`."""
    return {name: f"{tensor}[{', '.join(map(str, index))}]"
            for name, _, tensor, index in _parameter_places(model)}


def _parameter_places(model: Union[Neurons, Embedding]
                      ) -> list[tuple[str, Value, str, tuple[int, ...]]]:
    """(name, Value, PyTorch parameter, index in it) for every parameter, in model order."""
    names = {id(value): name for name, value in model.named_parameters()}
    if isinstance(model, Embedding):
        return [(names[id(value)], value, "weight", (r, c))
                for r, row in enumerate(model.weight) for c, value in enumerate(row)]
    places: list[tuple[str, Value, str, tuple[int, ...]]] = []
    for k, neurons in enumerate(_neuron_layers(model, "parameter_names", embedding_too=True)):
        for j, neuron in enumerate(neurons):
            places += [(names[id(w)], w, f"layers.{k}.weight", (j, i))
                       for i, w in enumerate(neuron.w)]
            places.append((names[id(neuron.b)], neuron.b, f"layers.{k}.bias", (j,)))
    return places


# ---------------------------------------------------------------- from_torch
def from_torch(module: nn.Module) -> Union[Neurons, Embedding]:
    """A tinygrad_edu model with the module's weights: the reverse of to_torch.

    Takes what to_torch makes, an nn.Sequential of nn.Linear layers each
    followed by at most one of ReLU, Tanh, Sigmoid or Identity (an MLP), one
    nn.Linear (a linear Layer) and an nn.Embedding. Anything else is refused
    with a TypeError naming the module.
    """
    if isinstance(module, nn.Embedding):
        return _embedding_from(module)
    if isinstance(module, Network) or _is_network_shaped(module):
        kind = getattr(module, "kind", "MLP")
        hidden_activation = getattr(module, "hidden_activation", "relu")
        stack = [(f"layers.{k}", linear) for k, linear in enumerate(
            cast(nn.ModuleList, module.get_submodule("layers")))]
        activations = [_activation_name(f"activations.{k}", activation) for k, activation
                       in enumerate(cast(nn.ModuleList, module.get_submodule("activations")))]
        linears = [_checked_linear(name, linear) for name, linear in stack]
    elif isinstance(module, nn.Sequential):
        kind, hidden_activation = "MLP", "relu"
        linears, activations = _sequential_stack(module)
    elif isinstance(module, nn.Linear):
        kind, hidden_activation = "Layer", "relu"
        linears, activations = [_checked_linear("the Linear", module)], ["linear"]
    else:
        raise TypeError(f"from_torch: cannot convert a {type(module).__name__} ({module}); it "
                        f"takes the modules to_torch makes, nn.Sequential stacks of Linear and "
                        f"{', '.join(_supported_activation_modules())}, one nn.Linear, and "
                        f"nn.Embedding")
    if not linears:
        raise ValueError(f"from_torch: {type(module).__name__} has no layers: {module}")
    if len(linears) != len(activations):
        raise ValueError(f"from_torch: {len(linears)} layers but {len(activations)} "
                         f"activations; give one activation module per layer")
    for k in range(1, len(linears)):
        if linears[k].in_features != linears[k - 1].out_features:
            raise ValueError(f"from_torch: layer {k} takes {linears[k].in_features} inputs "
                             f"but layer {k - 1} gives {linears[k - 1].out_features}")
    model = _model_like(kind, linears, activations, hidden_activation)
    for linear, neurons in zip(linears, _neuron_layers(model, "from_torch")):
        weight, bias = linear.weight.detach().double().cpu(), linear.bias.detach().double().cpu()
        for neuron, row, b in zip(neurons, weight.tolist(), bias.tolist()):
            for w, value in zip(neuron.w, row):
                w.data = value
            neuron.b.data = b
    return model


def _is_network_shaped(module: nn.Module) -> bool:
    """True for a module like the one export_files' script rebuilds: `layers` and `activations`."""
    children = dict(module.named_children())
    return (set(children) == {"layers", "activations"}
            and all(isinstance(children[name], nn.ModuleList) for name in children))


def _supported_activation_modules() -> list[str]:
    return [module.__name__ for module in ACTIVATION_MODULES.values()]


def _activation_name(where: str, module: nn.Module) -> str:
    name = _ACTIVATION_NAMES.get(type(module))
    if name is None:
        raise TypeError(f"from_torch: {where} is {type(module).__name__} ({module}), which "
                        f"has no counterpart here; supported: Linear, "
                        f"{', '.join(_supported_activation_modules())}")
    return name


def _checked_linear(where: str, module: nn.Module) -> nn.Linear:
    if not isinstance(module, nn.Linear):
        raise TypeError(f"from_torch: {where} is {type(module).__name__} ({module}), "
                        f"not an nn.Linear")
    if module.bias is None:
        raise ValueError(f"from_torch: {where} ({module}) has no bias; every neuron here has "
                         f"one (w·x + b)")
    for tensor_name, tensor in (("weight", module.weight), ("bias", module.bias)):
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"from_torch: {where}'s {tensor_name} has entries that are not "
                             f"finite numbers (nan or inf)")
    return module


def _sequential_stack(module: nn.Sequential) -> tuple[list[nn.Linear], list[str]]:
    """The Linear layers of a Sequential and the activation after each ("linear" for none)."""
    linears: list[nn.Linear] = []
    activations: list[str] = []
    activated = False  # whether the last Linear already has its activation module
    for where, child in _flattened(module, "the Sequential's module"):
        if isinstance(child, nn.Linear):
            linears.append(_checked_linear(where, child))
            activations.append("linear")
            activated = False
            continue
        name = _activation_name(where, child)
        if not linears:
            raise TypeError(f"from_torch: {where} ({child}) comes before any Linear; the "
                            f"stack must start with an nn.Linear")
        if activated:
            raise TypeError(f"from_torch: {where} ({child}) follows another activation; a "
                            f"neuron here has one activation after its Linear")
        activations[-1], activated = name, True
    if not linears:
        raise ValueError(f"from_torch: the Sequential has no nn.Linear: {module}")
    return linears, activations


def _flattened(module: nn.Sequential, prefix: str) -> list[tuple[str, nn.Module]]:
    """The Sequential's modules in order, nested Sequentials opened, each with where it is."""
    found = []
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential):
            found += _flattened(child, f"{prefix} {name} and its module")
        else:
            found.append((f"{prefix} {name}", child))
    return found


def _model_like(kind: str, linears: Sequence[nn.Linear], activations: Sequence[str],
                hidden_activation: str) -> Neurons:
    """A new model of the given kind and shape (its weights are then copied in)."""
    nin = linears[0].in_features
    sizes = [linear.out_features for linear in linears]
    if kind == "Neuron" and sizes == [1]:
        return Neuron(nin, activations[0], seed=0)
    if kind == "Layer" and len(sizes) == 1:
        return Layer(nin, sizes[0], activations[0], seed=0)
    hidden = sorted(set(activations[:-1]))
    if len(hidden) > 1:
        raise ValueError(f"from_torch: the hidden layers use different activations "
                         f"({', '.join(hidden)}); an MLP has one activation for all hidden "
                         f"layers and one for the output")
    # seed=0: a private generator, so converting never moves the user's global `random`
    return MLP(nin, sizes, activation=hidden[0] if hidden else hidden_activation,
               output_activation=activations[-1], seed=0)


def _embedding_from(module: nn.Embedding) -> Embedding:
    if module.max_norm is not None:
        raise ValueError(f"from_torch: {module} renormalises its rows (max_norm); an "
                         f"Embedding here is a plain lookup table")
    table = Embedding(module.num_embeddings, module.embedding_dim, seed=0)
    for row, values in zip(table.weight, module.weight.detach().double().cpu().tolist()):
        for parameter, value in zip(row, values):
            if not math.isfinite(value):
                raise ValueError(f"from_torch: {module}'s weight has entries that are not "
                                 f"finite numbers (nan or inf)")
            parameter.data = value
    return table


# ------------------------------------------------------------------ compare
@dataclass(frozen=True)
class TorchLoss:
    """A loss of tinygrad_edu.losses and its PyTorch counterpart, as a mean over a batch."""
    name: str  # its name in tinygrad_edu.losses
    torch_name: str  # what computes it in PyTorch
    compute: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # outputs (N, k), targets
    one_output: bool  # True: one output per example (a logit, a probability or a score)
    target_dtype: torch.dtype


# Every loss of tinygrad_edu.losses, each by the name it has there.
TORCH_LOSSES = {loss.name: loss for loss in [
    TorchLoss("binary_cross_entropy", "F.binary_cross_entropy",
              lambda p, y: F.binary_cross_entropy(p[:, 0], y), True, torch.float64),
    TorchLoss("binary_cross_entropy_with_logits", "F.binary_cross_entropy_with_logits",
              lambda z, y: F.binary_cross_entropy_with_logits(z[:, 0], y), True, torch.float64),
    TorchLoss("cross_entropy", "F.cross_entropy", F.cross_entropy, False, torch.int64),
    TorchLoss("mse", "F.mse_loss", lambda p, y: F.mse_loss(p[:, 0], y), True, torch.float64),
    # PyTorch has no loss of this name (nn.HingeEmbeddingLoss is another formula): its tensor ops
    TorchLoss("hinge", "torch.relu(1 - y * score).mean()",
              lambda s, y: torch.relu(1 - y * s[:, 0]).mean(), True, torch.float64),
]}


@dataclass(frozen=True)
class Row:
    """One number computed on both sides: the loss, an output, or a parameter's gradient."""
    kind: str  # "loss", "output" or "gradient"
    name: str  # its name here: "loss", "output 3", "layers.0.neurons.3.w.1"
    torch_name: str  # where it is in PyTorch: "layers.0.weight.grad[3, 1]"
    ours: float
    theirs: float

    @property
    def difference(self) -> float:
        """|ours − PyTorch's| relative to the larger of the two (0 when they are equal)."""
        if self.ours == self.theirs:
            return 0.0
        return abs(self.ours - self.theirs) / max(abs(self.ours), abs(self.theirs))


@dataclass(frozen=True)
class Comparison:
    """What compare() found: a row per number, printable as a table, and rich in Jupyter."""
    title: str
    rows: list[Row]

    @property
    def largest_difference(self) -> float:
        """The largest relative difference of any row."""
        return max(row.difference for row in self.rows)

    def row(self, name: str) -> Row:
        """The row of one number by its name here: `loss`, `output 0`, `layers.0.neurons.0.b`."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no row named {name!r}; the rows are the loss, the outputs and the "
                       f"parameters' names")

    def __str__(self) -> str:
        header = ("tinygrad_edu", "PyTorch", "tinygrad_edu value", "PyTorch value",
                  "relative difference")
        cells = [header] + [(row.name, row.torch_name, f"{row.ours:.17g}", f"{row.theirs:.17g}",
                             f"{row.difference:.1e}") for row in self.rows]
        widths = [max(len(cell[i]) for cell in cells) for i in range(len(header))]

        def line(cell: tuple[str, ...]) -> str:
            return "  ".join(text.rjust(width) if i >= 2 else text.ljust(width)
                             for i, (text, width) in enumerate(zip(cell, widths))).rstrip()

        lines = [self.title, line(header)]
        for k, row in enumerate(self.rows):
            if k == 0 or row.kind != self.rows[k - 1].kind:
                lines.append(f"-- {SECTIONS[row.kind]}")
            lines.append(line(cells[k + 1]))
        lines.append(f"largest relative difference: {self.largest_difference:.1e}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The table for Jupyter: a section per kind of number, the largest difference in bold."""
        largest = self.largest_difference
        body = []
        for k, row in enumerate(self.rows):
            if k == 0 or row.kind != self.rows[k - 1].kind:
                body.append(f'<tr><th colspan="5" style="text-align:left;padding-top:0.6em">'
                            f"{html.escape(SECTIONS[row.kind])}</th></tr>")
            style = ' style="font-weight:bold"' if row.difference == largest and largest else ""
            body.append(f'<tr{style}><td style="text-align:left">{html.escape(row.name)}</td>'
                        f'<td style="text-align:left">{html.escape(row.torch_name)}</td>'
                        f"<td>{row.ours:.17g}</td><td>{row.theirs:.17g}</td>"
                        f"<td>{row.difference:.1e}</td></tr>")
        return ('<table style="font-family:monospace;text-align:right">'
                f'<caption style="text-align:left">{html.escape(self.title)}<br>largest '
                f"relative difference: <b>{largest:.1e}</b></caption>"
                '<thead><tr><th style="text-align:left">tinygrad_edu</th>'
                '<th style="text-align:left">PyTorch</th><th>tinygrad_edu value</th>'
                "<th>PyTorch value</th><th>relative difference</th></tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>")


# The heading of each kind of row in the printed table.
SECTIONS = {"loss": "the mean loss", "output": "the outputs, one per example and unit",
            "gradient": "the gradients ∂L/∂parameter (PyTorch: the parameter's .grad)"}


def compare(model: Neurons, X: Sequence[Sequence[float]], y: Sequence[float],
            loss: Union[str, Callable] = "binary_cross_entropy_with_logits") -> Comparison:
    """Run the mean loss and backward on both sides; every number side by side.

    `loss` is a loss of tinygrad_edu.losses (the function or its name); `y` holds
    the targets it takes (a class index for cross_entropy, −1 or +1 for hinge).
    The model's gradients are left as they were.
    """
    spec = _torch_loss(loss)
    ours_loss = getattr(losses, spec.name)
    X, y = list(X), list(y)
    if not X or len(X) != len(y):
        raise ValueError(f"compare: X and y must be the same non-zero length, got {len(X)} "
                         f"examples and {len(y)} targets")
    layers = _neuron_layers(model, "compare")
    outputs = len(layers[-1])
    if spec.one_output and outputs != 1:
        raise ValueError(f"compare: {spec.name} takes one output per example, but the model "
                         f"has {outputs}; use loss=cross_entropy for one logit per class")

    saved = [(p, p.grad) for p in model.parameters()]
    try:
        model.zero_grad()
        ours_outputs = [_outputs(model, x) for x in X]
        per_example = [ours_loss(out[0] if spec.one_output else out, t)
                       for out, t in zip(ours_outputs, y)]
        ours_total = losses.mean_loss(per_example)
        ours_total.backward()
        ours_grads = {name: value.grad for name, value in model.named_parameters()}
    finally:
        for p, grad in saved:
            p.grad = grad

    network = _network(model, "compare")
    theirs_outputs = network(torch.tensor(X, dtype=torch.float64))
    theirs_total = spec.compute(theirs_outputs, torch.tensor(y, dtype=spec.target_dtype))
    theirs_total.backward()
    theirs_params = dict(network.named_parameters())

    rows = [Row("loss", "loss", spec.torch_name, ours_total.data, theirs_total.item())]
    theirs_table = theirs_outputs.tolist()
    for i, (ours_row, theirs_row) in enumerate(zip(ours_outputs, theirs_table)):
        for j, (ours_value, theirs_value) in enumerate(zip(ours_row, theirs_row)):
            name = f"output {i}" if outputs == 1 else f"output {i}[{j}]"
            rows.append(Row("output", name, f"output[{i}, {j}]", ours_value.data, theirs_value))
    for name, _, tensor, index in _parameter_places(model):
        gradient = cast(torch.Tensor, theirs_params[tensor].grad)
        rows.append(Row("gradient", name, f"{tensor}.grad[{', '.join(map(str, index))}]",
                        ours_grads[name], gradient[index].item()))
    title = (f"{model!r} on {len(X)} examples: mean {spec.name} against {spec.torch_name}, "
             f"float64")
    return Comparison(title, rows)


def _torch_loss(loss: Union[str, Callable]) -> TorchLoss:
    """The mapping of a loss of tinygrad_edu.losses, given as the function or its name."""
    if isinstance(loss, str):
        name = loss
    else:
        name = next((name for name in TORCH_LOSSES if getattr(losses, name, None) is loss),
                    getattr(loss, "__name__", repr(loss)))
    if name not in TORCH_LOSSES:
        raise ValueError(f"compare: loss must be one of tinygrad_edu.losses' "
                         f"{', '.join(TORCH_LOSSES)}, got {name!r}")
    return TORCH_LOSSES[name]


def _outputs(model: Neurons, x: Sequence[float]) -> list[Value]:
    """The model's outputs on one example, always as a list."""
    if isinstance(model, MLP):
        return model.outputs(x)
    out = model(x)
    return out if isinstance(out, list) else [out]


# ----------------------------------------------------------------- export
def export_files(model: Neurons, path: Union[str, Path]) -> dict[Path, bytes]:
    """The files that save `model` for PyTorch: its state_dict at `path` (a .pt file) and,
    beside it, a script (same name, .py) that rebuilds the module with PyTorch alone and loads it.

    Nothing is written: the caller writes the returned {path: bytes} (all at once).
    """
    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"the PyTorch file must end in .pt, got {str(path)!r}")
    network = _network(model, "export_files")
    buffer = io.BytesIO()
    torch.save(network.state_dict(), buffer)
    return {path: buffer.getvalue(),
            path.with_suffix(".py"): _script(network, repr(model), path).encode("utf-8")}


def _script(network: Network, described: str, weights: Path) -> str:
    """A short script that rebuilds `network` with PyTorch alone and loads its state_dict."""
    linears = ", ".join(f"nn.Linear({layer.in_features}, {layer.out_features})"
                        for layer in network.linear_layers())
    activations = ", ".join(f"nn.{type(module).__name__}()" for module in network.activations)
    nin = network.linear_layers()[0].in_features
    return SCRIPT.format(described=described, weights=weights.name, linears=linears,
                         activations=activations, nin=nin, kind=network.kind,
                         script=weights.with_suffix(".py").name, module=weights.stem)


SCRIPT = '''\
"""Rebuild {described} of tinygrad_edu as a PyTorch module and load its trained weights.

    python {script}                     # prints the module
    python {script} 0.5,-1.0 1.2,0.3    # and its outputs on these points, one line each

In your own code, from this folder: `from {module} import load; net = load()`.
Needs only PyTorch. Parameter `layers.k.neurons.j.w.i` is `layers.k.weight[j, i]` here.
"""

import sys
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name({weights!r})


class {kind}(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([{linears}])
        self.activations = nn.ModuleList([{activations}])

    def forward(self, x):
        for layer, activation in zip(self.layers, self.activations):
            x = activation(layer(x))
        return x


def load(path=WEIGHTS):
    """The module with the trained weights, in float64, ready to evaluate."""
    net = {kind}().double()
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()


def point(text):
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != {nin}:
        sys.exit(f"{{sys.argv[0]}}: a point is {nin} numbers separated by commas, got {{text!r}}")
    return values


if __name__ == "__main__":
    net = load()
    print(net)
    points = [point(text) for text in sys.argv[1:]]
    if points:
        with torch.no_grad():
            outputs = net(torch.tensor(points, dtype=torch.float64)).tolist()
        for text, output in zip(sys.argv[1:], outputs):
            print(text, *map(repr, output))
'''


# ------------------------------------------------------- a traced program in torch
def torch_inputs(program: Any, requires_grad: bool = True) -> dict[str, torch.Tensor]:
    """The arguments of `program.torch_source`, by name: float64 tensors of the leaves' current
    data, in the layout the source documents (`layers_0_weight[j, i]` is `layers.0.neurons.j.w.i`).

    `torch_function(program)(**torch_inputs(program))` computes the program's loss;
    with requires_grad (the default) `.backward()` on it fills every tensor's `.grad`.
    A training program writes its parameters back into their Values first (sync).
    """
    _check_program(program, "torch_inputs")
    if program.training is not None:
        program.sync()
    return {name: torch.tensor(data, dtype=torch.float64, requires_grad=requires_grad)
            for name, data in program.torch_code.argument_data().items()}


def torch_function(program: Any) -> Callable[..., Any]:
    """The function `program.torch_source` defines, made by running that source with torch."""
    _check_program(program, "torch_function")
    code = program.torch_code
    namespace: dict[str, Any] = {}
    # The source is written by torch_source.py; a label reaches it only as an identifier
    # ([A-Za-z0-9_]) or a number, never as text of its own.
    exec(compile(code.source, f"<torch_source of {program!r}>", "exec"), namespace)  # noqa: S102
    return namespace[code.function_name]


def _check_program(program: Any, caller: str) -> None:
    from tinygrad_edu.tracing import Program  # the bridge sits on top of the library

    if not isinstance(program, Program):
        raise TypeError(f"{caller}: program must be a traced Program (tinygrad_edu.trace(fn)), "
                        f"got {type(program).__name__}: {program!r:.60}")


def leaf_gradients(program: Any, inputs: dict[str, torch.Tensor]) -> list[float]:
    """Each leaf's gradient (in the order of `program.leaves`) read from the `.grad` of the
    tensors of torch_inputs, after backward(): what program() adds into the leaves' .grad."""
    _check_program(program, "leaf_gradients")
    shapes = program.torch_code.shapes
    for name, shape in shapes.items():
        given = inputs.get(name) if isinstance(inputs, dict) else None
        if not isinstance(given, torch.Tensor) or tuple(given.shape) != shape:
            raise ValueError(f"leaf_gradients: inputs must be the tensors torch_inputs(program) "
                             f"gave; {name!r} should be a tensor of shape {shape}, got "
                             f"{type(given).__name__}: {given!r:.60}")
    found = {}
    for leaf, name, index in program.torch_code.places:
        grad = inputs[name].grad
        found[id(leaf)] = 0.0 if grad is None else float(grad[index])
    return [found[id(leaf)] for leaf in program.leaves]


__all__ = ["ACTIVATION_MODULES", "TORCH_LOSSES", "Comparison", "Network", "Row", "TorchLoss",
           "compare", "export_files", "from_torch", "leaf_gradients", "parameter_names",
           "to_torch", "torch_function", "torch_inputs"]
