"""Examples for tinygrad_edu.engine: the lecture's numbers, the graph's structure, every bad input.

The hypothesis properties (every op against finite differences) are in
test_engine_properties.py; this file reads like a tour of the engine.
"""

import gc
import math
import sys

import pytest

import tinygrad_edu
from tinygrad_edu import Value, dot, mean, topological_order
from tinygrad_edu import sum as value_sum


def lecture_graph():
    """Lecture §5: d = 2*b, e = a + d, L = c*e with a = 3, b = 1, c = -2."""
    a, b, c = Value(3.0, label="a"), Value(1.0, label="b"), Value(-2.0, label="c")
    d = 2 * b
    e = a + d
    L = c * e
    return a, b, c, d, e, L


# ----------------------------------------------------------------- the lecture
def test_lecture_worked_example_forward_and_backward():
    a, b, c, d, e, L = lecture_graph()
    assert (d.data, e.data, L.data) == (2.0, 5.0, -10.0)
    L.backward()
    assert L.grad == 1.0
    assert c.grad == 5.0  # dL/dc = e
    assert e.grad == -2.0  # dL/de = c
    assert a.grad == -2.0  # dL/de * de/da
    assert d.grad == -2.0  # dL/de * de/dd
    assert b.grad == -4.0  # dL/de * de/dd * dd/db


def test_backward_visits_nodes_in_the_lectures_order():
    a, b, c, d, e, L = lecture_graph()
    assert list(reversed(topological_order(L))) == [L, c, e, a, d, b]


def test_two_paths_add_up():
    # Lecture §6: c feeds L and R, which meet in O: dO/dc = dO/dL dL/dc + dO/dR dR/dc.
    c = Value(1.5, label="c")
    left = c * 3.0
    right = c**2
    out = left * right
    out.backward()
    by_hand = right.data * 3.0 + left.data * (2 * c.data)
    assert c.grad == pytest.approx(by_hand, rel=1e-15)
    assert c.grad == pytest.approx(9 * c.data**2, rel=1e-15)


def test_regularised_loss_sums_data_term_and_penalty():
    w = Value(0.5, label="w")
    x, y = 2.0, 3.0
    loss = (w * x - y) ** 2 + 0.1 * w**2
    loss.backward()
    assert w.grad == pytest.approx(2 * (0.5 * x - y) * x + 0.1 * 2 * 0.5)


@pytest.mark.parametrize(
    "build, expected_grad",
    [
        (lambda x: x * x, 2 * 3.0),
        (lambda x: x + x, 2.0),
        (lambda x: x * x + x, 2 * 3.0 + 1),
        (lambda x: x * x * x, 3 * 3.0**2),
        (lambda x: x / x, 0.0),
        (lambda x: x - x, 0.0),
    ],
    ids=["x*x", "a+a", "x*x+x", "x*x*x", "x/x", "x-x"],
)
def test_a_value_used_twice_accumulates(build, expected_grad):
    x = Value(3.0)
    build(x).backward()
    assert x.grad == pytest.approx(expected_grad, abs=1e-15)


# --------------------------------------------------------------- graph records
def test_each_operand_use_is_its_own_edge():
    x = Value(3.0)
    y = x * x
    assert y.inputs == (x, x)
    assert y.local_grads == (3.0, 3.0)
    assert y.op == "*"
    assert y._prev == {x}  # micrograd's alias is a set, as its notebook expects
    assert y._op == "*"


def test_leaf_has_no_inputs():
    x = Value(2, label="x")
    assert (x.op, x.inputs, x.local_grads, x.grad, x.data) == ("", (), (), 0.0, 2.0)
    assert isinstance(x.data, float)


@pytest.mark.parametrize(
    "build, op",
    [
        (lambda x: x * 2, "*2"),
        (lambda x: 2 * x, "*2"),
        (lambda x: x + 0.001, "+0.001"),
        (lambda x: x - 3, "-3"),
        (lambda x: 3 - x, "3-"),
        (lambda x: x / 4, "/4"),
        (lambda x: 4 / x, "4/"),
        (lambda x: x**2, "**2"),
        (lambda x: 2**x, "2**"),
        (lambda x: -x, "neg"),
        (lambda x: x.exp(), "exp"),
        (lambda x: x.log(), "log"),
        (lambda x: x.tanh(), "tanh"),
        (lambda x: x.sigmoid(), "sigmoid"),
        (lambda x: x.relu(), "relu"),
    ],
)
def test_op_names_show_folded_constants(build, op):
    assert build(Value(1.5)).op == op


