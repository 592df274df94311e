"""Every subcommand, fed hostile and careless arguments and input by hypothesis.

Whatever the input, a command must end with a documented exit code (0, 1 for a
failed check, 2 for bad usage, 130 for Ctrl-C), never a traceback and never
the catch-all "internal error" line; within a bounded time; and a command that
fails must leave the files in its output folder exactly as they were.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_edu import engine
from tinygrad_edu.cli import main

EXIT_CODES = {0, 1, 2, 130}
SECONDS_PER_RUN = 20  # far above any run here; an unbounded read or loop would exceed it

# Numbers as a careless or hostile user types them: mostly ones that parse, at the edges.
EDGE_NUMBERS = st.sampled_from([
    "0", "1", "-1", "2", "0.5", "1e-6", "1e-320", "5e-324", "1e11", "-1e11", "1e300", "-1e300",
    "3e15", "1e11",
    "1e308", " 3 ", "1_000",
])
NUMBERS = st.one_of(EDGE_NUMBERS, EDGE_NUMBERS, st.sampled_from([
    "1e400", "nan", "inf", "-inf", "", "abc", "1,5", "0x10", "9" * 40, "é",
]))
FUNCTIONS = set(engine.FUNCTIONS)  # every function of the engine's table
NAMES = st.sampled_from(["x", "y", "a", "b", "x0", "L", "log", "_", "1x", "é"])
PIECES = st.sampled_from([
    "x", "y", "2", "0", "1e308", "1e-320", "0.5", "x*x", "x/y", "1/x", "x**0.5", "x**y",
    "2**x", "x**-1", "log(x)", "exp(x)", "tanh(x)", "sigmoid(x)", "relu(x)", "log(0)",
    "exp(1000)", "-x", "(x)", "x()", "__import__('os')", "x.y", "[x]", "x if y else 2",
    "lambda: 1", "'s'", "1" * 400, "1" * 5000, "(" * 50, "x; y", "z = x\nz", "\0", "\ufeff",
    "#", "\\", "\n", ";", "=", "**",
])
# Programs inside the language, where the edges are in the numbers and the ops' domains.
VALID_PROGRAMS = st.recursive(
    st.sampled_from(["x", "y", "x", "2", "0.5", "0", "1e308", "1e-320", "1e11"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner)
        .map(lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), inner)
        .map(lambda parts: f"{parts[0]}({parts[1]})"),
    ),
    max_leaves=6,
)
PROGRAMS = st.one_of(
    VALID_PROGRAMS, VALID_PROGRAMS, VALID_PROGRAMS,
    st.text(max_size=40),
    st.lists(PIECES, min_size=1, max_size=6).map(lambda parts: " + ".join(parts)),
    st.lists(PIECES, min_size=1, max_size=6).map(lambda parts: "".join(parts)),
    st.integers(1, 600).map(lambda n: "(" + "+".join(["x"] * n) + ")()"),
)
SETTINGS = st.lists(st.tuples(NAMES, NUMBERS).map("=".join), max_size=3)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@st.composite
def settings_for(draw, program: str) -> list[str]:
    """--set words: usually a value for every input the program reads, sometimes anything."""
    if draw(st.integers(0, 3)) == 0:
        return draw(SETTINGS)
    names = dict.fromkeys(name for name in IDENTIFIER.findall(program) if name not in FUNCTIONS)
    return [f"{name}={draw(NUMBERS)}" for name in names]


def run(argv: list[str], folder: Path, stdin: str = "", message: str = "") -> int:
    """Run the command in this process; assert every promise about how it ends."""
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    saved_stdin, saved_out, saved_err = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), io.StringIO(), io.StringIO()
    started = time.monotonic()
    try:
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's own refusals
            code = stop.code
        err = sys.stderr.getvalue()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_stdin, saved_out, saved_err
    assert time.monotonic() - started < SECONDS_PER_RUN, argv
    assert code in EXIT_CODES, (code, argv, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    assert "\r" not in err, err  # stderr is not a terminal: no progress bar redrawn in it
    if code == 2:
        assert err.count("\n") == 1, err
    assert message in err, (message, err)
    if code != 0:
        after = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
        assert after == before, f"{argv} failed with {code} but changed {set(after) ^ set(before)}"
    return code


def output_argument(choice: str, folder: Path) -> list[str]:
    """An -o or --walkthrough argument: a good file, a bad suffix, a folder, or below a file."""
    (folder / "existing.txt").write_text("keep me")
    (folder / "dir.html").mkdir(exist_ok=True)
    return {
        "dot": ["-o", str(folder / "graph.dot")],
        "svg": ["-o", str(folder / "graph.svg")],
        "bad suffix": ["-o", str(folder / "graph.pdf")],
        "below a file": ["-o", str(folder / "existing.txt" / "graph.dot")],
        "missing folder": ["-o", str(folder / "missing" / "graph.dot")],
        "page into a folder": ["-o", str(folder / "graph.dot"),
                               "--walkthrough", str(folder / "dir.html")],
        "page": ["--walkthrough", str(folder / "steps.html")],
        "none": [],
    }[choice]


PROGRAM_SOURCES = st.sampled_from(["argument", "stdin", "file", "dash"])
FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def program_arguments(source: str, program: str, folder: Path) -> tuple[list[str], str]:
    """How the program reaches the command, and what stdin then holds."""
    if source == "argument" and program and "\0" not in program \
            and not program.startswith("-"):
        return [program], ""
    if source == "file":
        path = folder / "program.txt"
        path.write_bytes(program.encode("utf-8", "surrogatepass"))
        return ["-f", str(path)], ""
    return (["-"] if source == "dash" else []), program


@pytest.mark.slow
@FUZZ
@given(program=PROGRAMS, source=PROGRAM_SOURCES, data=st.data(),
       output=st.sampled_from(["dot", "dot", "dot", "svg", "bad suffix", "below a file",
                               "missing folder", "page into a folder", "page", "none"]),
       extra=st.lists(st.sampled_from([
           ["--local-grads"], ["--shade-grads"], ["--rankdir", "TB"], ["--rankdir", "XX"],
           ["--decimals", "-1"], ["--decimals", "99999999999999999999"], ["--decimals", "2"],
           ["--max-nodes", "3"], ["--max-nodes", "0"], ["--timeout", "0"],
           ["--timeout", "nan"], ["--timeout", "30"], ["--unknown"],
       ]), max_size=3))
def test_render_never_tracebacks_and_writes_nothing_on_failure(program, source, data, output,
                                                               extra):
    settings_ = data.draw(settings_for(program))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        where, stdin = program_arguments(source, program, folder)
        argv = ["render", *where, *output_argument(output, folder)]
        if settings_:
            argv += ["--set", *settings_]
        run(argv + [word for option in extra for word in option], folder, stdin)


@pytest.mark.slow
@FUZZ
@given(program=PROGRAMS, source=PROGRAM_SOURCES, data=st.data(),
       tolerances=st.one_of(st.just([]), st.lists(
           st.tuples(st.sampled_from(["--eps", "--atol", "--rtol"]), NUMBERS), max_size=3)))
def test_gradcheck_never_tracebacks(program, source, data, tolerances):
    settings_ = data.draw(settings_for(program))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        where, stdin = program_arguments(source, program, folder)
        argv = ["gradcheck", *where]
        if settings_:
            argv += ["--set", *settings_]
        for option, value in tolerances:
            argv += [option, value]
        run(argv, folder, stdin)


@pytest.mark.slow
@FUZZ
@given(program=PROGRAMS, source=PROGRAM_SOURCES, data=st.data())
def test_trace_never_tracebacks(program, source, data):
    settings_ = data.draw(settings_for(program))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        where, stdin = program_arguments(source, program, folder)
        argv = ["trace", *where]
        if settings_:
            argv += ["--set", *settings_]
        run(argv, folder, stdin)


CSV_LINES = st.sampled_from([
    "x1,x2,label", "0.5,1.0,1", "0.1,0.2,0", "-1,1,1", "1,-1,0", "0.3,0.3,2", "1e300,1,0",
    "nan,1,0", "1,2", "1,2,3,4", "a,b,c", "", "# note", "\ufeff0.5,1,1", "1,1,-1", "1,1,0.5",
    "\0", '"1","2","1"', "1,1,1e300", "1;2;1",
])
TRAIN_OPTIONS = st.sampled_from([
    ["--dataset", "moons"], ["--dataset", "spiral"], ["--dataset", "blobs"],
    ["--dataset", "xor"], ["--dataset", "nope"], ["--samples", "1"], ["--samples", "-5"],
    ["--samples", "99999999999999"], ["--samples", "30"], ["--noise", "1e300"],
    ["--noise", "-1"], ["--noise", "nan"], ["--noise", "1e150"], ["--classes", "3"],
    ["--classes", "0"], ["--classes", "999999999"], ["--hidden", "none"], ["--hidden", "0"],
    ["--hidden", "3,3"], ["--hidden", "100000,100000"], ["--hidden", "x"], ["--hidden", ""],
    ["--activation", "tanh"], ["--activation", "nope"], ["--loss", "ce"], ["--loss", "hinge"],
    ["--loss", "mse"], ["--optimizer", "sgd"], ["--lr", "1e300"], ["--lr", "0"],
    ["--lr", "inf"], ["--lr", "nan"], ["--lr", "1e10"], ["--steps", "-1"], ["--steps", "abc"],
    ["--batch-size", "-3"], ["--batch-size", "7"], ["--batch-size", "999999999999"],
    ["--seed", "-1"], ["--seed", "99999999999999999999999"],
    ["--compile", "python"], ["--compile", "numpy"], ["--compile", "nope"],
])


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=st.lists(TRAIN_OPTIONS, max_size=4),
       csv=st.one_of(st.none(), st.lists(CSV_LINES, max_size=8)),
       out=st.sampled_from(["new", "existing", "file", "below a file"]),
       steps=st.sampled_from(["0", "1", "3"]))
def test_train_never_tracebacks_and_writes_nothing_on_failure(options, csv, out, steps):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "file.txt").write_text("keep me")
        (folder / "existing").mkdir()
        (folder / "existing" / "summary.json").write_text("an earlier run")
        out_path = {"new": folder / "new" / "out", "existing": folder / "existing",
                    "file": folder / "file.txt", "below a file": folder / "file.txt" / "out"}[out]
        argv = ["train", "--hidden", "4", "--samples", "40", "--steps", steps,
                "--out", str(out_path)]
        if csv is not None:
            (folder / "data.csv").write_text("\n".join(csv), encoding="utf-8")
            argv += ["--data", str(folder / "data.csv")]
        code = run(argv + [word for option in options for word in option], folder)
        if code != 0:
            assert not (folder / "new").exists(), "a failed run left the folders it made"


@pytest.mark.slow
@pytest.mark.parametrize("options", [["--loss", "bce"],
                                     ["--loss", "ce", "--dataset", "blobs", "--classes", "3"]])
def test_train_compiles_4000_points_with_the_python_backend(options, tmp_path, capsys):
    # A mean of 4,000 per-example losses: one sum of 4,000 operands in the generated code.
    # (Not through run(): its time limit is for the fuzzed runs, and this one is big on purpose.)
    argv = ["train", "--hidden", "4", "--samples", "4000", "--steps", "1", "--compile",
            "python", "--out", str(tmp_path / "out"), *options]
    assert main(argv) == 0, capsys.readouterr().err
    assert "Traceback" not in capsys.readouterr().err


@given(name=st.text(max_size=30))
@settings(max_examples=50, deadline=None)
def test_demo_with_any_unknown_name_is_a_one_line_error(name):
    if name in ("computation_graph", "two_paths", "logistic_regression", "softmax_regression",
                "two_layer_mlp", "train_classifier", "ffnn_language_model", "") \
            or name.startswith("-"):
        return
    with tempfile.TemporaryDirectory() as folder:
        assert run(["demo", name], Path(folder)) == 2


# ------------------------------------------- the hostile inputs the issue names
DEEP_CALL = "(" + "+".join(["x"] * 400) + ")()"


@pytest.mark.parametrize("argv, stdin, code, message", [
    (["render", DEEP_CALL, "--set", "x=1", "-o", "{folder}/g.dot"], "", 2,
     "calling an expression"),
    (["render", "-f", "/dev/zero", "-o", "{folder}/g.dot"], "", 2, "longer than the limit"),
    (["render", "-o", "{folder}/g.dot"], "x + " * 50_000, 2, "longer than the limit"),
    (["render", "log(x)", "--set", "x=1e-320", "-o", "{folder}/g.dot"], "", 2,
     "local derivative overflows"),
    (["render", "y = x*1e200*1e200", "--set", "x=1e-300", "-o", "{folder}/g.dot"], "", 2,
     "backward: the gradient of 'x' is inf"),
    (["render", "1" * 5000, "-o", "{folder}/g.dot"], "", 2,
     "a number of 5000 digits is too large for a float"),
    (["render", "1" * 400, "-o", "{folder}/g.dot"], "", 2, "numbers too large for a float"),
    (["render", "-o", "{folder}/g.dot"], "x\0", 2, "NUL character"),
    (["render", "; ".join(f"x{i} = x{i - 1} + 1" for i in range(1, 2500)), "--set", "x0=1",
      "-o", "{folder}/g.dot"], "", 2, "or pass --max-nodes 2500 to draw it anyway"),
    (["render", "x*2", "--set", "x=1", "-o", "{folder}/ok.svg", "--walkthrough",
      "{folder}/dir.html"], "", 2, "dir.html: it is a folder"),
    (["gradcheck", "x*2", "--set", "x=1e11"], "", 2,
     "eps=1e-06 is too small for input x=100000000000.0"),
    (["gradcheck", "x*1e200*1e200", "--set", "x=1e-300"], "", 2, "gradient of"),
])
def test_each_hostile_input_of_the_issue_ends_in_one_clear_line(tmp_path, argv, stdin, code,
                                                                 message):
    (tmp_path / "ok.svg").write_text("the old picture")
    (tmp_path / "dir.html").mkdir()
    argv = [word.replace("{folder}", str(tmp_path)) for word in argv]
    assert run(argv, tmp_path, stdin, message) == code  # run() checks nothing was written
    assert (tmp_path / "ok.svg").read_text() == "the old picture"


@pytest.mark.parametrize("argv, message", [
    (["render", DEEP_CALL, "--set", "x=1", "-o", "g.dot"], "calling an expression"),
    (["gradcheck", "x*2", "--set", "x=1e11"], "is too small for input x"),
    (["render", "-f", "/dev/zero", "-o", "g.dot"], "longer than the limit"),
])
def test_the_installed_command_prints_the_line_too(tmp_path, argv, message):
    import subprocess

    result = subprocess.run([sys.executable, "-m", "tinygrad_edu", *argv], capture_output=True,
                            text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert list(tmp_path.iterdir()) == []
