"""program.torch_source: the traced forward pass as a PyTorch function, run and compared.

The source is only honest if it computes what the program computes: every test
that has PyTorch runs it (float64 tensors from the leaves' data) and checks the
loss and every leaf's gradient from torch.autograd against the program's, to
1e-12. Those tests are skipped without PyTorch; the ones about the text are not.
"""

from __future__ import annotations

import math
import random
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engine_ops import ALL_BUILDERS, AWAY

from tinygrad_edu import Value, engine, losses, trace
from tinygrad_edu import nn as tnn
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD
from tinygrad_edu.tracing.python_backend import Expr
from tinygrad_edu.tracing.torch_source import TENSORS, label_place, torch_code

RELATIVE, ABSOLUTE = 1e-12, 1e-14  # float64 rounding is ~1e-16; anything bigger is a bug


def needs_torch():
    return pytest.importorskip("torch")


def run_code(code, torch):
    """The source run with torch on the leaves' data: (loss, extras or None, {leaf id: grad})."""
    namespace = {}
    exec(code.source, namespace)
    inputs = {name: torch.tensor(data, dtype=torch.float64, requires_grad=True)
              for name, data in code.argument_data().items()}
    assert list(inputs) == list(code.shapes)
    result = namespace[code.function_name](**inputs)
    loss, extras = result if isinstance(result, tuple) else (result, None)
    assert loss.dtype == torch.float64 and loss.dim() == 0
    if loss.requires_grad:  # not where every path has a zero derivative (step)
        loss.backward()
    grads = {}
    for leaf, name, index in code.places:
        grad = inputs[name].grad
        grads[id(leaf)] = 0.0 if grad is None else float(grad[index])
    return loss.item(), extras, grads


def assert_same_numbers(program, vectorise=True):
    """The program's loss, extras and leaf gradients equal the torch source's, to 1e-12."""
    torch = needs_torch()
    code = program.torch_code if vectorise else torch_code(program.recording, vectorise=False)
    loss, extras, grads = run_code(code, torch)
    for leaf in program.leaves:
        leaf.grad = 0.0
    result = program()
    value = result[0] if isinstance(result, tuple) else result
    assert loss == pytest.approx(value, rel=RELATIVE, abs=ABSOLUTE)
    if program.recording.outputs:
        expected = [program.recording.nodes[i].data for i in program.recording.outputs]
        program_extras = program.backend.run([leaf.data for leaf in program.leaves])[1]
        assert extras.tolist() == pytest.approx(program_extras, rel=RELATIVE, abs=ABSOLUTE)
        assert len(extras) == len(expected)
    else:
        assert extras is None
    if program.gradients:
        for leaf in program.leaves:
            assert grads[id(leaf)] == pytest.approx(leaf.grad, rel=RELATIVE, abs=ABSOLUTE), leaf
    return code


def body(source):
    """The lines of the generated function after its def and its comment of arguments."""
    lines = source.split("def ", 1)[1].splitlines()[1:]
    return [line for line in lines if not line.lstrip().startswith("#")]


def lecture_program(n=8, seed=0):
    """The lecture's network, MLP(2, [4, 1]) with a sigmoid output, on n moons points, BCE."""
    X, y = make_moons(n_samples=n, seed=seed)
    model = MLP(2, [4, 1], output_activation="sigmoid", seed=0)
    return trace(lambda: losses.mean_loss(
        [losses.binary_cross_entropy(model(x), t) for x, t in zip(X, y)])), model


# ------------------------------------------------------------------- the text
def test_the_lecture_network_is_one_line_per_layer():
    program, _ = lecture_program()
    source = program.torch_source
    assert source.startswith("import torch\n")
    assert "a1 = torch.relu(X @ layers_0_weight.T + layers_0_bias)" in source
    assert "z2 = a1 @ layers_1_weight.T + layers_1_bias" in source
    assert "a2 = torch.sigmoid(z2)" in source
    assert "def forward(layers_0_weight, layers_0_bias, layers_1_weight, layers_1_bias):" \
        in source
    assert sum("@" in line for line in body(source)) == 2  # one matrix product per layer
    assert "neurons" not in source
    assert body(source)[-1] == "    return loss"


