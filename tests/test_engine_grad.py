"""`grad`: derivatives as Values, and derivatives of derivatives.

First derivatives must equal backward()'s; second derivatives, built with
create_graph=True from the table's derivative rules and differentiated again,
must match central differences of the first derivatives, and PyTorch's double
backward in float64 when torch is installed.
"""

from __future__ import annotations

import math

import pytest
from conftest import give_tensors_the_engines_functions
from hypothesis import given, settings
from lecture import lecture_graph

from tinygrad_edu import Value, grad, gradcheck, topological_order, viz
from tinygrad_edu.testing import expressions


def test_first_derivatives_of_the_lecture_example_touch_no_grad():
    L = lecture_graph()
    leaves = [node for node in topological_order(L) if not node.inputs]  # a, b, c in some order
    by_label = dict(zip([leaf.label for leaf in leaves], grad(L, leaves)))
    assert {label: g.data for label, g in by_label.items()} == {"a": -2.0, "b": -4.0, "c": 5.0}
    assert all(node.grad == 0.0 for node in topological_order(L))
    assert all(not g.inputs for g in by_label.values())  # create_graph=False: plain leaves


def test_an_input_the_output_does_not_use_gets_zero():
    x, unused = Value(2.0), Value(7.0)
    assert [g.data for g in grad(x * 3, [x, unused])] == [3.0, 0.0]
    assert grad(x * 3, [unused], create_graph=True)[0].data == 0.0


def test_second_derivative_of_tanh_is_a_graph_and_matches_the_formula():
    x = Value(0.5, label="x")
    (dy,) = grad(x.tanh(), [x], create_graph=True)
    (d2y,) = grad(dy, [x])
    t = math.tanh(0.5)
    assert dy.data == pytest.approx(1 - t * t, rel=1e-15)
    assert d2y.data == pytest.approx(-2 * t * (1 - t * t), rel=1e-14)
    assert x in topological_order(dy)  # the derivative is built over the same leaf
    assert "tanh" in viz.draw_dot(dy).source


def test_third_derivative_of_a_cubic():
    x = Value(2.0)
    y = x ** 3
    first = grad(y, [x], create_graph=True)[0]  # 3x² = 12
    second = grad(first, [x], create_graph=True)[0]  # 6x = 12
    third = grad(second, [x])[0]  # 6
    assert (first.data, second.data, third.data) == (12.0, 12.0, 6.0)


def test_relus_second_derivative_is_zero_and_its_first_at_zero_stays_zero():
    x = Value(1.5)
    first = grad(x.relu() * x.relu(), [x], create_graph=True)[0]  # 2 relu(x) = 3
    assert first.data == 3.0 and grad(first, [x])[0].data == 2.0
    zero = Value(0.0)
    assert grad(zero.relu(), [zero], create_graph=True)[0].data == 0.0
    assert grad(grad(Value(0.7).relu(), [x], create_graph=True)[0], [x])[0].data == 0.0


def test_a_gradient_penalty_trains_through_the_derivative():
    w, x = Value(0.8, label="w"), Value(1.2, label="x")
    y = (w * x).tanh()
    (dy_dx,) = grad(y, [x], create_graph=True)
    penalty = dy_dx ** 2
    penalty.backward()  # d(penalty)/dw, through the derivative graph
    # gradcheck differentiates the same penalty by finite differences in w.
    assert w.grad == pytest.approx(gradcheck(_penalty, [0.8]).checks[0].analytic, rel=1e-12)
    assert w.grad == pytest.approx(gradcheck(_penalty, [0.8]).checks[0].numeric, rel=1e-6)


def _penalty(w: Value) -> Value:
    """(d tanh(w x)/dx)² at x = 1.2, as a function of w."""
    x = Value(1.2)
    return grad((w * x).tanh(), [x], create_graph=True)[0] ** 2


def test_an_op_of_your_own_differentiates_once_and_says_why_not_twice():
    x = Value(0.3)
    s = Value.from_op(math.log1p(math.exp(0.3)), [x], [1 / (1 + math.exp(-0.3))], op="my_softplus")
    assert grad(s, [x])[0].data == pytest.approx(1 / (1 + math.exp(-0.3)))
    with pytest.raises(ValueError, match="'my_softplus' was made with Value.from_op"):
        grad(s * 2, [x], create_graph=True)