def test_constants_are_folded_not_made_into_nodes():
    x = Value(1.5)
    scaled = x * 0.999
    y = scaled + 0.001
    assert y.inputs == (scaled,) and scaled.inputs == (x,)
    assert len(topological_order(y)) == 3


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda x: x.sigmoid(), lambda s: s * (1 - s)),  # σ' = σ(1 - σ)
        (lambda x: x.tanh(), lambda t: 1 - t * t),  # tanh' = 1 - tanh²
        (lambda x: x.exp(), lambda e: e),
    ],
    ids=["sigmoid", "tanh", "exp"],
)
def test_local_grads_match_the_lectures_closed_forms(build, expected):
    for z in (-3.0, -0.5, 0.0, 0.7, 4.0):
        out = build(Value(z))
        assert out.local_grads == (pytest.approx(expected(out.data), rel=1e-15),)


def test_power_rule_and_value_exponent():
    x, n = Value(1.7), Value(3.0)
    y = x**n
    y.backward()
    assert x.grad == pytest.approx(3.0 * 1.7**2)  # n x^(n-1)
    assert n.grad == pytest.approx(1.7**3 * math.log(1.7))  # x^n ln x
    z = Value(0.5)
    (2**z).backward()
    assert z.grad == pytest.approx(2**0.5 * math.log(2))


def test_division_gradients():
    a, b = Value(3.0), Value(-2.0)
    (a / b).backward()
    assert (a.grad, b.grad) == (pytest.approx(-0.5), pytest.approx(-3.0 / 4.0))
    x = Value(4.0)
    (2 / x).backward()
    assert x.grad == pytest.approx(-2 / 16)


# ---------------------------------------------------------------------- relu
def test_relu_derivative_is_zero_at_exactly_zero_as_in_pytorch():
    # The lecture writes ReLU'(0) = 1; this engine follows PyTorch and micrograd (0). See README.
    for z, local in ((-1.0, 0.0), (0.0, 0.0), (2.5, 1.0)):
        out = Value(z).relu()
        assert out.data == max(z, 0.0)
        assert out.local_grads == (local,)


def test_sigmoid_and_tanh_never_overflow():
    assert Value(-1000).sigmoid().data == 0.0
    assert Value(1000).sigmoid().data == 1.0
    assert Value(1000).tanh().data == 1.0
    assert Value(-1000).tanh().data == -1.0
    big = Value(-1000.0)
    big.sigmoid().backward()
    assert big.grad == 0.0


# --------------------------------------------------------------- n-ary nodes
def test_sum_is_one_node_with_one_edge_per_value():
    xs = [Value(float(i)) for i in range(5)]
    total = value_sum(xs + [10])
    assert total.data == 20.0
    assert total.inputs == tuple(xs)
    assert total.local_grads == (1.0,) * 5
    assert total.op == "sum+10"
    total.backward()
    assert [x.grad for x in xs] == [1.0] * 5


def test_sum_of_one_value_used_twice_counts_it_twice():
    x = Value(2.0)
    value_sum([x, x]).backward()
    assert x.grad == 2.0


def test_mean_is_one_node():
    xs = [Value(1.0), Value(2.0), Value(6.0)]
    m = mean(xs)
    assert m.data == 3.0 and len(m.inputs) == 3
    m.backward()
    assert [x.grad for x in xs] == [pytest.approx(1 / 3)] * 3


def test_dot_is_one_node_with_the_partial_derivatives_on_its_edges():
    w = [Value(0.5, label="w0"), Value(-1.0, label="w1")]
    b = Value(0.25, label="b")
    z = dot(w, [2.0, 3.0], b)  # inputs as plain numbers: edges only for the parameters
    assert z.data == 0.5 * 2 - 3 + 0.25
    assert z.inputs == (w[0], w[1], b)
    assert z.local_grads == (2.0, 3.0, 1.0)
    xs = [Value(2.0), Value(3.0)]
    z2 = dot(w, xs, b)
    assert z2.inputs == (w[0], xs[0], w[1], xs[1], b)
    assert z2.local_grads == (2.0, 0.5, 3.0, -1.0, 1.0)
    z2.backward()
    assert [x.grad for x in xs] == [0.5, -1.0]


def test_dot_needs_equal_lengths():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        dot([Value(1), Value(2)], [1, 2, 3])


# ------------------------------------------------------------------ backward
def test_second_backward_accumulates_on_leaves_only():
    a, b, c, d, e, L = lecture_graph()
    L.backward()
    L.backward()
    assert (a.grad, b.grad, c.grad) == (-4.0, -8.0, 10.0)
    assert (d.grad, e.grad, L.grad) == (-2.0, -2.0, 1.0)  # interior: the latest pass


def test_resetting_grads_starts_over():
    a, b, c, d, e, L = lecture_graph()
    L.backward()
    for leaf in (a, b, c):
        leaf.grad = 0.0
    L.backward()
    assert (a.grad, b.grad, c.grad) == (-2.0, -4.0, 5.0)


