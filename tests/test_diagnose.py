"""diagnose: each classic bug, planted alone in a student's engine, is named and pointed at.

The engines come from tests/planted_engine.py: one correct micrograd-like class, and
the same class with one bug switched on. A right engine (that one, this project's
Value, micrograd 0.1.0) passes every probe.
"""

from __future__ import annotations

import time

import pytest
from planted_engine import BUGS, engine

from tinygrad_edu import Value
from tinygrad_edu.cli import main
from tinygrad_edu.diagnose import FAIL, NOTE, PASS, NotMicrogradLike, run_limited
from tinygrad_edu.testing import assert_engine, diagnose
from tinygrad_edu.viz.dot import HIGHLIGHT_COLOUR

# bug: (the probe that catches it, its status, words the report must use, the node it points
# at, or None where there is no gradient to point at).
EXPECTED = {
    "add_assigns": ("sharing: a + a", FAIL,
                    "gradients are assigned, not accumulated. The backward of __add__", "x0"),
    "mul_assigns": ("sharing: a * a", FAIL,
                    "gradients are assigned, not accumulated. The backward of __mul__", "x0"),
    "mul_swapped": ("*", FAIL, "multiplies by the operand's own data", "a"),
    "exp_uses_input": ("exp", FAIL, "exp's backward uses the input's data, not the output's",
                       "x"),
    "tanh_one_minus_t": ("tanh", FAIL, "tanh's derivative is written as 1 − t", "x"),
    "naive_tanh": ("tanh", FAIL, "(e²ˣ − 1)/(e²ˣ + 1), overflows for large x", None),
    "pow_no_minus_one": ("**", FAIL, "d/dx xⁿ is n·xⁿ⁻¹, not n·xⁿ", "x"),
    "sub_plus": ("-", FAIL, "∂(a − b)/∂b is −1, not 1", "b"),
    "relu_uses_output": ("relu", FAIL, "relu's backward multiplies by the output", "x"),
    "sigmoid_uses_input": ("sigmoid", FAIL, "sigmoid's backward uses the input x", "x"),
    "no_rmul": ("reflected: 2 * v", FAIL, "the class has no __rmul__", None),
    "no_radd": ("reflected: 2 + v", FAIL, "the class has no __radd__", None),
    "recursive_backward": ("order: reverse topological", FAIL,
                           "the walk over the graph is to blame", "x0"),
    "unordered_walk": ("order: reverse topological", FAIL,
                       "the walk over the graph is to blame", "x0"),
    "recursive_topo": ("order: a 5,000-deep chain", NOTE, "raises RecursionError", None),
    "stale_interior": ("order: a second backward()", NOTE, "stale gradients", None),
    "endless_backward": ("neg", FAIL, "did not finish in 0.5 s", None),
}


def test_every_planted_bug_has_an_expectation():
    assert set(EXPECTED) == set(BUGS)
    assert len({probe_words[2] for probe_words in EXPECTED.values()}) >= 10  # 10+ distinct


@pytest.mark.parametrize("bug", BUGS)
def test_diagnose_names_each_planted_bug_and_points_at_its_node(bug):
    probe, status, words, node = EXPECTED[bug]
    report = diagnose(engine(bug), seconds=0.5, random_examples=60)
    finding = report.finding(probe)
    assert finding.status == status, str(report)
    assert words in finding.message, str(report)
    if node is not None:
        assert finding.wrong_node == node
        assert finding.expected != finding.actual
    assert report.passed is (status != FAIL)
    if bug not in ("add_assigns", "endless_backward"):
        assert report.finding("+").status == PASS  # the diagnosis is specific


def test_a_right_engine_passes_every_probe():
    report = diagnose(engine(None))
    assert report.passed and not report.notes, str(report)
    assert len(report.findings) >= 20
    assert "2**v" not in report.supported  # its ** takes numbers only: no 2 ** v needed


def test_this_projects_value_passes_every_probe_with_every_op():
    report = assert_engine(Value)
    assert not report.notes, str(report)
    assert set(report.supported) >= {"+", "-", "*", "/", "**", "**v", "exp", "log", "tanh",
                                     "sigmoid", "relu", "2**v"}
    assert report.finding("reflected: 2 ** v").status == PASS


def test_micrograd_passes_every_probe_with_two_notes():
    micrograd = pytest.importorskip("micrograd.engine")
    report = assert_engine(micrograd.Value)
    assert {note.probe for note in report.notes} == {"order: a second backward()",
                                                     "order: a 5,000-deep chain"}
    assert "micrograd does this too" in report.finding("order: a second backward()").message


def test_random_expressions_find_a_bug_and_shrink_it():
    finding = diagnose(engine("exp_uses_input"), random_examples=100).finding(
        "random expressions")
    assert finding.status == FAIL
    # Hypothesis's shrink, then the one op that fails alone at the values it had there.
    assert finding.message.startswith("the smallest failing expression: exp(x0) at x0=")
    assert finding.wrong_node == "x0" and finding.expression.startswith("out = exp(x0) at")


def test_a_value_used_twice_is_pointed_at_with_both_shares():
    finding = diagnose(engine("mul_assigns"), random_examples=10).finding("sharing: a * a")
    assert (finding.wrong_node, finding.expected, finding.actual) == ("x0", 3.0, 1.5)
    assert "used 2 times: 1.5 from out = x0 * x0; 1.5 from out = x0 * x0" in finding.message