def test_the_number_of_lines_does_not_grow_with_the_batch():
    model = MLP(3, [5, 5, 2], activation="tanh", seed=1)
    counts = []
    for n in (4, 16):
        X = [[Value(random.Random(k).uniform(-1, 1), label=f"x{k}.{i}") for i in range(3)]
             for k in range(n)]
        y = [[Value(float(k % 2 == c), label=f"y{k}.{c}") for c in range(2)] for k in range(n)]
        program = trace(lambda X=X, y=y: losses.mean_loss(
            [losses.cross_entropy(model.outputs(x), t) for x, t in zip(X, y)]))
        source = program.torch_source
        assert "z1 = x @ layers_0_weight.T + layers_0_bias" in source
        assert f"x: {n} x 3" in source and f"y: {n} x 2" in source
        assert sum("@" in line for line in body(source)) == 3
        counts.append(len(body(source)))
    assert counts[0] == counts[1] < 30, counts


def test_without_vectorising_it_is_one_line_per_node():
    a, b = Value(2.0, label="a"), Value(-0.5, label="b")
    program = trace(lambda: (a * b + b.exp()).tanh())
    code = torch_code(program.recording, vectorise=False)
    nodes = sum(step.primitive is not None for step in program.recording.steps)
    assert len(body(code.source)) == nodes + 1  # and the return
    assert "loss = torch.tanh(" in code.source and "torch.exp(b)" in code.source
    assert code.shapes == {"b": (), "a": ()}


def test_a_graph_that_is_no_network_is_scalar_code_one_line_per_node():
    a, b = Value(2.0, label="a"), Value(-0.5, label="b")
    program = trace(lambda: (a * b + b.exp()).tanh())
    lines = body(program.torch_source)
    assert lines[:-1] == ["    exp1 = torch.exp(b)", "    v1 = a * b", "    v2 = v1 + exp1",
                          "    loss = torch.tanh(v2)"]
    assert "@" not in program.torch_source


def test_labels_say_which_tensor_a_leaf_is_in():
    assert label_place("layers.0.neurons.3.w.1") == ("layers.0.weight", (3, 1))
    assert label_place("layers.2.neurons.0.b") == ("layers.2.bias", (0,))
    assert label_place("neurons.1.w.0") == ("weight", (1, 0))  # a Layer's own
    assert label_place("w.2") == ("w", (2,))  # a Neuron's
    assert label_place("x3.1") == ("x", (3, 1)) and label_place("y7") == ("y", (7,))
    assert label_place("weight.4.2") == ("weight", (4, 2))  # an Embedding's
    assert label_place("a") == ("a", ())
    assert label_place("x²") is None and label_place("3") is None


def test_an_op_whose_rule_has_no_torch_spelling_is_refused_by_name():
    cube = engine.Primitive("cube", 1, forward=lambda m, x: m.cube(x),
                            derivative=(lambda m, out, x: 3.0 * x * x,))
    with pytest.raises(TypeError, match=r"m\.cube\(\.\.\.\), which has no torch spelling yet; "
                                        r"add `cube` to TensorMath"):
        cube.evaluate(TENSORS, Expr("x"))


def test_every_primitive_forward_is_written_with_torch_names_only():
    for primitive, build, ranges in ALL_BUILDERS:
        leaves = [Value(0.5 * (low + high) + 0.1, label=f"x{k}") for k, (low, high)
                  in enumerate(ranges)]
        code = torch_code(trace(lambda build=build, leaves=leaves: build(*leaves) * 1.0).recording,
                          vectorise=False)
        calls = set(re.findall(r"([A-Za-z_.]+)\(", code.source))
        assert calls <= {"torch.exp", "torch.log", "torch.tanh", "torch.sigmoid", "torch.relu",
                         "torch.pow", "torch.stack", "sum", ".double", "forward"}, \
            (primitive, calls)


def test_writing_the_source_imports_no_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from tinygrad_edu import Value, trace\n"
            "a = Value(1.5, label='a')\n"
            "print(trace(lambda: (a * a).exp()).torch_source)\n")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=False)
    assert finished.returncode == 0, finished.stderr
    assert "torch.exp(" in finished.stdout


def test_without_numpy_the_source_is_scalar_and_still_written():
    code = ("import sys; sys.modules['numpy'] = None\n"
            "from tinygrad_edu import trace\nfrom tinygrad_edu.nn import MLP\n"
            "model = MLP(2, [3, 1], seed=0)\n"
            "program = trace(lambda: model([0.5, -1.0]) * 1.0)\n"
            "print(program.torch_source)\n")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=False)
    assert finished.returncode == 0, finished.stderr
    assert "@" not in finished.stdout and "torch.relu(" in finished.stdout
    assert "def forward(" in finished.stdout


