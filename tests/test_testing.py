"""Examples for tinygrad_edu.testing: what values() and expressions() draw and promise."""

import math
import subprocess
import sys

import pytest
from hypothesis import find, given, settings

from tinygrad_edu import Value, topological_order
from tinygrad_edu.expr import parse_program
from tinygrad_edu.testing import (
    BOUND,
    MARGIN,
    OPS,
    Expression,
    Step,
    expressions,
    gradcheck,
    values,
)

# find() searches with the same fixed seed every run, like the suite's profile.
DETERMINISTIC = settings(derandomize=True, database=None, max_examples=200)


def depth(expr: Expression) -> int:
    """The longest path from an input to the output, counted in steps."""
    depths = [0] * expr.n_inputs
    for step in expr.steps:
        depths.append(1 + max(depths[o] for o in step.operands if isinstance(o, int)))
    return depths[-1]


def rebuilt(expr: Expression) -> Value:
    """The expression's graph, built on leaf Values at its drawn inputs."""
    return expr(*[Value(x, label=name) for x, name in zip(expr.inputs, expr.input_names)])


# -------------------------------------------------------------------- values
@given(values(-2.0, 5.0))
def test_values_are_leaves_in_the_range(v):
    assert isinstance(v, Value) and v.op == "" and v.grad == 0.0
    assert -2.0 <= v.data <= 5.0


def test_values_rejects_an_empty_range():
    with pytest.raises(ValueError, match="min_value must be <= max_value"):
        values(1.0, -1.0)


# --------------------------------------------------------------- expressions
def test_an_expression_prints_as_infix_code_with_its_inputs():
    # log(x0 * x1 + 2.0) * x0: the steps refer to earlier nodes by index, inputs first.
    expr = Expression(2, [Step("*", (0, 1)), Step("+", (2, 2.0)), Step("log", (3,)),
                          Step("*", (4, 0))], [1.5, 0.5])
    assert repr(expr) == "log(x0 * x1 + 2.0) * x0 at x0=1.5, x1=0.5"
    assert str(expr) == expr.source == "log(x0 * x1 + 2.0) * x0"
    out = expr(Value(1.5), Value(0.5))
    assert out.data == pytest.approx(1.5 * math.log(2.75))


def test_a_shared_node_is_printed_once_under_a_name():
    expr = Expression(1, [Step("+", (0, 1.0)), Step("neg", (1,)), Step("*", (1, 2))], [2.0])
    assert expr.source == "t0 = x0 + 1.0; t0 * (-t0)"


@given(expressions(ops=("+", "-", "*", "/", "**", "neg", "exp", "log", "tanh", "sigmoid",
                        "relu")))
def test_the_printed_form_is_the_same_graph(expr):
    # The project's expression language reads the printed form back into the very same
    # graph: same ops in the same order, hence the same value to the last bit.
    program = parse_program(expr.source)
    given_inputs = dict(zip(expr.input_names, expr.inputs))
    parsed = program.result({name: given_inputs[name] for name in program.input_names})
    ours = rebuilt(expr)
    assert parsed.data == ours.data
    assert [node.op for node in topological_order(parsed)] == \
        [node.op for node in topological_order(ours)]


@given(expressions())
def test_every_op_stays_in_its_domain_at_the_drawn_inputs(expr):
    for node in topological_order(rebuilt(expr)):
        assert abs(node.data) <= BOUND
        args = [child.data for child in node.inputs]
        if node.op in ("log", "relu"):
            assert abs(args[0]) >= MARGIN
        elif node.op == "/":
            assert abs(args[1]) >= MARGIN  # a / b
        elif node.op.endswith("/"):
            assert abs(args[0]) >= MARGIN  # 2.0 / x
        elif node.op == "**":
            assert args[0] >= MARGIN  # x ** y: the base must be positive
        elif node.op.startswith("**") and float(node.op[2:]) not in (2.0, 3.0):
            assert abs(args[0]) >= MARGIN  # x ** -1.0, x ** 0.5, ...