def test_bad_arguments_name_the_problem():
    with pytest.raises(TypeError, match="grad\\(\\) output must be a Value, got float"):
        grad(1.0, [Value(1.0)])
    with pytest.raises(TypeError, match=r"grad\(\) inputs\[1\] must be a Value, got int: 3"):
        grad(Value(1.0), [Value(1.0), 3])


# ------------------------------------------------------------ random graphs
@given(expressions())
@settings(max_examples=100)
def test_grad_without_a_graph_equals_backward(expr):
    leaves = [Value(x) for x in expr.inputs]
    out = expr(*leaves)
    numbers = [g.data for g in grad(out, leaves)]
    out.backward()
    assert numbers == pytest.approx([leaf.grad for leaf in leaves], rel=1e-12, abs=1e-300)


@given(expressions())
@settings(max_examples=100)
def test_second_derivatives_match_central_differences_of_first_derivatives(expr):
    n = len(expr.inputs)

    def first_derivative(i: int, point: list[float]) -> float:
        leaves = [Value(x) for x in point]
        return grad(expr(*leaves), [leaves[i]])[0].data

    leaves = [Value(x) for x in expr.inputs]
    firsts = grad(expr(*leaves), leaves, create_graph=True)
    for i in range(n):
        seconds = grad(firsts[i], leaves)
        for j in range(n):
            h = 1e-5 * max(1.0, abs(expr.inputs[j]))
            up, down = list(expr.inputs), list(expr.inputs)
            up[j] += h
            down[j] -= h
            numeric = (first_derivative(i, up) - first_derivative(i, down)) / (up[j] - down[j])
            assert seconds[j].data == pytest.approx(numeric, rel=1e-4, abs=1e-4), (i, j)


def test_second_derivatives_agree_with_pytorchs_double_backward(monkeypatch):
    torch = pytest.importorskip("torch")
    give_tensors_the_engines_functions(monkeypatch, torch)

    @given(expressions())
    @settings(max_examples=100)
    def check(expr):
        leaves = [Value(x) for x in expr.inputs]
        firsts = grad(expr(*leaves), leaves, create_graph=True)
        ours = [[g.data for g in grad(first, leaves)] for first in firsts]
        tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True)
                   for x in expr.inputs]
        reference_firsts = torch.autograd.grad(expr(*tensors), tensors, create_graph=True,
                                               allow_unused=True)
        theirs = []
        for first in reference_firsts:
            if first is None or not first.requires_grad:  # a constant first derivative
                theirs.append([0.0] * len(tensors))
                continue
            row = torch.autograd.grad(first, tensors, retain_graph=True, allow_unused=True)
            theirs.append([0.0 if g is None else g.item() for g in row])
        flat = [value for row in ours for value in row]
        assert flat == pytest.approx([value for row in theirs for value in row],
                                     rel=1e-10, abs=1e-12)

    check()


def test_a_single_input_gives_a_tuple_of_one_as_pytorch_does():
    x = Value(3.0)
    (dx,) = grad(x * x, x)
    assert dx.data == 6.0


def test_differentiating_a_gradient_made_without_create_graph_is_refused():
    x = Value(1.5, label="x")
    (first,) = grad(x * x * x, [x])  # a number: it forgot how it was computed
    with pytest.raises(ValueError, match="create_graph=True"):
        grad(first, [x])
    with pytest.raises(ValueError, match="create_graph=True"):
        grad(first * 3, [x])
    (first,) = grad(x * x * x, [x], create_graph=True)
    assert grad(first, [x])[0].data == pytest.approx(6 * 1.5)
    (constant,) = grad(x + 2, [x], create_graph=True)  # a constant derivative is fine
    assert grad(constant, [x])[0].data == 0.0
    (number,) = grad(x * x, [x])
    assert grad(number * x, [x])[0].data == 3.0  # it still multiplies what reaches x


def test_huge_ints_get_short_messages_in_from_op_and_feed():
    from tinygrad_edu import trace

    x = Value(1.0)
    with pytest.raises(ValueError, match=r"data must be a finite number, got an int of about 401"):
        Value.from_op(10**400, [x], [1.0], op="big")
    with pytest.raises(ValueError, match=r"local_grads\[0\] must be a finite number, got an int"):
        Value.from_op(1.0, [x], [10**400], op="big")
    with pytest.raises(ValueError, match="an int of about 401 digits, too large for a float"):
        trace(lambda: x * 2).feed(x, 10**400)