# ------------------------------------------------------------ the numbers
def test_the_lecture_network_computes_the_programs_loss_and_gradients():
    program, model = lecture_program()
    assert_same_numbers(program)
    assert_same_numbers(program, vectorise=False)


def test_the_helpers_of_tinygrad_edu_torch_run_it_in_one_line():
    needs_torch()
    from tinygrad_edu.torch import leaf_gradients, torch_function, torch_inputs

    program, model = lecture_program()
    inputs = torch_inputs(program)
    loss = torch_function(program)(**inputs)
    loss.backward()
    for leaf in program.leaves:
        leaf.grad = 0.0
    assert loss.item() == pytest.approx(program(), rel=RELATIVE)
    assert leaf_gradients(program, inputs) == pytest.approx(
        [leaf.grad for leaf in program.leaves], rel=RELATIVE, abs=ABSOLUTE)
    # The weights are PyTorch's layout: row j of layers_0_weight is neuron j's weights.
    assert inputs["layers_0_weight"][3, 1].item() == model.layers[0].neurons[3].w[1].data
    assert inputs["layers_1_bias"][0].item() == model.layers[1].neurons[0].b.data


def test_it_reads_the_leaves_data_at_every_call():
    torch = needs_torch()
    program, model = lecture_program()
    for p in model.parameters():
        p.data += 0.25
    loss, _, _ = run_code(program.torch_code, torch)
    assert loss == pytest.approx(program(), rel=RELATIVE)


@pytest.mark.parametrize("primitive, build, ranges", ALL_BUILDERS,
                         ids=[f"{p.name}-{k}" for k, (p, _, _) in enumerate(ALL_BUILDERS)])
@pytest.mark.parametrize("vectorise", [True, False])
def test_every_primitive_gives_the_programs_numbers(primitive, build, ranges, vectorise):
    leaves = [Value(0.3 * low + 0.7 * high) for low, high in ranges]
    program = trace(lambda: build(*leaves) * 1.0)
    code = assert_same_numbers(program, vectorise)
    assert "def forward(" in code.source


@settings(max_examples=25)
@given(st.data())
def test_random_graphs_of_every_primitive(data):
    """Several nodes of random primitives on shared leaves, summed: any graph, no network."""
    leaves = [Value(data.draw(st.floats(0.3, 2.0)), label=f"v{k}") for k in range(3)]
    nodes = []
    for _ in range(data.draw(st.integers(1, 4))):
        primitive, build, ranges = data.draw(st.sampled_from(ALL_BUILDERS))
        inputs = []
        for low, high in ranges:
            # a leaf where the range allows one (all leaves are in [0.3, 2]), else a node of it
            x = data.draw(st.sampled_from(leaves))
            if low < 0.0 and (low, high) == AWAY:
                x = -x
            inputs.append(x)
        nodes.append(build(*inputs))
    program = trace(lambda: engine.sum(nodes) * 0.5 if len(nodes) > 1 else nodes[0] * 0.5)
    assert_same_numbers(program)
    assert_same_numbers(program, vectorise=False)


LOSS_CASES = {
    # name: (output activation, outputs, loss of (model outputs, target), target of example k)
    "binary_cross_entropy": ("sigmoid", 1, lambda out, t: losses.binary_cross_entropy(out[0], t),
                             lambda k, c: float(k % 2)),
    "binary_cross_entropy_with_logits": (
        "linear", 1, lambda out, t: losses.binary_cross_entropy_with_logits(out[0], t),
        lambda k, c: float(k % 2)),
    "cross_entropy": ("linear", 3, losses.cross_entropy, lambda k, c: k % c),
    "mse": ("linear", 1, lambda out, t: losses.mse(out[0], t), lambda k, c: 0.5 * k - 1.0),
    "hinge": ("linear", 1, lambda out, t: losses.hinge(out[0], t),
              lambda k, c: 1 if k % 2 else -1),
    "softmax": ("linear", 3, lambda out, t: -losses.softmax(out)[t].log(), lambda k, c: k % c),
    "log_softmax": ("linear", 3, lambda out, t: -losses.log_softmax(out)[t],
                    lambda k, c: k % c),
}


def test_every_loss_of_the_losses_module_is_covered():
    public = {name for name in dir(losses) if not name.startswith("_")
              and callable(getattr(losses, name)) and getattr(losses, name).__module__
              == losses.__name__}
    assert public - set(LOSS_CASES) == {"mean_loss"}  # mean_loss is in every case


