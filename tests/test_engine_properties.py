"""Properties of the engine: every op and hundreds of random graphs against finite differences.

Inputs come from tinygrad_edu.testing: values() for single ops, with ranges chosen so
each op stays inside its domain and off its kink, and expressions() for random graphs.
The suite runs under the deterministic hypothesis profile of conftest.py.
"""

import math

import pytest
from conftest import give_tensors_the_engines_functions
from hypothesis import find, given, settings
from hypothesis import strategies as st

from tinygrad_edu import Value, dot, mean
from tinygrad_edu import sum as value_sum
from tinygrad_edu.gradient_check import GradcheckError, gradcheck
from tinygrad_edu.testing import expressions, values

ANY = values(-5.0, 5.0)
POSITIVE = values(0.1, 10.0)  # log, fractional powers, the base of a Value exponent
NONZERO = st.one_of(values(-5.0, -0.1), values(0.1, 5.0))  # divisors; relu off its kink

# name: (function, a strategy for each input)
OPS = {
    "a + b": (lambda a, b: a + b, [ANY, ANY]),
    "a + 2.5": (lambda a: a + 2.5, [ANY]),
    "2.5 + a": (lambda a: 2.5 + a, [ANY]),
    "a - b": (lambda a, b: a - b, [ANY, ANY]),
    "a - 2.5": (lambda a: a - 2.5, [ANY]),
    "2.5 - a": (lambda a: 2.5 - a, [ANY]),
    "a * b": (lambda a, b: a * b, [ANY, ANY]),
    "a * a": (lambda a: a * a, [ANY]),
    "3 * a": (lambda a: 3 * a, [ANY]),
    "a / b": (lambda a, b: a / b, [ANY, NONZERO]),
    "a / 2.5": (lambda a: a / 2.5, [ANY]),
    "2.5 / a": (lambda a: 2.5 / a, [NONZERO]),
    "a ** 2": (lambda a: a**2, [ANY]),
    "a ** 3": (lambda a: a**3, [ANY]),
    "a ** -1": (lambda a: a**-1, [NONZERO]),
    "a ** -2": (lambda a: a**-2, [NONZERO]),
    "a ** 0.5": (lambda a: a**0.5, [POSITIVE]),
    "a ** 1.5": (lambda a: a**1.5, [POSITIVE]),
    "a ** b": (lambda a, b: a**b, [POSITIVE, values(-2.0, 2.0)]),
    "2 ** a": (lambda a: 2**a, [ANY]),
    "-a": (lambda a: -a, [ANY]),
    "exp(a)": (lambda a: a.exp(), [ANY]),
    "log(a)": (lambda a: a.log(), [POSITIVE]),
    "tanh(a)": (lambda a: a.tanh(), [ANY]),
    "sigmoid(a)": (lambda a: a.sigmoid(), [ANY]),
    "relu(a)": (lambda a: a.relu(), [NONZERO]),
    "sum(a, b, c)": (lambda a, b, c: value_sum([a, b, c]), [ANY, ANY, ANY]),
    "sum(a, 2.5, a)": (lambda a: value_sum([a, 2.5, a]), [ANY]),
    "mean(a, b, c)": (lambda a, b, c: mean([a, b, c]), [ANY, ANY, ANY]),
    "dot([a, b], [c, d], e)": (lambda a, b, c, d, e: dot([a, b], [c, d], e), [ANY] * 5),
    "dot([a, 2.5], [b, a])": (lambda a, b: dot([a, 2.5], [b, a]), [ANY, ANY]),
}


@pytest.mark.parametrize("name", list(OPS))
@settings(max_examples=25)
@given(data=st.data())
def test_every_op_matches_finite_differences(name, data):
    function, strategies = OPS[name]
    inputs = [data.draw(strategy, label=f"input {i}") for i, strategy in enumerate(strategies)]
    gradcheck(function, inputs)


