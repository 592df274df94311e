"""The table of primitives, one node's chain-rule step (`_backward`), and ops of your own.

Every op of the engine is an entry of `engine.PRIMITIVES`. These tests walk the
table, so a new op without a derivative rule, a printer, a strategy in
`tinygrad_edu.testing` or a builder here fails loudly.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lecture import lecture_graph

from tinygrad_edu import Value, engine, gradcheck, topological_order, viz
from tinygrad_edu.testing import OPS, _operand_plans, expressions

# One way to build a node of each primitive from inputs drawn in its domain, off its kink:
# (builder, the range of each input).
WIDE, POSITIVE = (-3.0, 3.0), (0.2, 3.0)
AWAY = (0.25, 3.0)  # away from 0 on either side: drawn like this, then given a random sign
# Each primitive's builders: with two Value operands, and with a folded number on either
# side where the op has one (`x * -1.5`, `2.5 - x`); every entry of the table needs one.
BUILDERS = {
    engine.ADD: [(lambda a, b: a + b, [WIDE, WIDE]), (lambda a: a + 2.5, [WIDE])],
    engine.SUB: [(lambda a, b: a - b, [WIDE, WIDE]), (lambda a: a - 2.5, [WIDE]),
                 (lambda a: 2.5 - a, [WIDE])],
    engine.MUL: [(lambda a, b: a * b, [WIDE, WIDE]), (lambda a: a * -1.5, [WIDE])],
    engine.DIV: [(lambda a, b: a / b, [WIDE, AWAY]), (lambda a: a / 4.0, [WIDE]),
                 (lambda a: 2.0 / a, [AWAY])],
    engine.POW: [(lambda a, b: a ** b, [POSITIVE, WIDE]), (lambda a: a ** 3, [WIDE]),
                 (lambda a: 2.0 ** a, [WIDE])],
    engine.NEG: [(lambda a: -a, [WIDE])],
    engine.EXP: [(lambda a: a.exp(), [WIDE])],
    engine.LOG: [(lambda a: a.log(), [POSITIVE])],
    engine.TANH: [(lambda a: a.tanh(), [WIDE])],
    engine.SIGMOID: [(lambda a: a.sigmoid(), [WIDE])],
    engine.RELU: [(lambda a: a.relu(), [AWAY])],
    engine.STEP: [(lambda a: engine.apply(engine.STEP, a), [AWAY])],
    engine.SUM: [(lambda a, b, c: engine.sum([a, b, c]), [WIDE, WIDE, WIDE]),
                 (lambda a, b: engine.sum([a, b, 1.5]), [WIDE, WIDE])],
    engine.MEAN: [(lambda a, b, c: engine.mean([a, b, 2.0, c]), [WIDE, WIDE, WIDE])],
    engine.DOT: [(lambda a, b, c, d: engine.dot([a, b, 0.5], [c, 2.0, d], a), [WIDE] * 4),
                 (lambda a, b: engine.dot([a, 2.0], [3.0, b], 0.25), [WIDE, WIDE])],
}
ALL_BUILDERS = [(primitive, build, ranges) for primitive, builders in BUILDERS.items()
                for build, ranges in builders]


def test_every_primitive_has_a_rule_a_printer_a_strategy_and_a_builder():
    for primitive in engine.PRIMITIVES:
        assert callable(primitive.forward), f"{primitive} has no forward rule"
        assert primitive.derivative is not None, f"{primitive} has no derivative rule"
        assert primitive in BUILDERS, f"{primitive} has no builder in this test"
        assert primitive.name in OPS, f"{primitive} cannot be drawn by testing.expressions()"
        _operand_plans(primitive.name)  # raises for an op the strategies do not know
        arity = primitive.arity or 3
        operands = [f"x{i}" for i in range(arity)]
        text = primitive.formula(operands)
        assert all(operand in text for operand in operands), text
        assert primitive.display(None) and primitive.display(2.0)


def test_every_builder_makes_a_node_of_its_primitive():
    for primitive, build, ranges in ALL_BUILDERS:
        node = build(*[Value(0.5 * (low + high) + 0.1) for low, high in ranges])
        assert node.primitive is primitive


@st.composite
def built_nodes(draw):
    """A node of a random primitive, built at random points of its domain."""
    primitive, build, ranges = draw(st.sampled_from(ALL_BUILDERS))
    inputs = []
    for low, high in ranges:
        x = draw(st.floats(low, high))
        if (low, high) == AWAY and draw(st.booleans()):
            x = -x
        inputs.append(Value(x))
    return build(*inputs)


@given(built_nodes())
@settings(max_examples=300)
def test_each_derivative_rule_gives_the_numbers_of_the_forward_pass(node):
    rules = node.primitive.derivatives(node)
    assert len(rules) == len(node.inputs)
    for rule, local in zip(rules, node.local_grads):
        value = rule.data if isinstance(rule, Value) else rule
        assert value == pytest.approx(local, rel=1e-12, abs=1e-12)


@given(built_nodes())
@settings(max_examples=300)
def test_every_node_holds_exactly_the_numbers_its_rule_gives_with_floats(node):
    # The inline + and * and dot's fast paths write their rule out again: to the bit, the same.
    assert engine.local_derivatives(node, engine.FLOATS) == node.local_grads
    inputs = [v.data for v in node.inputs]
    if node.primitive.arity is None:
        forward = node.primitive.forward(engine.FLOATS, inputs, engine.folded(node))
    else:
        forward = node.primitive.forward(engine.FLOATS, *engine.operands(node, inputs))
    assert forward == node.data


def test_the_inline_operators_agree_with_apply_to_the_bit():
    for a, b in [(0.1, 0.2), (-3.5, 1e-3), (1e300, 1e-300), (0.0, -0.0)]:
        x, y = Value(a), Value(b)
        for fast, primitive in ((x + y, engine.ADD), (x * y, engine.MUL)):
            slow = engine.apply(primitive, x, y)
            assert (fast.data, fast.local_grads) == (slow.data, slow.local_grads)
        for fast, primitive in ((x + b, engine.ADD), (x * b, engine.MUL)):
            slow = engine.apply(primitive, x, b)
            assert (fast.data, fast.local_grads, fast.op) == (slow.data, slow.local_grads, slow.op)


def test_the_op_string_is_unchanged_and_the_constant_is_exact():
    x = Value(1.5)
    assert [(node.op, node.constant) for node in (x * 2, 2 - x, x ** 0.5, 2 ** x, x + 0.001)] \
        == [("*2", 2.0), ("2-", 2.0), ("**0.5", 0.5), ("2**", 2.0), ("+0.001", 0.001)]
    assert (x + 0.1234567891).op == "+0.123457"  # display only: the constant stays exact
    assert (x + 0.1234567891).constant == 0.1234567891
    assert engine.sum([x, x, 3]).op == "sum+3" and engine.sum([x, x, 3]).constant == 3.0
    assert x.primitive is None and x.constant is None and (x * x).constant is None


# ------------------------------------------------------------------ _backward
def test_the_micrograd_lectures_node_by_node_backprop_runs_with_the_import_swapped():
    # The cells of micrograd's lecture, verbatim but for the import.
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.grad = 1.0
    o._backward()
    assert n.grad == pytest.approx(0.5)  # 1 - tanh(n)² = 1 - 0.7071² = 0.5
    n._backward()
    assert (x1w1x2w2.grad, b.grad) == pytest.approx((0.5, 0.5))
    b._backward()  # a leaf: nothing happens
    x1w1x2w2._backward()
    assert (x1w1.grad, x2w2.grad) == pytest.approx((0.5, 0.5))
    x2w2._backward()
    x1w1._backward()
    assert o.data == pytest.approx(0.7071, abs=1e-4)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


def test_the_lectures_worked_example_node_by_node():
    L = lecture_graph()
    c, e = L.inputs
    a, d = e.inputs
    (b,) = d.inputs
    L.grad = 1.0
    L._backward()
    assert (c.grad, e.grad) == (5.0, -2.0)  # ∂L/∂c = e = 5, ∂L/∂e = c = -2
    e._backward()
    assert (a.grad, d.grad) == (-2.0, -2.0)  # ∂L/∂a = ∂L/∂d = ∂L/∂e · 1
    d._backward()
    assert b.grad == -4.0  # ∂L/∂b = ∂L/∂d · ∂d/∂b = -2 · 2


def test_backward_on_a_node_used_twice_adds_once_per_edge():
    x = Value(3.0)
    y = x * x
    y.grad = 1.0
    y._backward()
    assert x.grad == 6.0
    y._backward()  # nothing is reset: a second call adds again
    assert x.grad == 12.0


@given(expressions())
@settings(max_examples=60)
def test_backward_is_each_nodes_step_in_reverse_topological_order(expr):
    by_hand = [Value(x) for x in expr.inputs]
    root = expr(*by_hand)
    root.grad = 1.0
    for node in reversed(topological_order(root)):
        node._backward()
    automatic = [Value(x) for x in expr.inputs]
    expr(*automatic).backward()
    assert [v.grad for v in by_hand] == pytest.approx([v.grad for v in automatic], rel=1e-12)


# ------------------------------------------------------------------ from_op
def softplus(x: Value) -> Value:
    """log(1 + e^x), an op of your own: its value and its local derivative σ(x)."""
    return Value.from_op(math.log1p(math.exp(x.data)), [x], [1 / (1 + math.exp(-x.data))],
                         op="my_softplus")


def test_an_op_of_your_own_backpropagates_and_draws():
    x = Value(0.5, label="x")
    y = softplus(x) * 2
    y.backward()
    assert x.grad == pytest.approx(2 / (1 + math.exp(-0.5)), rel=1e-15)
    node = y.inputs[0]
    assert node.op == "my_softplus" and node.primitive.name == "my_softplus"
    assert node.primitive.derivatives is None
    assert node in topological_order(y)
    source = viz.draw_dot(y, show_local_grads=True).source
    assert "my_softplus" in source and f"{1 / (1 + math.exp(-0.5)):.4f}" in source


def test_an_op_of_your_own_with_two_or_more_inputs():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    product = Value.from_op(6.0, [a, b, c], [6.0, 3.0, 2.0], op="product3")
    hypot = Value.from_op(math.hypot(1.0, 2.0), [a, b], [1 / math.sqrt(5), 2 / math.sqrt(5)],
                          op="hypot")
    (product + hypot).backward()
    assert (a.grad, b.grad, c.grad) == pytest.approx((6 + 1 / 5 ** 0.5, 3 + 2 / 5 ** 0.5, 2.0))
    assert product.inputs == (a, b, c) and product.local_grads == (6.0, 3.0, 2.0)


def test_an_op_of_your_own_passes_gradcheck_and_joins_random_graphs():
    assert gradcheck(softplus, [0.3]).passed

    @given(expressions(ops=("+", "*", "tanh", softplus)))
    @settings(max_examples=40)
    def check(expr):
        gradcheck(expr, expr.inputs)

    check()


@pytest.mark.parametrize("arguments, error, message", [
    ((1.0, [Value(1.0)], [1.0, 2.0]), ValueError, "one number per input \\(1 inputs\\)"),
    ((1.0, [2.0], [1.0]), TypeError, r"inputs\[0\] must be a Value, got float: 2.0"),
    ((1.0, [], []), ValueError, "inputs must be a non-empty list"),
    ((math.nan, [Value(1.0)], [1.0]), ValueError, "data must be a finite number, got nan"),
    ((1.0, [Value(1.0)], [math.inf]), ValueError, r"local_grads\[0\] must be a finite number"),
    ((1.0, [Value(1.0)], ["1"]), TypeError, r"local_grads\[0\] must be a real number"),
])
def test_bad_arguments_to_from_op_name_the_problem(arguments, error, message):
    with pytest.raises(error, match=message):
        Value.from_op(*arguments, op="mine")


def test_an_op_of_your_own_needs_a_name_of_its_own():
    with pytest.raises(ValueError, match="op must be a name of your own.*got 'tanh'"):
        Value.from_op(0.5, [Value(1.0)], [1.0], op="tanh")
    with pytest.raises(TypeError, match="op must be"):
        Value.from_op(0.5, [Value(1.0)], [1.0], op=None)


def test_an_op_of_your_own_has_no_rule_to_apply_or_evaluate():
    node = Value.from_op(0.5, [Value(1.0)], [1.0], op="mine")
    for call in (lambda: engine.apply(node.primitive, Value(2.0)),
                 lambda: node.primitive.evaluate(engine.FLOATS, 2.0)):
        with pytest.raises(TypeError, match="'mine' was made with Value.from_op: only the numbers"):
            call()
    assert engine.EXP.evaluate(engine.FLOATS, 0.0) == 1.0


def test_apply_needs_a_value_among_its_operands():
    with pytest.raises(TypeError, match=r"apply\('exp'\): its operand must be a Value, got float"):
        engine.apply(engine.EXP, 2.0)
    with pytest.raises(TypeError, match=r"apply\('\*'\): at least one operand must be a Value"):
        engine.apply(engine.MUL, 2.0, 3.0)


# ------------------------------------------------------------------ conveniences
def test_star_import_leaves_the_builtin_sum_alone():
    namespace: dict = {}
    exec("from tinygrad_edu import *", namespace)  # the statement a student types
    assert "sum" not in namespace and "Value" in namespace and "grad" in namespace
    from tinygrad_edu import dot, mean  # still importable by name
    from tinygrad_edu import sum as value_sum
    assert value_sum is engine.sum and mean is engine.mean and dot is engine.dot


def test_item_and_format_read_the_data():
    v = Value(2.0 / 3.0, label="v")
    assert v.item() == v.data
    assert f"{v:.4f}" == "0.6667" and format(v, ".1e") == "6.7e-01"
    assert f"{v}" == repr(v)


# ------------------------------------------------------------------ adding an op
@pytest.fixture
def softplus_primitive():
    """softplus added to the table the way the README's "Adding an op" says, then removed
    (or the table's own, once it has one)."""
    existing = [p for p in engine.PRIMITIVES if p.name == "softplus"]
    if existing:
        yield existing[0]
        return
    added = engine.primitive(
        "softplus", 1,
        forward=lambda m, x: m.relu(x) + m.log(1.0 + m.exp(x - 2.0 * m.relu(x))),
        derivative=(lambda m, out, x: m.sigmoid(x),))
    try:
        yield added
    finally:
        engine._PRIMITIVES.remove(added)


def test_an_op_added_to_the_table_is_known_everywhere(softplus_primitive):
    from tinygrad_edu import trace
    from tinygrad_edu.expr import parse_program

    def softplus(x: float) -> float:
        return math.log1p(math.exp(x))

    x = Value(0.5, label="x")
    y = engine.apply(softplus_primitive, x)
    assert y.data == pytest.approx(softplus(0.5), rel=1e-15) and y.op == "softplus"
    assert "softplus" in engine.FUNCTIONS and "softplus" in OPS
    # the expression language
    program = parse_program("L = softplus(x) * 2")
    assert program.evaluate({"x": 0.5})["L"].data == pytest.approx(2 * softplus(0.5), rel=1e-15)
    # derivatives of derivatives: softplus'' = σ(x)(1 - σ(x))
    (first,) = engine.grad(y, [x], create_graph=True)
    (second,) = engine.grad(first, [x])
    s = 1 / (1 + math.exp(-0.5))
    assert second.data == pytest.approx(s * (1 - s), rel=1e-12)
    # the drawing and the step-by-step page's formula
    assert "softplus" in viz.draw_dot(y).source
    from tinygrad_edu.viz.walkthrough import formula
    assert formula(y, ["x"]) == "softplus(x)"
    # both trace backends, at another point than the one traced
    for backend in ("python", "numpy"):
        program_ = trace(lambda: engine.apply(softplus_primitive, x) * 3.0, backend=backend)
        x.data, x.grad = -40.0, 0.0
        assert program_() == pytest.approx(3 * softplus(-40.0), rel=1e-12)
        assert x.grad == pytest.approx(3 / (1 + math.exp(40.0)), rel=1e-12)
        x.data = 0.5
    # gradcheck, and random graphs drawn by the strategies with it
    assert gradcheck(lambda v: engine.apply(softplus_primitive, v), [0.3]).passed

    @given(expressions(ops=("+", "*", "softplus")))
    @settings(max_examples=30, database=None)
    def check(expr):
        gradcheck(expr, expr.inputs)

    check()