# The losses that take a label as a Value (fed into a traced program, as fit(compile=True) does).
VALUE_LABELS = {"binary_cross_entropy_with_logits", "cross_entropy", "mse", "hinge"}


def as_value_target(target, classes):
    """A label as the Values a traced program is fed: a one-hot list for a class index."""
    if isinstance(target, int) and classes > 1:
        return [Value(float(c == target)) for c in range(classes)]
    return Value(float(target))


@pytest.mark.parametrize("name", sorted(LOSS_CASES))
@pytest.mark.parametrize("fed", [False, True], ids=["numbers", "values"])
def test_every_loss_gives_the_programs_numbers(name, fed):
    output_activation, classes, loss, target = LOSS_CASES[name]
    if fed and name not in VALUE_LABELS:
        pytest.skip(f"{name} takes its label as a number")
    model = MLP(2, [4, classes], output_activation=output_activation, seed=3)
    X, _ = make_moons(n_samples=6, seed=2)
    xs = [[Value(a) for a in row] for row in X] if fed else X
    ys = [target(k, classes) for k in range(len(X))]
    if fed:
        ys = [as_value_target(t, classes) for t in ys]
    program = trace(lambda: losses.mean_loss([loss(model.outputs(x), t) for x, t in zip(xs, ys)]))
    assert_same_numbers(program)


@pytest.mark.parametrize("activation", list(tnn.ACTIVATIONS))
def test_every_activation_gives_the_programs_numbers(activation):
    model = MLP(2, [3, 3, 2], activation=activation, output_activation=activation, seed=4)
    X, _ = make_moons(n_samples=5, seed=4)
    program = trace(lambda: losses.mean_loss([losses.cross_entropy(model.outputs(x), k % 2)
                                              for k, x in enumerate(X)]))
    code = assert_same_numbers(program)
    assert sum("@" in line for line in body(code.source)) == 3


@st.composite
def networks(draw):
    """A random MLP, loss, batch, and whether inputs and labels are Values or numbers."""
    nin = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    name = draw(st.sampled_from(sorted(set(LOSS_CASES) - {"softmax", "log_softmax"})))
    output_activation, classes, loss, target = LOSS_CASES[name]
    activation = draw(st.sampled_from(list(tnn.ACTIVATIONS)))
    model = MLP(nin, [*hidden, classes], activation=activation,
                output_activation=output_activation, seed=draw(st.integers(0, 99)))
    rows = draw(st.integers(1, 6))
    numbers = st.floats(-2.0, 2.0, allow_nan=False)
    X = [[draw(numbers) for _ in range(nin)] for _ in range(rows)]
    ys = [target(k + draw(st.integers(0, 1)), classes) for k in range(rows)]
    if draw(st.booleans()):
        X = [[Value(x, label=f"x{k}.{i}") for i, x in enumerate(row)] for k, row in enumerate(X)]
    if name in VALUE_LABELS and draw(st.booleans()):
        ys = [as_value_target(t, classes) for t in ys]
    return model, X, ys, loss, draw(st.sampled_from(["python", "numpy"]))


@settings(max_examples=30)
@given(networks())
def test_random_networks_give_the_programs_loss_and_gradients(network):
    model, X, ys, loss, backend = network  # the program's backend: the source is the same
    program = trace(lambda: losses.mean_loss([loss(model.outputs(x), t) for x, t in zip(X, ys)]),
                    backend=backend)
    code = assert_same_numbers(program)
    assert sum("@" in line for line in body(code.source)) <= len(model.layers)
    assert max(len(line) for line in body(code.source)) <= 100  # long lines are wrapped


def test_a_program_that_returns_more_values_returns_them_too():
    model = MLP(2, [3, 1], seed=5)
    X, y = make_moons(n_samples=6, seed=5)
    xs = [[Value(a) for a in row] for row in X]

    def fn():
        outputs = [model(x) for x in xs]
        return losses.mean_loss([losses.mse(o, t) for o, t in zip(outputs, y)]), outputs

    program = trace(fn)
    code = assert_same_numbers(program)
    assert body(code.source)[-1].startswith("    return loss, ")


def test_a_forward_only_program_gives_the_same_loss():
    program_with, _ = lecture_program()
    X, y = make_moons(n_samples=8, seed=0)
    model = MLP(2, [4, 1], output_activation="sigmoid", seed=0)
    program = trace(lambda: losses.mean_loss(
        [losses.binary_cross_entropy(model(x), t) for x, t in zip(X, y)]), gradients=False)
    assert program.torch_source == program_with.torch_source
    assert_same_numbers(program)


