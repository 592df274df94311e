"""Examples for `tinygrad-edu gradcheck`: the table, the exit codes, and rejected programs."""

import math
import subprocess
import sys

import pytest

from tinygrad_edu import Value
from tinygrad_edu.cli import main


def gradcheck_command(capsys, *arguments):
    """Run `tinygrad-edu gradcheck ARGUMENTS`; return (exit code, stdout, stderr)."""
    code = main(["gradcheck", *arguments])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_table_and_exits_0(capsys):
    code, out, err = gradcheck_command(capsys, "x*y + log(x)", "--set", "x=2", "y=3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split()[0] == "input"
    assert lines[1].split()[:3] == ["x", "2", "3.5"]  # d/dx = y + 1/x
    assert lines[2].split()[:3] == ["y", "3", "2"]  # d/dy = x
    assert lines[-1].startswith("OK: 2 of 2 gradients match")


def test_the_lectures_program_with_named_steps(capsys):
    code, out, _ = gradcheck_command(capsys, "d = 2*b; e = a + d; L = c*e",
                                     "--set", "a=3", "b=1", "c=-2", "--eps", "1e-4")
    assert code == 0
    analytic = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:4]}
    assert analytic == {"b": "-4", "a": "-2", "c": "5"}  # inputs in order of first use


def test_exits_1_when_a_gradient_is_off(capsys, monkeypatch):
    def tanh_with_wrong_derivative(self):
        t = math.tanh(self.data)
        return self * (1.0 - t) + (t - (1.0 - t) * self.data)  # slope 1 - t, not 1 - t²

    monkeypatch.setattr(Value, "tanh", tanh_with_wrong_derivative)
    code, out, _ = gradcheck_command(capsys, "tanh(x)", "--set", "x=1")
    assert code == 1
    assert out.splitlines()[1].endswith("FAIL")
    assert out.splitlines()[-1].startswith("FAILED: 1 of 1 gradients off (x)")


def test_a_kink_is_explained(capsys):
    code, out, _ = gradcheck_command(capsys, "relu(x)", "--set", "x=0")
    assert code == 0
    assert "* x: near a kink" in out


def test_eps_atol_and_rtol_are_used(capsys):
    # A step of 0.5 is far too coarse for exp: the central difference is off by about
    # eps²/6 = 4% of the gradient, beyond rtol=0.001 but within rtol=0.1.
    code, out, _ = gradcheck_command(capsys, "exp(x)", "--set", "x=1", "--eps", "0.5")
    assert code == 1 and "eps=0.5" in out
    code, out, _ = gradcheck_command(capsys, "exp(x)", "--set", "x=1", "--eps", "0.5",
                                     "--rtol", "0.1", "--atol", "0")
    assert code == 0 and "eps=0.5, atol=0, rtol=0.1" in out


def test_a_printed_example_from_expressions_runs_as_a_program(capsys):
    # tinygrad_edu.testing prints a drawn graph as `t0 = x0 + 1.0; log(t0) * t0 at x0=0.5`.
    code, out, _ = gradcheck_command(capsys, "t0 = x0 + 1.0; log(t0) * t0", "--set", "x0=0.5")
    assert code == 0
    assert out.splitlines()[1].split()[:3] == ["x0", "0.5", f"{math.log(1.5) + 1:.8g}"]


def test_set_may_be_repeated(capsys):
    code, _, _ = gradcheck_command(capsys, "x*y", "--set", "x=2", "--set", "y=3")
    assert code == 0


@pytest.mark.parametrize("arguments, message", [
    (["__import__('os')", "--set", "x=1"], "calling __import__"),
    (["x *", "--set", "x=1"], "column"),
    (["x*y", "--set", "x=1"], "y is not set"),
    (["x", "--set", "x=1", "z=2"], "z is set but not used"),
    (["x", "--set", "x"], "expected NAME=NUMBER"),
    (["log(x)", "--set", "x=-1"], "while running the program: log(-1.0)"),
    (["2 * 3"], "no inputs to differentiate"),
    (["x", "--set", "x=1", "--eps", "0"], "eps (the finite-difference step) must be a number > 0, got 0.0"),  # noqa: E501
    (["x", "--set", "x=1", "--rtol", "-1"], "rtol (the relative tolerance) must be a number >= 0, got -1.0"),  # noqa: E501
])
def test_a_rejected_program_exits_2_with_one_line(capsys, arguments, message):
    code, out, err = gradcheck_command(capsys, *arguments)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("tinygrad-edu gradcheck: error: ")
    assert message in err


def test_runs_as_a_command():
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_edu", "gradcheck", "x*y + log(x)", "--set", "x=2",
         "y=3"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "OK: 2 of 2 gradients match" in result.stdout


def test_the_program_can_come_from_a_file_or_standard_input(capsys, tmp_path, monkeypatch):
    program = tmp_path / "prog.txt"
    program.write_text("d = 2*b\ne = a + d\nL = c*e\n", encoding="utf-8")
    code, out, _ = gradcheck_command(capsys, "-f", str(program), "--set", "a=3", "b=1", "c=-2")
    assert code == 0 and out.splitlines()[-1].startswith("OK: 3 of 3")
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("x*y + log(x)"))
    code, out, _ = gradcheck_command(capsys, "-", "--set", "x=2", "y=3")
    assert code == 0 and out.splitlines()[-1].startswith("OK: 2 of 2")


def test_a_missing_program_file_is_a_one_line_error(capsys, tmp_path):
    code, _, err = gradcheck_command(capsys, "-f", str(tmp_path / "nope.txt"), "--set", "x=1")
    assert code == 2 and "cannot read the program" in err and err.count("\n") == 1