def test_backward_of_a_leaf():
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0


@pytest.mark.slow
def test_a_million_nodes_deep_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = leaf = Value(1.0)
    for _ in range(1_000_000):
        x = x * 1.0
    x.backward()
    assert leaf.grad == 1.0
    assert len(topological_order(x)) == 1_000_001
    del x  # freeing a million-deep chain must not overflow the C stack either


def test_a_dropped_graph_is_freed_without_the_cycle_collector():
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = Value(0.5)
        for _ in range(2000):
            x = (x * 0.999 + 0.001).relu()
        x.backward()
        del x
        assert gc.collect() == 0  # nothing was left for the cycle collector to find
    finally:
        if was_enabled:
            gc.enable()


def test_engine_leaves_the_garbage_collector_alone():
    before = (gc.isenabled(), gc.get_threshold())
    x = Value(1.0)
    for _ in range(5000):
        x = x.tanh() * 1.1
    x.backward()
    assert (gc.isenabled(), gc.get_threshold()) == before


def test_value_hashes_by_identity_and_keeps_default_equality():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a
    assert len({a, b}) == 2


def test_repr_shows_data_grad_and_label():
    x = Value(2.0, label="x")
    assert repr(x) == "Value(data=2.0, grad=0.0, label='x')"
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0.0)"
    assert float(x) == 2.0


def test_data_and_label_are_assignable():
    x = Value(1.0)
    x.data -= 0.5
    x.label = "w"
    assert (x.data, x.label) == (0.5, "w")


def test_numpy_scalars_are_accepted_when_numpy_is_installed():
    np = pytest.importorskip("numpy")
    assert Value(np.float32(1.5)).data == 1.5
    assert Value(np.int64(3)).data == 3.0
    assert (Value(1.0) * np.float64(2.0)).data == 2.0


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("data", [True, "1.0", None, 1 + 2j, [1.0], (1.0,)])
def test_value_rejects_non_real_data_naming_its_type(data):
    with pytest.raises(TypeError, match=type(data).__name__):
        Value(data)


@pytest.mark.parametrize("data", [math.nan, math.inf, -math.inf])
def test_value_rejects_non_finite_data(data):
    with pytest.raises(ValueError, match="finite"):
        Value(data)