# ------------------------------------------- local derivatives vs closed forms
@given(st.floats(-30.0, 30.0))
def test_sigmoid_derivative_is_s_times_one_minus_s(z):
    node = Value(z).sigmoid()
    s = 1.0 / (1.0 + math.exp(-z))
    assert node.data == pytest.approx(s, rel=1e-12)
    assert node.local_grads[0] == pytest.approx(s * (1.0 - s), rel=1e-9, abs=1e-15)


@given(st.floats(-20.0, 20.0))
def test_tanh_derivative_is_one_minus_tanh_squared(z):
    node = Value(z).tanh()
    assert node.local_grads[0] == pytest.approx(1.0 - math.tanh(z) ** 2, rel=1e-12, abs=1e-15)


@given(st.sampled_from([1.0, 2.0, 3.0, 4.0, -1.0, -2.0, 0.5, 1.5]), st.floats(0.1, 10.0),
       st.booleans())
def test_power_derivative_is_n_x_to_the_n_minus_1(n, magnitude, negative):
    # Whole exponents also take negative bases; fractional ones only positive bases.
    x = -magnitude if negative and n.is_integer() else magnitude
    node = Value(x) ** n
    assert node.data == pytest.approx(x**n, rel=1e-12)
    assert node.local_grads[0] == pytest.approx(n * x ** (n - 1), rel=1e-12)


@given(st.floats(-20.0, 20.0))
def test_exp_derivative_is_itself(x):
    node = Value(x).exp()
    assert node.local_grads[0] == node.data == pytest.approx(math.exp(x), rel=1e-15)


@given(st.floats(1e-3, 1e3))
def test_log_derivative_is_one_over_x(x):
    assert Value(x).log().local_grads[0] == pytest.approx(1.0 / x, rel=1e-15)


# -------------------------------------------------------------- random graphs
@settings(max_examples=300)
@given(expressions())
def test_random_graphs_match_finite_differences(expr):
    gradcheck(expr, expr.inputs)


@settings(max_examples=100)
@given(expressions(n_inputs=3, max_depth=6))
def test_deeper_random_graphs_match_finite_differences(expr):
    gradcheck(expr, expr.inputs)


def test_random_graphs_match_pytorch(monkeypatch):
    torch = pytest.importorskip("torch")
    give_tensors_the_engines_functions(monkeypatch, torch)

    @settings(max_examples=100)
    @given(expressions())
    def check(expr):
        ours = [Value(x) for x in expr.inputs]
        theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]
        out, torch_out = expr(*ours), expr(*theirs)
        out.backward()
        torch_out.backward()
        assert out.data == pytest.approx(torch_out.item(), rel=1e-12, abs=1e-12)
        for mine, tensor in zip(ours, theirs):
            torch_grad = 0.0 if tensor.grad is None else tensor.grad.item()
            assert mine.grad == pytest.approx(torch_grad, rel=1e-9, abs=1e-12)

    check()


# --------------------------------------------------- the tests can fail
def tanh_with_wrong_derivative(self: Value) -> Value:
    """Value.tanh with a classic slip: tanh'(z) written as 1 - t instead of 1 - t²."""
    t = math.tanh(self.data)
    wrong = 1.0 - t
    # The tangent line through (z, t) with the wrong slope: right value, wrong derivative.
    return self * wrong + (t - wrong * self.data)


def test_the_random_graph_test_catches_a_wrong_derivative(monkeypatch):
    monkeypatch.setattr(Value, "tanh", tanh_with_wrong_derivative)
    with pytest.raises(GradcheckError):
        test_random_graphs_match_finite_differences()


def test_the_counterexample_shrinks_to_a_few_readable_steps(monkeypatch):
    monkeypatch.setattr(Value, "tanh", tanh_with_wrong_derivative)

    def backward_is_wrong(expr):
        try:
            gradcheck(expr, expr.inputs)
        except GradcheckError:
            return True
        return False

    found = find(expressions(), backward_is_wrong,
                 settings=settings(derandomize=True, database=None, max_examples=300))
    assert "tanh(" in found.source
    assert len(found.steps) <= 4
    assert repr(found).startswith("tanh(") and " at x0=" in repr(found)
