"""The `tinygrad-edu` command: demo, one-line errors, and `python -m tinygrad_edu`."""

import subprocess
import sys

from tinygrad_edu.cli import main


def test_demo_prints_the_lecture_example_in_backward_order(capsys, tmp_path):
    assert main(["demo", "computation_graph", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for line in ("a = 3", "d = b*2 = 2", "e = a + d = 5", "L = c * e = -10"):
        assert line in out
    gradients = ["dL/dL = 1", "dL/dc = 5", "dL/de = -2", "dL/da = dL/de * de/da = -2 * 1 = -2",
                 "dL/dd = dL/de * de/dd = -2 * 1 = -2",
                 "dL/db = dL/de * de/dd * dd/db = -2 * 1 * 2 = -4"]
    positions = [out.index(line) for line in gradients]
    assert positions == sorted(positions), "gradients appear in the order backward computes them"


def test_unknown_demo_is_a_one_line_error(capsys):
    assert main(["demo", "no_such_demo"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown demo 'no_such_demo'" in err and "computation_graph" in err
    assert "\n" not in err


def test_bad_subcommand_exits_2_with_one_line():
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "frobnicate"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid choice" in result.stderr


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", "demo", "computation_graph"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dL/db = dL/de * de/dd * dd/db = -2 * 1 * 2 = -4" in result.stdout


def test_version_and_the_demo_list(capsys):
    import pytest

    from tinygrad_edu import __version__
    from tinygrad_edu.cli.demo import available_demos

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"tinygrad-edu {__version__}"
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    listing = capsys.readouterr().out
    demos = available_demos()
    assert {"computation_graph", "higher_order", "backprop_order", "two_paths"} <= set(demos)
    for name, summary in demos.items():
        assert summary, f"demos/{name}.py needs a docstring whose first line says what it shows"
        assert f"{name}  " in listing and summary in listing


def test_a_demos_help_and_errors_name_the_command_that_ran_it(capsys):
    import pytest

    for name in ("computation_graph", "ffnn_language_model"):  # OneLineParser, in two ways
        assert main(["demo", name, "--help"]) == 0
        assert capsys.readouterr().out.startswith(f"usage: tinygrad-edu demo {name} [-h]")
    assert main(["demo", "two_paths", "--bogus"]) == 2
    assert capsys.readouterr().err == ("tinygrad-edu demo two_paths: error: "
                                       "unrecognized arguments: --bogus\n")
    with pytest.raises(SystemExit):  # afterwards, parsers name themselves again
        main(["demo", "--help"])
    assert capsys.readouterr().out.startswith("usage: tinygrad-edu demo [-h]")