def test_draw_shows_the_students_graph_with_the_wrong_node_in_red():
    report = diagnose(engine("recursive_backward"), random_examples=10)
    finding = report.finding("order: reverse topological")
    source = report.draw("order: reverse topological").source
    assert source.count(HIGHLIGHT_COLOUR) == 2  # the node, and its entry in the legend
    assert f"expected grad 15, got {finding.actual:.4g}" in source
    # The student's own graph: a micrograd-style engine wraps the constants 3.0, 2.0 and
    # 2.0 in nodes of their own, so it has 8 boxes where this engine's graph has 5.
    assert source.count("<td>data ") == 8
    assert report.draw().source  # the first failure with a graph, by default


def test_draw_without_a_wrong_gradient_says_so():
    with pytest.raises(ValueError, match="no failed probe"):
        diagnose(Value).draw()


def test_the_report_reads_as_text_and_as_html():
    report = diagnose(engine("mul_swapped"), random_examples=20)
    text = str(report)
    assert text.startswith("Value_mul_swapped: ") and "probes fail" in text
    assert "[FAIL] *" in text and "[ok  ] +" in text
    page = report._repr_html_()
    assert "<table>" in page and "∂(a·b)/∂a is b" in page
    with pytest.raises(AssertionError, match="multiplies by the operand's own data"):
        assert_engine(engine("mul_swapped"), random_examples=20)


def test_a_class_that_is_not_micrograd_like_is_refused_with_what_is_missing():
    class NoGraph:
        def __init__(self, data):
            self.data, self.grad = data, 0.0

        def backward(self):
            pass

    class Raises:
        def __init__(self, data):
            raise RuntimeError("not written yet")

    with pytest.raises(NotMicrogradLike, match="has no _prev"):
        diagnose(NoGraph)
    with pytest.raises(NotMicrogradLike, match="raises RuntimeError: not written yet"):
        diagnose(Raises)
    with pytest.raises(NotMicrogradLike, match="is not a class"):
        diagnose(3)


def test_an_endless_probe_is_stopped_and_the_rest_are_not_waited_for():
    started = time.perf_counter()
    report = diagnose(engine("endless_backward"), seconds=0.5)
    assert time.perf_counter() - started < 5  # two probes time out, then no more wait
    messages = [finding.message for finding in report.findings]
    assert messages[0].startswith("did not finish in 0.5 s")
    assert all("ran out of time" in message for message in messages[2:])


def test_run_limited_stops_a_python_loop_and_passes_errors_on():
    seen = []

    def loop():
        while True:
            seen.append(1)
            del seen[:]

    started = time.perf_counter()
    with pytest.raises(Exception, match="did not finish in 0.2 s"):
        run_limited(loop, 0.2)
    assert time.perf_counter() - started < 2
    with pytest.raises(ZeroDivisionError):
        run_limited(lambda: 1 / 0, 1.0)
    assert run_limited(lambda: 42, 1.0) == 42


# ------------------------------------------------------------------ the command
STUDENT = """
from planted_engine import engine

Value = engine(None)
Buggy = engine("exp_uses_input")


class Raises:
    def __init__(self, data):
        raise RuntimeError("not written yet")


answer = 42
"""


@pytest.fixture
def student_file(tmp_path):
    (tmp_path / "planted_engine.py").write_text(
        (__import__("pathlib").Path(__file__).parent / "planted_engine.py").read_text())
    path = tmp_path / "my_engine.py"
    path.write_text(STUDENT)
    return path


def test_the_command_exits_0_when_every_probe_passes(student_file, capsys):
    assert main(["diagnose", f"{student_file}:Value", "--examples", "20"]) == 0
    assert capsys.readouterr().out.startswith("Value: every probe passes")


def test_the_command_exits_1_and_can_draw_the_wrong_node(student_file, tmp_path, capsys):
    picture = tmp_path / "wrong.dot"
    assert main(["diagnose", f"{student_file}:Buggy", "--examples", "20",
                 "--draw", str(picture)]) == 1
    out = capsys.readouterr().out
    assert "exp's backward uses the input's data" in out and f"wrote {picture}" in out
    assert HIGHLIGHT_COLOUR in picture.read_text()


@pytest.mark.parametrize("target, message", [
    ("{file}:Raises", "Raises(1.5) raises RuntimeError: not written yet"),
    ("{file}:Missing", "has no 'Missing'; its classes: Buggy, Raises, Value"),
    ("{file}:answer", "is not a class but int"),
    ("{folder}/nothing.py:Value", "nothing.py: no such file"),
    ("no_such_module_here:Value", "no module named 'no_such_module_here'"),
    ("Value", "name the class as path/to/engine.py:Value or module:Value"),
])
def test_the_command_exits_2_naming_what_is_missing(student_file, capsys, target, message):
    target = target.format(file=student_file, folder=student_file.parent)
    assert main(["diagnose", target]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_module_that_raises_on_import_exits_2(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('half written')\n")
    assert main(["diagnose", f"{broken}:Value"]) == 2
    assert "importing" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (["--seconds", "0"], "--seconds must be a number in (0, 3600], got 0"),
    (["--seconds", "nan"], "--seconds must be a number in (0, 3600], got nan"),
    (["--examples", "0"], "--examples must be a whole number from 1 to 100000, got 0"),
    (["--draw", "wrong.txt"], "--draw: cannot draw to 'wrong.txt'"),
])
def test_bad_options_exit_2_before_anything_is_imported(student_file, capsys, options, message):
    assert main(["diagnose", f"{student_file}:Value", *options]) == 2
    assert message in capsys.readouterr().err
