"""The lecture's demos: every check a demo prints is asserted here, on quick settings.

Each demo is a script under demos/ with a `main(argv)` that prints and returns
its numbers; the tests load the script as a module and call main() with
`--out` pointing at a temporary folder. The language model has its own file,
test_language_model.py.
"""

import importlib.util
import math
import re
from pathlib import Path

import pytest

from tinygrad_edu import Value
from tinygrad_edu.cli import main as cli_main
from tinygrad_edu.nn import Neuron

DEMOS = Path(__file__).resolve().parent.parent / "demos"
NAMES = ("computation_graph", "two_paths", "logistic_regression", "softmax_regression",
         "two_layer_mlp", "ffnn_language_model", "higher_order", "backprop_order", "to_pytorch")


def load(name):
    """Import demos/NAME.py as a module (its `if __name__ == "__main__"` part does not run)."""
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_svg(path):
    return path.is_file() and "<svg" in path.read_text(encoding="utf-8")


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------- every demo
def test_every_demo_is_tested_and_listed_in_the_readme():
    scripts = {p.stem for p in DEMOS.glob("*.py") if not p.stem.startswith("_")}
    readme = (DEMOS / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert name in scripts
        assert f"tinygrad-edu demo {name}" in readme


@pytest.mark.parametrize("name", NAMES)
def test_a_bad_argument_exits_2_with_one_line(name, capsys):
    assert cli_main(["demo", name, "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-option" in err


@pytest.mark.parametrize("name, argv, message", [
    ("two_paths", ["--w", "nan"], "--w must be a finite number, got nan"),
    ("two_paths", ["--lam", "abc"], "invalid float value: 'abc'"),
    ("logistic_regression", ["--steps", "-1"], "--steps must be 0 or more, got -1"),
    ("softmax_regression", ["--steps", "-5"], "--steps must be 0 or more, got -5"),
    ("two_layer_mlp", ["--hidden", "0"], "--hidden must be between 1 and 64, got 0"),
    ("ffnn_language_model", ["--epochs", "0"], "--epochs must be at least 1, got 0"),
    ("higher_order", ["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
    ("to_pytorch", ["--hidden", "0"], "--hidden must be between 1 and 64, got 0"),
])
def test_a_bad_value_names_the_option_and_the_value(name, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        load(name).main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# ------------------------------------------------------- computation_graph
LECTURE_BACKWARD = [
    "dL/dL = 1",
    "dL/dc = 5",
    "dL/de = -2",
    "dL/da = dL/de * de/da = -2 * 1 = -2",
    "dL/dd = dL/de * de/dd = -2 * 1 = -2",
    "dL/db = dL/de * de/dd * dd/db = -2 * 1 * 2 = -4",
]


def test_computation_graph_prints_the_lectures_numbers_in_backward_order(tmp_path, capsys):
    result = load("computation_graph").main(["--out", str(tmp_path)])
    assert result["forward"] == ["b = 1", "d = b*2 = 2", "a = 3", "e = a + d = 5", "c = -2",
                                 "L = c * e = -10"]
    assert result["backward"] == LECTURE_BACKWARD
    out = capsys.readouterr().out
    assert [out.index(line) for line in LECTURE_BACKWARD] == sorted(
        out.index(line) for line in LECTURE_BACKWARD)


def test_computation_graph_writes_the_graph_and_the_walkthrough(tmp_path):
    load("computation_graph").main(["--out", str(tmp_path)])
    graph = tmp_path / "lecture_graph.svg"
    assert is_svg(graph)
    assert "∂L/∂e" in graph.read_text(encoding="utf-8")  # the local gradients are on the arrows
    page = (tmp_path / "lecture_walkthrough.html").read_text(encoding="utf-8")
    assert "<svg" in page and "d = 2*b, e = a + d, L = c*e" in page


def test_computation_graph_adds_the_paths_of_a_value_used_twice():
    demo = load("computation_graph")
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    y.backward()
    assert demo.chain_rule_lines(y)[-1] == (
        "dy/dx = dy/dy * dy/dx + dy/dy * dy/dx = 1 * 3 + 1 * 3 = 6")


def test_the_cli_passes_arguments_on_to_the_demo(tmp_path):
    assert cli_main(["demo", "computation_graph", "--out", str(tmp_path / "pictures")]) == 0
    assert is_svg(tmp_path / "pictures" / "lecture_graph.svg")


# ---------------------------------------------------------------- two_paths
def test_two_paths_contributions_add_up_to_backward_and_the_finite_difference(tmp_path):
    result = load("two_paths").main(["--out", str(tmp_path)])
    # w = 0.75, x = 2, y = 3, lam = 0.1: data path 2(wx - y)x = -6, penalty path 2 lam w = 0.15
    assert result["contributions"] == pytest.approx([-6.0, 0.15], abs=1e-15)
    assert result["sum"] == result["backward"] == pytest.approx(-5.85, abs=1e-15)
    assert result["finite_difference"] == pytest.approx(-5.85, abs=1e-6)
    assert result["agrees"]
    assert is_svg(tmp_path / "two_paths.svg")


@pytest.mark.parametrize("w, x, y, lam", [(0.75, 2.0, 3.0, 0.1), (-1.5, 0.5, 2.0, 3.0),
                                          (2.0, -3.0, 1.0, 0.0)])
def test_two_paths_match_the_formula_for_other_numbers(tmp_path, w, x, y, lam):
    argv = ["--w", str(w), "--x", str(x), "--y", str(y), "--lam", str(lam), "--out", str(tmp_path)]
    result = load("two_paths").main(argv)
    data_path, penalty_path = 2 * (w * x - y) * x, 2 * lam * w
    assert result["contributions"] == pytest.approx([data_path, penalty_path], rel=1e-12)
    assert result["backward"] == pytest.approx(data_path + penalty_path, rel=1e-12)
    assert result["agrees"]


def test_paths_counts_each_use_of_a_value():
    demo = load("two_paths")
    x = Value(3.0, label="x")
    y = x * x
    assert [[local for _, _, local in path] for path in demo.paths(y, x)] == [[3.0], [3.0]]


# ------------------------------------------------------ logistic_regression
def test_logistic_regression_gradients_match_the_closed_form_and_it_learns(tmp_path):
    result = load("logistic_regression").main(["--steps", "40", "--out", str(tmp_path)])
    assert result["max_difference_before"] <= 1e-12
    assert result["max_difference_after"] <= 1e-12
    assert result["ok"]
    assert result["final_loss"] < result["losses"][0]
    assert result["accuracy"] >= 0.9
    assert is_png(tmp_path / "logistic_regression.png")


def test_the_closed_form_check_notices_a_unit_that_is_not_logistic():
    demo = load("logistic_regression")
    X, y = [[0.5, -1.0], [1.5, 2.0]], [1, 0]
    assert demo.check_gradients(Neuron(2, activation="sigmoid", seed=1), X, y) <= 1e-12
    # With tanh instead of σ, (tanh(w·x + b) - y) x_j is not the gradient of the BCE.
    tanh_unit = Neuron(2, activation="tanh")
    # Weights that keep tanh(w·x + b) inside (0, 1) on both examples, so the BCE is defined.
    tanh_unit.w[0].data, tanh_unit.w[1].data, tanh_unit.b.data = 0.3, 0.2, 0.5
    assert demo.check_gradients(tanh_unit, X, y) > 1e-3


# ------------------------------------------------------- softmax_regression
def test_softmax_regression_gradients_match_softmax_minus_onehot_and_it_learns(tmp_path):
    result = load("softmax_regression").main(["--steps", "40", "--out", str(tmp_path)])
    assert result["max_difference_before"] <= 1e-12
    assert result["max_difference_after"] <= 1e-12
    assert result["ok"]
    assert result["final_loss"] < result["losses"][0]
    assert result["accuracy"] >= 0.9
    assert is_png(tmp_path / "softmax_regression.png")


def test_softmax_probabilities_sum_to_one_and_stay_finite():
    probabilities = load("softmax_regression").probabilities
    p = probabilities([1000.0, 0.0, -1000.0])
    assert math.fsum(p) == pytest.approx(1.0) and p[0] == pytest.approx(1.0)
    assert probabilities([0.0, 0.0, 0.0]) == pytest.approx([1 / 3] * 3)


# ------------------------------------------------------------ two_layer_mlp
def test_two_layer_mlp_checks_dl_dz2_trains_and_draws_the_clustered_graph(tmp_path):
    result = load("two_layer_mlp").main(["--quick", "--out", str(tmp_path)])
    assert result["ok"]
    assert result["epoch_losses"][-1] < result["epoch_losses"][0]
    assert result["accuracy"] >= 0.9
    graph = tmp_path / "two_layer_mlp_graph.svg"
    assert is_svg(graph)
    svg = graph.read_text(encoding="utf-8")
    for name in ("layers.0", "neurons.15", "z1[0]", "a1[15]", "z2", "a2 = ŷ", "x1", "x2"):
        assert name in svg
    assert is_png(tmp_path / "two_layer_mlp.png")


def test_two_layer_mlp_forward_follows_the_lecture_and_dl_dz2_is_a2_minus_y():
    demo = load("two_layer_mlp")
    from tinygrad_edu.nn import MLP

    model = MLP(2, [4, 1], seed=3)
    nodes = demo.forward(model, [0.3, -0.7])
    assert [z.data for z in nodes["z1"]] == [n.w[0].data * 0.3 + n.w[1].data * -0.7 + n.b.data
                                             for n in model.layers[0].neurons]
    assert [a.data for a in nodes["a1"]] == [max(z.data, 0.0) for z in nodes["z1"]]
    assert nodes["z2"][0].data == pytest.approx(model([0.3, -0.7]).data, rel=1e-15)
    largest, checked = demo.check_output_gradient(model, [[0.3, -0.7], [1.0, 0.2]], [1, 0])
    assert checked == 2 and largest <= 1e-12


# ------------------------------------------------------------ higher_order
def test_higher_order_checks_second_derivatives_and_the_hessian(tmp_path, capsys):
    result = load("higher_order").main(["--out", str(tmp_path)])
    assert result["tanh_error"] <= 1e-12 and result["hessian_error"] <= 1e-12
    assert result["agrees"] and is_svg(result["picture"])
    newton, descent = result["newton_losses"], result["descent_losses"]
    assert newton[0] == descent[0] == pytest.approx(math.log(2))  # θ = 0: σ = 1/2 everywhere
    assert all(later <= earlier for earlier, later in zip(newton, newton[1:]))
    assert newton[-1] < descent[-1]
    assert abs(newton[-1] - newton[-2]) < 1e-6  # Newton has converged; descent has not
    assert "check: second derivatives match" in capsys.readouterr().out


# ---------------------------------------------------------- backprop_order
def test_backprop_order_shows_naive_recursion_wrong_and_the_order_right(tmp_path, capsys):
    result = load("backprop_order").main(["--out", str(tmp_path)])
    assert result["naive"] == 8.0 and result["ordered"] == result["backward"] == 4.0
    assert result["agrees"]
    out = capsys.readouterr().out
    assert out.index("naive recursion:") < out.index("reverse topological order:")
    assert "<svg" in result["page"].read_text(encoding="utf-8")


# -------------------------------------------------------------- to_pytorch
def test_to_pytorch_gives_the_same_numbers_on_both_sides_and_saves_the_model(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    result = load("to_pytorch").main(["--steps", "5", "--out", str(tmp_path)])
    assert result["ok"] and result["table"].largest_difference <= 1e-12
    assert len(result["ours_losses"]) == len(result["theirs_losses"]) == 5
    assert result["ours_losses"] == pytest.approx(result["theirs_losses"], rel=1e-12)
    assert result["ours_losses"][-1] < result["ours_losses"][0]
    assert result["weight_difference"] <= 1e-12
    assert [path.name for path in result["files"]] == ["model.pt", "model.py"]
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    out = capsys.readouterr().out
    assert "check: every number within 1e-12 of PyTorch's: OK" in out
    assert "layers.0.neurons.3.w.1  layers.0.weight.grad[3, 1]" in out
    # the trace writes the same loss as PyTorch code, one line per layer, and it runs equal
    assert "a1 = torch.relu(X @ layers_0_weight.T + layers_0_bias)" in result["source"]
    assert result["source_difference"] <= 1e-12
    assert "z2 = a1 @ layers_1_weight.T + layers_1_bias" in out
    assert re.search(r"relative difference of the loss and 17 gradients \S+: OK", out)
