"""Examples for tinygrad_edu.gradient_check: what gradcheck reports, and the mistakes it catches."""

import math

import pytest

from tinygrad_edu import Value
from tinygrad_edu.gradient_check import GradcheckError, GradcheckReport, gradcheck


def with_derivative(x: Value, value: float, slope: float) -> Value:
    """A node worth `value` whose derivative autograd takes to be `slope`: a planted bug.

    It is the tangent line through (x, value) with the given slope, so its forward
    value is right while backward() uses whatever slope the test chooses.
    """
    return x * slope + (value - slope * x.data)


def tanh_with_wrong_derivative(self: Value) -> Value:
    """Value.tanh with a classic slip: tanh'(z) written as 1 - t instead of 1 - t²."""
    t = math.tanh(self.data)
    return with_derivative(self, t, 1.0 - t)


# ------------------------------------------------------------ passing checks
def test_report_lists_each_input_with_both_gradients():
    report = gradcheck(lambda x, y: x * y + x.log(), [2.0, 3.0])
    assert isinstance(report, GradcheckReport)
    assert report.passed and not report.failures
    x, y = report.checks
    assert (x.name, x.value, y.name, y.value) == ("x", 2.0, "y", 3.0)
    assert x.analytic == 3.0 + 1 / 2.0  # d/dx = y + 1/x
    assert y.analytic == 2.0  # d/dy = x
    assert x.numeric == pytest.approx(3.5, abs=1e-8)
    assert y.numeric == pytest.approx(2.0, abs=1e-8)
    assert x.abs_error == abs(x.analytic - x.numeric)
    assert x.rel_error == pytest.approx(x.abs_error / 3.5)
    assert report.output == pytest.approx(6 + math.log(2))


def test_lecture_worked_example_passes():
    # Lecture §5: L = c * (a + 2b); dL/da = -2, dL/db = -4, dL/dc = 5 at a=3, b=1, c=-2.
    report = gradcheck(lambda a, b, c: c * (a + 2 * b), [3.0, 1.0, -2.0])
    assert [check.analytic for check in report.checks] == [-2.0, -4.0, 5.0]
    assert [check.numeric for check in report.checks] == pytest.approx([-2, -4, 5], abs=1e-8)


def test_table_has_a_row_per_input_and_a_summary():
    table = str(gradcheck(lambda x, y: x * y, [2.0, 3.0]))
    lines = table.splitlines()
    assert lines[0].split() == ["input", "value", "analytic", "numeric", "abs", "err",
                                "rel", "err", "result"]
    assert lines[1].split()[:3] == ["x", "2", "3"]
    assert lines[2].split()[:3] == ["y", "3", "2"]
    assert lines[1].endswith("ok") and lines[2].endswith("ok")
    assert lines[-1] == "OK: 2 of 2 gradients match (eps=1e-06, atol=1e-05, rtol=0.001)"


def test_inputs_are_named_by_label_then_parameter_then_position():
    report = gradcheck(lambda w, *rest: w * rest[0], [Value(1.0, label="weight"), 2.0])
    assert [check.name for check in report.checks] == ["weight", "inputs[1]"]
    report = gradcheck(lambda w, x: w * x, [1.0, 2.0])
    assert [check.name for check in report.checks] == ["w", "x"]


def test_a_value_used_twice_is_checked_through_both_paths():
    # Lecture §6: the two paths through c add up.
    report = gradcheck(lambda c: (c * 3.0) * (c**2), [1.5])
    assert report.checks[0].analytic == pytest.approx(9 * 1.5**2)


def test_grads_of_the_callers_values_are_left_alone():
    x = Value(2.0, label="x")
    x.grad = 7.0
    weight = Value(0.5, label="weight")  # a parameter f closes over, like a model's
    weight.grad = -1.0
    gradcheck(lambda x: (weight * x).tanh(), [x])
    assert (x.grad, weight.grad) == (7.0, -1.0)


def test_the_rule_is_atol_plus_rtol_times_the_numeric_gradient():
    x0 = 0.7
    tolerance = 1e-5 + 1e-3 * math.cos(x0)

    def sine_off_by(error):
        return lambda x: with_derivative(x, math.sin(x.data), math.cos(x.data) + error)

    assert gradcheck(sine_off_by(0.9 * tolerance), [x0]).passed
    with pytest.raises(GradcheckError):
        gradcheck(sine_off_by(1.1 * tolerance), [x0])
    assert gradcheck(sine_off_by(1.1 * tolerance), [x0], rtol=2e-3).passed