@given(expressions(n_inputs=2, max_depth=3))
def test_input_count_and_depth_are_as_asked(expr):
    assert expr.n_inputs == 2 == len(expr.inputs)
    assert expr.input_names == ("x0", "x1")
    assert 1 <= depth(expr) <= 3


@given(expressions(ops=("tanh", "*")))
def test_only_the_chosen_ops_are_drawn(expr):
    assert {step.op for step in expr.steps} <= {"tanh", "*"}


def test_every_op_gets_drawn():
    seen = set()

    @DETERMINISTIC
    @given(expressions())
    def collect(expr):
        seen.update(step.op for step in expr.steps)

    collect()
    assert seen == set(OPS)


def test_shared_subexpressions_are_drawn():
    # Lecture §6: a node used twice. The rebuilt graph really shares it: one node, two edges.
    found = find(expressions(), lambda e: "t0 =" in e.source, settings=DETERMINISTIC)
    uses: dict = {}
    for node in topological_order(rebuilt(found)):
        for child in node.inputs:
            uses[child] = uses.get(child, 0) + 1
    assert any(count >= 2 and child.op for child, count in uses.items())


def test_shrinking_gives_a_small_readable_example():
    found = find(expressions(), lambda e: any(s.op == "log" for s in e.steps),
                 settings=DETERMINISTIC)
    assert found.source.startswith("log(") and len(found.steps) <= 3
    assert repr(found).endswith(" at x0=1.0")  # inputs shrink towards 1.0, inside every domain


def test_calling_rebuilds_the_graph_on_new_inputs():
    expr = Expression(2, [Step("*", (0, 1)), Step("tanh", (2,))], [0.5, 2.0])
    first, second = rebuilt(expr), expr(Value(0.5), Value(2.0))
    assert first is not second and first.data == second.data == math.tanh(1.0)
    assert expr(Value(1.0), Value(3.0)).data == math.tanh(3.0)
    with pytest.raises(TypeError, match=r"tanh\(x0 \* x1\) takes 2 inputs \(x0, x1\), got 1"):
        expr(Value(1.0))


def softplus(x):
    """An op of one's own: log(1 + e^x)."""
    return (1.0 + x.exp()).log()


def hypot(a, b):
    """An op of one's own with two inputs."""
    return (a * a + b * b + 1.0) ** 0.5


@given(expressions(ops=(softplus, hypot, "*")))
def test_ops_of_your_own_can_join_the_graphs(expr):
    assert {step.op for step in expr.steps} <= {softplus, hypot, "*"}
    for op in (softplus, hypot):
        assert (op.__name__ + "(" in expr.source) == any(s.op is op for s in expr.steps)
    gradcheck(expr, expr.inputs)


@pytest.mark.parametrize("arguments, message", [
    ({"ops": ("+", "max")}, "unknown op 'max'; choose from"),
    ({"ops": ()}, "ops is empty"),
    ({"ops": (lambda a, b, c: a,)}, "takes 3 arguments"),
    ({"n_inputs": 0}, "n_inputs=0"),
    ({"max_depth": 0}, "max_depth=0"),
])
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        expressions(**arguments)


@given(expressions())
def test_drawn_inputs_are_plain_floats_in_range(expr):
    assert all(type(x) is float and -3.0 <= x <= 3.0 for x in expr.inputs)


def test_importing_the_package_does_not_import_hypothesis():
    code = ("import sys, tinygrad_edu, tinygrad_edu.gradient_check; "
            "print('hypothesis' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


# ------------------------------------------- the README's examples, as written there

@given(expressions())
def test_backward_matches_finite_differences(expr):
    gradcheck(expr, expr.inputs)


def softplus_from_the_readme(x):
    return (1 + x.exp()).log()


@given(values(-5, 5))
def test_softplus(x):
    gradcheck(softplus_from_the_readme, [x])


@given(expressions(ops=("+", "*", "tanh", softplus_from_the_readme)))
def test_softplus_in_random_graphs(expr):
    gradcheck(expr, expr.inputs)