def test_unsupported_operand_types_raise_the_standard_type_error():
    x = Value(1.0)
    for bad in ("a", None, [1.0], True):
        with pytest.raises(TypeError, match="unsupported operand"):
            x + bad
        with pytest.raises(TypeError):  # a list's own __mul__ words it differently
            bad * x


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: Value(-1.0).log(), ValueError, r"log\(-1\.0\): input must be > 0"),
        (lambda: Value(0.0).log(), ValueError, r"log\(0\.0\): input must be > 0"),
        (lambda: Value(-8.0) ** 0.5, ValueError, r"-8\.0 \*\* 0\.5: a negative base"),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, "base must be > 0"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"1\.0 / 0\.0"),
        (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, "division by zero"),
        (lambda: 1 / Value(0.0), ZeroDivisionError, "division by zero"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"0\.0 \*\* -1"),
        (lambda: Value(1000).exp(), OverflowError, r"exp\(1000\.0\)"),
        (lambda: Value(1e308) * 10, OverflowError, r"1e\+308 \* 10"),
        (lambda: Value(1e308) + Value(1e308), OverflowError, r"\+"),
        (lambda: Value(10.0) ** 400, OverflowError, r"10\.0 \*\* 400"),
        (lambda: Value(1.0) * math.inf, ValueError, "an operand is inf, not a finite number"),
    ],
)
def test_bad_operations_name_the_operation_and_value(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_operands_are_unchanged_and_usable_after_an_error():
    x = Value(-1.0, label="x")
    y = x * 2
    with pytest.raises(ValueError):
        y.log()
    assert (x.data, x.grad, y.data, y.grad, y.inputs) == (-1.0, 0.0, -2.0, 0.0, (x,))
    z = y * y
    z.backward()
    assert x.grad == pytest.approx(8 * -1.0 * 1)  # d(4x²)/dx = 8x


def test_a_non_finite_gradient_names_the_node_and_changes_no_grad():
    x = Value(1e-300, label="x")
    w = Value(3.0, label="w")
    w.grad = 0.5  # an earlier accumulation that must survive the failed pass
    y = x * w
    y.label = "y"
    out = y * 1e200 * 1e200  # a finite value, but d(out)/dy = 1e400
    with pytest.raises(OverflowError, match="gradient of 'y' is inf"):
        out.backward()
    assert (x.grad, w.grad, y.grad, out.grad) == (0.0, 0.5, 0.0, 0.0)
    unlabelled = (x * w) * 1e200 * 1e200
    with pytest.raises(OverflowError, match="node made by '\\*'"):
        unlabelled.backward()


def test_package_exports():
    for name in ("Value", "topological_order", "sum", "mean", "dot"):
        assert hasattr(tinygrad_edu, name)


# ------------------------------------------------- non-finite and hostile input
@pytest.mark.parametrize("exponent", [math.nan, math.inf, -math.inf])
def test_a_non_finite_exponent_is_refused_at_the_operation(exponent):
    # 1 ** nan and 1 ** inf are 1.0 in IEEE arithmetic, but the local derivative is not finite
    with pytest.raises(ValueError, match=r"1\.0 \*\* .*an operand is .*not a finite number"):
        Value(1.0) ** exponent
    with pytest.raises(ValueError, match="an operand is .*not a finite number"):
        Value(1.0) ** _with_data(Value(2.0), exponent)
    with pytest.raises(ValueError, match="an operand is .*not a finite number"):
        2.0 ** _with_data(Value(2.0), exponent)


def _with_data(value: Value, data: float) -> Value:
    """A Value whose data was set by hand after it was made, as a careless user might."""
    value.data = data
    return value


@pytest.mark.parametrize("operation", ["relu", "tanh", "exp", "log", "sigmoid"])
@pytest.mark.parametrize("data", [math.nan, math.inf, -math.inf])
def test_a_non_finite_data_set_by_hand_is_refused_by_every_unary_op(operation, data):
    # relu(nan) would be 0.0 and tanh(inf) 1.0: finite results that hide the bad operand
    with pytest.raises(ValueError, match=rf"{operation}\(-?(nan|inf)\): an operand is"):
        getattr(_with_data(Value(1.0), data), operation)()


@pytest.mark.parametrize("build", [
    lambda v: v + 1, lambda v: v * Value(2.0), lambda v: 2 / v, lambda v: Value(1.0) / v,
    lambda v: v / 2, lambda v: v ** 2,
    lambda v: Value(2.0) ** v, lambda v: tinygrad_edu.sum([v, 1.0]),
    lambda v: tinygrad_edu.dot([v], [1.0]),
])
def test_a_non_finite_operand_is_refused_by_binary_and_n_ary_ops(build):
    for data in (math.nan, math.inf):
        with pytest.raises(ValueError, match="an operand is (nan|inf), not a finite number"):
            build(_with_data(Value(1.0), data))


def test_zero_to_a_power_below_one_names_the_derivative_as_the_problem():
    with pytest.raises(ValueError, match=r"0\.0 \*\* 0\.5: the result is 0\.0 but its "
                                         r"derivative .* is infinite"):
        Value(0) ** 0.5
    with pytest.raises(ValueError, match="derivative with respect to the base"):
        Value(0.0) ** Value(0.5)
    assert (Value(0.0) ** 1.5).local_grads == (0.0,)  # above 1 the derivative is finite


@pytest.mark.parametrize("build, operation", [
    (lambda: Value(1e-300) ** -1, r"1e-300 \*\* -1"),
    (lambda: Value(5e-324).log(), r"log\(5e-324\)"),
])
def test_a_finite_result_with_an_overflowing_derivative_says_so(build, operation):
    with pytest.raises(OverflowError, match=operation + ": the result .* is finite but its "
                                                       "local derivative overflows"):
        build()


def test_ints_too_large_for_a_float_are_refused_by_name_with_a_short_message():
    with pytest.raises(ValueError, match=r"Value\(data\) must be a finite number, got an int "
                                         r"of about 401 digits"):
        Value(10**400)
    with pytest.raises(ValueError) as huge:
        Value(10**5000)  # too long for str(): the message counts the digits instead
    assert "about 5001 digits" in str(huge.value) and len(str(huge.value)) < 200
    with pytest.raises(ValueError, match="an operand is inf"):
        Value(2.0) + 10**400


# ------------------------------------------------------------------ threads
def test_backward_from_several_threads_on_shared_nodes_matches_one_after_another():
    import threading

    def graph():
        x = Value(0.5, label="x")
        shared = x
        for _ in range(3000):
            shared = (shared * 0.999 + 0.001).tanh()
        return x, [shared * float(k + 1) for k in range(4)]  # four roots on one chain

    x_seq, roots_seq = graph()
    for root in roots_seq * 5:
        root.backward()
    x_par, roots_par = graph()
    threads = [threading.Thread(target=lambda r=root: [r.backward() for _ in range(5)])
               for root in roots_par]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so an unguarded pass would interleave
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    assert x_par.grad == pytest.approx(x_seq.grad, rel=1e-12)