def test_a_training_program_is_written_from_its_parameters_now():
    torch = needs_torch()
    from tinygrad_edu.torch import torch_function, torch_inputs

    model = MLP(2, [3, 1], seed=6)
    X, y = make_moons(n_samples=6, seed=6)
    fn = lambda: losses.mean_loss([losses.mse(model(x), t) for x, t in zip(X, y)])  # noqa: E731
    program = trace(fn, optimizer=SGD(model.parameters(), lr=0.1))
    program()
    program()  # two steps: the parameters live in the program until sync()
    loss = torch_function(program)(**torch_inputs(program, requires_grad=False))
    assert isinstance(loss, torch.Tensor)
    assert loss.item() == pytest.approx(fn().data, rel=RELATIVE)


def test_a_loss_that_is_a_leaf_or_a_single_node_runs():
    a = Value(1.25, label="a")
    assert_same_numbers(trace(lambda: a.exp()))
    assert_same_numbers(trace(lambda: a * 1.0))
    assert math.isfinite(a.data)


def test_an_op_added_to_the_engine_is_written_with_no_edit_here():
    # README "Adding an op": softplus, built from relu, log and exp; made without entering the
    # table, so other tests do not see it.
    softplus = engine.Primitive(
        "softplus", 1, forward=lambda m, x: m.relu(x) + m.log(1.0 + m.exp(x - 2.0 * m.relu(x))),
        derivative=(lambda m, out, x: m.sigmoid(x),), activation=True)
    a = Value(0.5, label="a")
    program = trace(lambda: engine.apply(softplus, a * 3.0) * 2.0)
    assert "torch.log(1.0 + torch.exp(" in program.torch_source
    assert_same_numbers(program)
    assert_same_numbers(program, vectorise=False)


def test_the_readme_shows_what_the_lecture_network_prints():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = [block for block in re.findall(r"```text\n(.*?)```", readme, flags=re.S)
             if block.startswith("def forward(layers_0_weight")]
    assert len(shown) == 1
    program, _ = lecture_program()
    assert program.torch_source.split("\n\n\n", 1)[1] == shown[0]
    assert "exp1 = torch.exp(b)`, `v1 = a * b`,\n`v2 = v1 + exp1`, `loss = torch.tanh(v2)`" \
        in readme  # what test_a_graph_that_is_no_network_is_scalar_code... checks


def test_the_helpers_refuse_what_is_not_a_program_or_its_inputs():
    needs_torch()
    from tinygrad_edu.torch import leaf_gradients, torch_function, torch_inputs

    for helper in (torch_inputs, torch_function):
        with pytest.raises(TypeError, match=rf"{helper.__name__}: program must be a traced "
                                            r"Program \(tinygrad_edu.trace\(fn\)\), got str: "
                                            r"'loss'"):
            helper("loss")
    program, _ = lecture_program()
    inputs = torch_inputs(program)
    del inputs["layers_0_bias"]
    with pytest.raises(ValueError, match=r"leaf_gradients: inputs must be the tensors "
                                         r"torch_inputs\(program\) gave; 'layers_0_bias' should "
                                         r"be a tensor of shape \(4,\), got NoneType: None"):
        leaf_gradients(program, inputs)


def test_hostile_labels_become_names_and_never_code():
    # Labels are a user's text: in the source they are identifiers, and a line break, a quote
    # or a keyword in one runs nothing.
    import ast

    labels = ["a\nimport os\nos.system('echo PWNED')", "b'); import os #", "for", "1abc",
              "__import__('os')", "layers.0.neurons.0.w.0\nx", "x1.0]; import os", "é"]
    leaves = [Value(1.0 + k / 10, label=text) for k, text in enumerate(labels)]
    out = leaves[0]
    for leaf in leaves[1:]:
        out = out * leaf + leaf.tanh()
    program = trace(lambda: out)
    source = program.torch_source
    tree = ast.parse(source)
    assert [type(node).__name__ for node in tree.body] == ["Import", "FunctionDef"]
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                and node is not tree.body[0]]
    calls = {node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
             for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert "system" not in calls and "__import__" not in calls
    torch = pytest.importorskip("torch")
    from tinygrad_edu.torch import torch_function, torch_inputs

    assert math.isclose(float(torch_function(program)(**torch_inputs(program)).detach()),
                        out.data, rel_tol=1e-12)
    assert torch.is_tensor(torch_inputs(program)[next(iter(torch_inputs(program)))])