# ------------------------------------------------------------ caught mistakes
def test_a_wrong_local_derivative_is_caught(monkeypatch):
    monkeypatch.setattr(Value, "tanh", tanh_with_wrong_derivative)
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.0])
    report = caught.value.report
    assert [check.name for check in report.failures] == ["x", "y"]
    t = math.tanh(-0.5)
    x = report.checks[0]
    assert x.analytic == pytest.approx(-1.0 * (1 - t))  # what the bug computes
    assert x.numeric == pytest.approx(-1.0 * (1 - t * t), abs=1e-8)  # what is true
    assert isinstance(caught.value, AssertionError)  # so plain pytest shows it as a failure
    message = str(caught.value)
    assert "FAIL" in message and "FAILED: 2 of 2 gradients off (x, y)" in message


def test_the_correct_tanh_passes_where_the_wrong_one_failed():
    assert gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.0]).passed


def test_a_missing_path_is_caught():
    # A common slip when writing an op by hand: forgetting one input's contribution.
    def square_forgetting_one_path(x):
        return with_derivative(x, x.data**2, x.data)  # x*x has two paths: 2x

    with pytest.raises(GradcheckError, match="FAILED: 1 of 1 gradients off"):
        gradcheck(square_forgetting_one_path, [3.0])


# ---------------------------------------------------- kinks and domain edges
def test_relu_at_its_kink_is_reported_not_failed():
    report = gradcheck(lambda z: z.relu(), [0.0])
    check = report.checks[0]
    assert check.passed
    assert check.analytic == 0.0  # relu'(0) = 0, as in PyTorch
    assert check.numeric == 0.0  # the left slope, which autograd's choice matches
    assert check.note.startswith("near a kink")
    assert "slope 0 on the left, 1 on the right" in check.note
    assert "* z: near a kink" in str(report)


def test_a_kink_just_beside_the_input_is_reported():
    # The kink at 0 lies within eps = 1e-6 of z, so the central difference straddles it.
    check = gradcheck(lambda z: z.relu(), [3e-7]).checks[0]
    assert check.passed and check.analytic == 1.0
    assert check.numeric == pytest.approx(1.0)  # the right slope: the side without the kink
    assert "matches the right slope" in check.note


def test_a_wrong_gradient_at_a_kink_still_fails():
    def relu_with_slope_two(z):
        return with_derivative(z, max(z.data, 0.0), 2.0 if z.data > 0 else 0.0)

    with pytest.raises(GradcheckError) as caught:
        gradcheck(relu_with_slope_two, [3e-7])
    assert "matches neither" in caught.value.report.checks[0].note


def test_a_domain_edge_within_eps_is_named():
    # x - eps < 0, where x ** 0.5 is undefined; (x ** 0.5) ** 2 = x has slope 1 on the right.
    check = gradcheck(lambda x: (x**0.5) ** 2, [5e-7]).checks[0]
    assert check.passed
    assert check.note.startswith("domain edge within eps: f raised ValueError at x=-5e-07")
    assert "compared with the right slope only" in check.note


def test_a_domain_edge_that_spoils_the_difference_fails_with_its_reason():
    # log just above 0: one-sided slopes are far from 1/x, and the report says why.
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: x.log(), [5e-7])
    note = caught.value.report.checks[0].note
    assert "domain edge within eps" in note and "log(" in note and "input must be > 0" in note


def test_no_difference_at_all_when_both_sides_are_outside_the_domain():
    # log(x) + log(1e-6 - x) is defined only on (0, 1e-6), narrower than 2 eps.
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: x.log() + (1e-6 - x).log(), [5e-7])
    check = caught.value.report.checks[0]
    assert math.isnan(check.numeric)
    assert "f fails on both sides" in check.note


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("settings, message", [
    ({"eps": 0.0}, r"eps \(the finite-difference step\) must be a number > 0, got 0.0"),
    ({"eps": -1e-6}, "eps .* got -1e-06"),
    ({"atol": -1.0}, r"atol \(the absolute tolerance\) must be a number >= 0, got -1.0"),
    ({"rtol": math.nan}, "rtol .* got nan"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(lambda x: x * x, [1.0], **settings)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="got no inputs"):
        gradcheck(lambda: Value(1.0), [])
    with pytest.raises(TypeError, match="input 1 .* got str: 'a'"):
        gradcheck(lambda x, y: x * y, [1.0, "a"])
    with pytest.raises(ValueError, match="input 0 .* got inf"):
        gradcheck(lambda x: x * x, [math.inf])


def test_f_must_return_a_value():
    with pytest.raises(TypeError, match="f returned float 2.0, not a Value"):
        gradcheck(lambda x: x.data * 2, [1.0])


def test_f_failing_at_the_inputs_themselves_is_the_callers_error():
    with pytest.raises(ValueError, match=r"log\(-1.0\): input must be > 0"):
        gradcheck(lambda x: x.log(), [-1.0])
