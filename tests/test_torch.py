"""tinygrad_edu.torch: the same network in PyTorch, and the same numbers on both sides.

Skipped where PyTorch is not installed (CI installs its CPU wheel: `make torch`).
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_edu import losses
from tinygrad_edu import nn as tnn
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import MLP, Embedding, Layer, Neuron

torch = pytest.importorskip("torch")
from tinygrad_edu.torch import (  # noqa: E402  (after the skip: it needs torch)
    ACTIVATION_MODULES,
    TORCH_LOSSES,
    Network,
    compare,
    export_files,
    from_torch,
    parameter_names,
    to_torch,
)

nn = torch.nn
RELATIVE, ABSOLUTE = 1e-12, 1e-14  # as tests/test_engine_torch.py: float64 rounding is ~1e-16


def weights(model):
    return [p.data for p in model.parameters()]


def outputs(model, X):
    return [[v.data for v in (model.outputs(x) if isinstance(model, MLP) else
                              ([model(x)] if isinstance(model, Neuron) else model(x)))]
            for x in X]


def flat(rows):
    return [value for row in rows for value in row]


def assert_agrees(comparison):
    for row in comparison.rows:
        assert row.ours == pytest.approx(row.theirs, rel=RELATIVE, abs=ABSOLUTE), row


# ------------------------------------------------------------ the module
def test_import_torch_inside_the_package_is_pytorch():
    import tinygrad_edu.torch as bridge

    assert bridge.torch is torch and bridge.torch.__name__ == "torch"
    assert hasattr(bridge.torch, "tensor") and bridge.__name__ == "tinygrad_edu.torch"


def test_without_torch_the_import_error_says_how_to_get_it():
    code = ("import sys; sys.modules['torch'] = None\n"  # what an absent package looks like
            "try:\n    import tinygrad_edu.torch\n"
            "except ImportError as problem:\n    print(problem)\n")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)
    assert finished.stdout.strip() == ("tinygrad_edu.torch needs PyTorch, which is not "
                                       "installed: pip install 'tinygrad_edu[torch]'")


def test_python_started_in_the_package_folder_is_told_why_torch_is_not_pytorch():
    folder = Path(__file__).resolve().parent.parent / "tinygrad_edu"
    finished = subprocess.run([sys.executable, "-c", "import torch"], cwd=folder,
                              capture_output=True, text=True, check=False)
    assert finished.returncode == 1
    assert ("is tinygrad_edu's bridge to PyTorch, but it was imported as 'torch': Python looks "
            "in the current folder first, and that is tinygrad_edu/; start Python from another "
            "folder") in finished.stderr.splitlines()[-1]


def test_every_activation_and_every_loss_has_its_pytorch_counterpart():
    assert set(ACTIVATION_MODULES) == set(tnn.ACTIVATIONS)
    public = {name for name in dir(losses) if not name.startswith("_")
              and callable(getattr(losses, name)) and getattr(losses, name).__module__
              == losses.__name__}
    # softmax and log_softmax give probabilities, not a loss; mean_loss is the batch mean
    assert set(TORCH_LOSSES) == public - {"softmax", "log_softmax", "mean_loss"}


# --------------------------------------------------------- to_torch, names
def test_the_lecture_network_becomes_linear_layers_with_the_same_weights():
    model = MLP(2, [4, 1], output_activation="sigmoid", seed=3)
    net = to_torch(model)
    assert isinstance(net, Network)
    assert [type(m) for m in net.layers] == [nn.Linear, nn.Linear]
    assert [type(m) for m in net.activations] == [nn.ReLU, nn.Sigmoid]
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight",
                                      "layers.1.bias"]
    assert all(p.dtype == torch.float64 for p in net.parameters())
    state = net.state_dict()
    neuron = model.layers[0].neurons[3]
    assert state["layers.0.weight"][3, 1].item() == neuron.w[1].data
    assert state["layers.0.bias"][3].item() == neuron.b.data
    assert parameter_names(model)["layers.0.neurons.3.w.1"] == "layers.0.weight[3, 1]"
    assert parameter_names(model)["layers.1.neurons.0.b"] == "layers.1.bias[0]"
    assert len(parameter_names(model)) == len(model.parameters()) == 17


def test_outputs_are_the_same_on_both_sides():
    model = MLP(3, [5, 4, 2], activation="tanh", seed=1)
    X = [[random.Random(i).uniform(-2, 2) for _ in range(3)] for i in range(7)]
    theirs = to_torch(model)(torch.tensor(X, dtype=torch.float64)).tolist()
    assert flat(theirs) == pytest.approx(flat(outputs(model, X)), rel=RELATIVE, abs=ABSOLUTE)


@pytest.mark.parametrize("model", [
    MLP(2, [3, 1], seed=0), MLP(3, [4, 4, 3], activation="sigmoid", output_activation="tanh",
                                seed=1),
    MLP(1, [2], activation="tanh", output_activation="relu", seed=2),
    Layer(3, 4, activation="sigmoid", seed=3), Neuron(4, activation="tanh", seed=4),
    Embedding(6, 3, seed=5),
], ids=repr)
def test_from_torch_of_to_torch_gives_the_model_back(model):
    back = from_torch(to_torch(model))
    assert type(back) is type(model) and repr(back) == repr(model)
    assert weights(back) == weights(model)  # exactly: float64 holds every float
    assert [name for name, _ in back.named_parameters()] == \
        [name for name, _ in model.named_parameters()]
    if not isinstance(model, Embedding):
        X = [[0.3 * i - 0.5 * j for j in range(model.nin if hasattr(model, "nin") else
                                               model.neurons[0].nin)] for i in range(4)]
        assert outputs(back, X) == outputs(model, X)


def test_an_embedding_row_is_the_same_vector():
    table = Embedding(5, 3, seed=0)
    theirs = to_torch(table)
    assert isinstance(theirs, nn.Embedding) and theirs.weight.dtype == torch.float64
    assert theirs(torch.tensor([2])).tolist()[0] == [v.data for v in table(2)]


def test_a_plain_sequential_becomes_an_mlp():
    torch.manual_seed(0)
    stack = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 3)).double()
    model = from_torch(stack)
    assert repr(model) == "MLP(2, [8, 8, 3], activation='tanh', output_activation='linear')"
    X = [[0.5, -1.0], [2.0, 0.25]]
    theirs = stack(torch.tensor(X, dtype=torch.float64)).tolist()
    assert flat(outputs(model, X)) == pytest.approx(flat(theirs), rel=RELATIVE, abs=ABSOLUTE)
    assert weights(model)[:2] == stack[0].weight[0].tolist()


def test_a_float32_sequential_and_a_sigmoid_output_convert_too():
    stack = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid())
    model = from_torch(stack)
    assert model.output_activation == "sigmoid"
    assert weights(model)[0] == stack[0].weight[0, 0].item()  # every float32 is a float64


@pytest.mark.parametrize("stack, message", [
    (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Linear(3, 1)),
     "the Sequential's module 1 is Dropout (Dropout(p=0.5, inplace=False)), which has no "
     "counterpart here"),
    (nn.Sequential(nn.Linear(2, 3), nn.GELU()), "module 1 is GELU"),
    (nn.Sequential(nn.ReLU(), nn.Linear(2, 3)), "comes before any Linear"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()), "follows another activation"),
    (nn.Conv2d(1, 1, 3), "cannot convert a Conv2d"),
    (nn.LSTM(2, 3), "cannot convert a LSTM"),
    (nn.Sequential(), "the Sequential has no nn.Linear"),
    (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), "layer 1 takes 4 inputs but layer 0 "
                                                      "gives 3"),
    (nn.Sequential(nn.Linear(2, 3, bias=False)), "has no bias"),
    (nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1)),
     "the hidden layers use different activations (relu, tanh)"),
])
def test_what_has_no_counterpart_is_refused_naming_the_module(stack, message):
    with pytest.raises((TypeError, ValueError)) as refused:
        from_torch(stack)
    assert message in str(refused.value)


def test_a_network_without_layers_or_with_one_activation_too_few_is_refused():
    empty = Network([2], [])
    with pytest.raises(ValueError, match="from_torch: Network has no layers"):
        from_torch(empty)
    short = Network([2, 3, 1], ["relu", "linear"])
    del short.activations[1]
    with pytest.raises(ValueError, match="2 layers but 1 activations"):
        from_torch(short)


def test_nan_weights_are_refused():
    stack = nn.Sequential(nn.Linear(2, 3))
    with torch.no_grad():
        stack[0].weight[1, 1] = float("nan")
    with pytest.raises(ValueError, match="not finite numbers"):
        from_torch(stack)


def test_to_torch_refuses_what_it_cannot_convert():
    class Pair(tnn.Module):
        def __init__(self):
            self.first, self.second = Neuron(2, seed=0), Neuron(2, seed=1)

    with pytest.raises(TypeError, match="must be an MLP, Layer, Neuron or Embedding .* got Pair"):
        to_torch(Pair())
    with pytest.raises(TypeError, match="compare: model must be an MLP, Layer or Neuron of"):
        compare(Embedding(3, 2, seed=0), X5, [0] * 5)
    mixed = Layer(2, 2, seed=0)
    mixed.neurons[1] = Neuron(2, activation="tanh", seed=0)
    with pytest.raises(ValueError, match=r"layer 0 use different activations \(relu, tanh\)"):
        to_torch(mixed)


# ------------------------------------------------------------- compare
LOSS_CASES = {
    "binary_cross_entropy": ("sigmoid", 1, [1, 0, 1, 0, 0.25]),
    "binary_cross_entropy_with_logits": ("linear", 1, [1, 0, 1, 0, 0.25]),
    "cross_entropy": ("linear", 3, [0, 2, 1, 1, 0]),
    "mse": ("tanh", 1, [0.5, -1.0, 2.0, 0.0, 0.3]),
    "hinge": ("linear", 1, [1, -1, -1, 1, 1]),
}
X5 = [[0.5, -1.0], [1.5, 0.25], [-0.7, 0.7], [0.0, 0.0], [2.0, -2.0]]


@pytest.mark.parametrize("loss", list(LOSS_CASES))
def test_each_loss_gives_the_same_loss_outputs_and_gradients(loss):
    output_activation, outputs_, y = LOSS_CASES[loss]
    model = MLP(2, [6, outputs_], output_activation=output_activation, seed=7)
    comparison = compare(model, X5, y, loss=getattr(losses, loss))
    assert compare(model, X5, y, loss=loss).rows == comparison.rows  # by name too
    kinds = [row.kind for row in comparison.rows]
    assert kinds.count("loss") == 1 and kinds.count("output") == 5 * outputs_
    assert kinds.count("gradient") == len(model.parameters())
    assert_agrees(comparison)
    # The rows hold what each side computed, not copies of one side.
    from tinygrad_edu.losses import mean_loss
    ours = mean_loss([getattr(losses, loss)(model.outputs(x) if outputs_ > 1 else model(x), t)
                      for x, t in zip(X5, y)])
    assert comparison.row("loss").ours == ours.data
    assert comparison.largest_difference < 1e-12


def test_compare_leaves_the_models_gradients_as_they_were():
    model = MLP(2, [3, 1], seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = float(i)
    compare(model, X5, [1, 0, 1, 0, 1])
    assert [p.grad for p in model.parameters()] == [float(i) for i in
                                                    range(len(model.parameters()))]


def test_compare_notices_a_difference():
    model = MLP(2, [3, 1], seed=0)
    comparison = compare(model, X5, [1, 0, 1, 0, 1])
    assert comparison.largest_difference < 1e-12
    # A model whose Value forward is off by a hair: the table must show it.
    model.layers[0].neurons[0]._activate = lambda z: z.relu() * (1 + 1e-9)
    off = compare(model, X5, [1, 0, 1, 0, 1])
    assert 1e-10 < off.largest_difference < 1e-6


def test_the_table_prints_and_shows_in_jupyter():
    model = MLP(2, [2, 1], seed=0)
    comparison = compare(model, X5[:2], [1, 0])
    text = str(comparison)
    assert text.splitlines()[0].startswith("MLP(2, [2, 1]")
    assert "layers.0.neurons.1.w.0" in text and "layers.0.weight.grad[1, 0]" in text
    assert text.splitlines()[-1].startswith("largest relative difference: ")
    page = comparison._repr_html_()
    sections = 3  # a heading row for the loss, the outputs and the gradients
    assert page.startswith("<table") and page.count("<tr") == 1 + sections + len(comparison.rows)
    assert text.count("\n-- ") == sections
    assert "MLP(2, [2, 1], activation=&#x27;relu&#x27;" in page  # escaped


@pytest.mark.parametrize("call, message", [
    (lambda m: compare(m, X5, [1, 0]), "X and y must be the same non-zero length"),
    (lambda m: compare(m, [], []), "X and y must be the same non-zero length"),
    (lambda m: compare(m, X5, [0] * 5, loss="nll"), "loss must be one of"),
    (lambda m: compare(m, X5, [0] * 5, loss=losses.softmax), "got 'softmax'"),
    (lambda m: compare(MLP(2, [3, 2], seed=0), X5, [0] * 5),
     "binary_cross_entropy_with_logits takes one output per example, but the model has 2"),
    (lambda m: compare(m, X5, [2, 0, 1, 0, 0]), "target y must be"),
])
def test_compare_refuses_bad_input_clearly(call, message):
    with pytest.raises(ValueError) as refused:
        call(MLP(2, [3, 1], seed=0))
    assert message in str(refused.value)


# Random networks and data: every loss, every activation, any shape.
@st.composite
def networks_and_data(draw):
    loss = draw(st.sampled_from(sorted(LOSS_CASES)))
    nin = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 5), max_size=2))
    outputs_ = draw(st.integers(2, 4)) if loss == "cross_entropy" else 1
    activation = draw(st.sampled_from(sorted(tnn.ACTIVATIONS)))
    output_activation = "sigmoid" if loss == "binary_cross_entropy" else \
        draw(st.sampled_from(sorted(tnn.ACTIVATIONS)))
    model = MLP(nin, [*hidden, outputs_], activation=activation,
                output_activation=output_activation, seed=draw(st.integers(0, 2**32)))
    n = draw(st.integers(1, 6))
    numbers = st.floats(-3, 3, allow_nan=False)
    X = draw(st.lists(st.lists(numbers, min_size=nin, max_size=nin), min_size=n, max_size=n))
    targets = {"binary_cross_entropy": st.floats(0, 1), "mse": numbers,
               "binary_cross_entropy_with_logits": st.floats(0, 1),
               "cross_entropy": st.integers(0, outputs_ - 1), "hinge": st.sampled_from([-1, 1])}
    y = draw(st.lists(targets[loss], min_size=n, max_size=n))
    return model, X, y, loss


@settings(max_examples=150, deadline=None)
@given(networks_and_data())
def test_random_networks_have_the_same_gradients_in_pytorch(case):
    model, X, y, loss = case
    assert_agrees(compare(model, X, y, loss=loss))


@settings(max_examples=60, deadline=None)
@given(networks_and_data())
def test_random_networks_survive_the_round_trip(case):
    model, X, _, _ = case
    back = from_torch(to_torch(model))
    assert repr(back) == repr(model) and weights(back) == weights(model)
    assert outputs(back, X) == outputs(model, X)


# --------------------------------------------------------------- export
def test_the_exported_state_dict_reloads_in_a_fresh_process(tmp_path):
    X, y = make_moons(n_samples=5, seed=1)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=2)
    files = export_files(model, tmp_path / "net.pt")
    assert sorted(path.name for path in files) == ["net.pt", "net.py"]
    for path, content in files.items():
        path.write_bytes(content)
    script = (tmp_path / "net.py").read_text(encoding="utf-8")
    assert "tinygrad_edu" not in script.split('"""')[2]  # the code needs PyTorch alone
    points = [f"{a!r},{b!r}" for a, b in X]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    finished = subprocess.run([sys.executable, "-I", str(tmp_path / "net.py"), *points],
                              cwd=elsewhere, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[0] == "MLP("
    printed = [[float(v) for v in line.split()[1:]] for line in lines if line.split()[0]
               in points]
    assert flat(printed) == pytest.approx(flat(outputs(model, X)), rel=RELATIVE, abs=ABSOLUTE)
    bad = subprocess.run([sys.executable, "-I", str(tmp_path / "net.py"), "1,x"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().endswith("a point is 2 numbers separated by commas, got '1,x'")


def test_the_rebuilt_module_converts_back(tmp_path):
    model = MLP(2, [3, 1], seed=0)
    for path, content in export_files(model, tmp_path / "m.pt").items():
        path.write_bytes(content)
    sys.path.insert(0, str(tmp_path))
    try:
        import m as script
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("m", None)
    back = from_torch(script.load())
    assert repr(back) == repr(model) and weights(back) == weights(model)


def test_export_wants_a_pt_file(tmp_path):
    with pytest.raises(ValueError, match="must end in .pt, got '.*model.py'"):
        export_files(MLP(2, [1], seed=0), tmp_path / "model.py")
    assert list(tmp_path.iterdir()) == []


def test_compare_and_export_touch_no_file_of_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compare(MLP(2, [2, 1], seed=0), X5, [1, 0, 1, 0, 1])
    export_files(MLP(2, [2, 1], seed=0), Path("m.pt"))
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------ tinygrad-edu train --export-torch
def test_train_exports_the_trained_model_and_a_fresh_process_reloads_it(tmp_path, capsys):
    import json

    from tinygrad_edu.cli import main
    from tinygrad_edu.train import evaluate

    out, pt = tmp_path / "train", tmp_path / "torch" / "model.pt"
    argv = ["train", "--hidden", "6,6", "--activation", "tanh", "--samples", "50", "--steps",
            "15", "--seed", "3", "--out", str(out), "--export-torch", str(pt)]
    assert main(argv) == 0, capsys.readouterr().err
    assert f"wrote {pt}" in capsys.readouterr().out
    state = torch.load(pt, weights_only=True)
    assert {name: list(t.shape) for name, t in state.items()} == {
        "layers.0.weight": [6, 2], "layers.0.bias": [6], "layers.1.weight": [6, 6],
        "layers.1.bias": [6], "layers.2.weight": [1, 6], "layers.2.bias": [1]}
    # The saved weights are the trained ones: with them, the loss is the one training reported.
    net = Network([2, 6, 6, 1], ["tanh", "tanh", "linear"], "MLP", "tanh")
    net.load_state_dict(state)
    model = from_torch(net)
    X, y = make_moons(n_samples=50, seed=3)
    summary = json.loads((out / "summary.json").read_text())
    assert evaluate(model, X, y, "bce")[0] == pytest.approx(summary["final_loss"], rel=1e-12)
    # The script beside it rebuilds the module with PyTorch alone, in a fresh process.
    points = [f"{a!r},{b!r}" for a, b in X[:6]]
    finished = subprocess.run([sys.executable, "-I", str(pt.with_suffix(".py")), *points],
                              cwd=tmp_path, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    printed = [float(line.split()[1]) for line in finished.stdout.splitlines()
               if line.split() and line.split()[0] in points]
    assert printed == pytest.approx([model(x).data for x in X[:6]], rel=RELATIVE, abs=ABSOLUTE)


@pytest.mark.parametrize("export, message", [
    ("model.txt", "--export-torch {folder}/model.txt: the file must end in .pt"),
    ("file.txt/model.pt", "--export-torch's folder {folder}/file.txt: it is a file"),
    ("dir.pt", "--export-torch {folder}/dir.pt: it is a folder"),
])
def test_a_bad_export_path_is_refused_before_training(tmp_path, capsys, export, message):
    from tinygrad_edu.cli import main

    (tmp_path / "file.txt").write_text("keep me")
    (tmp_path / "dir.pt").mkdir()
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "new" / "out"),
            "--export-torch", str(tmp_path / export)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message.format(folder=tmp_path) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.pt", "file.txt"]
