"""tinygrad_edu.train: the training loop, the σ(z) − y check, and `tinygrad-edu train`."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import runpy
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from tinygrad_edu import Value, cli, train
from tinygrad_edu.data import make_blobs, make_circles, make_moons, make_spiral, make_xor
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import SGD, Adam
from tinygrad_edu.train import (
    TOLERANCE,
    OutputGradientError,
    check_sigmoid_bce_gradient,
    check_softmax_ce_gradient,
    evaluate,
    example_loss,
    fit,
    traceable_loss,
)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------- accuracy targets
# Each target with a fixed seed, on the smallest network and fewest Adam steps
# that reach it with some room to spare, to keep `make test` fast.
@pytest.mark.parametrize("make, hidden, steps, target", [
    (make_moons, [8, 8], 60, 0.97),
    (make_circles, [8, 8], 50, 0.95),
    (make_xor, [8, 8], 50, 0.95),
    (make_spiral, [16, 16], 70, 0.90),
], ids=["moons", "circles", "xor", "spiral"])
def test_a_small_network_learns_each_data_set(make, hidden, steps, target):
    X, y = make(n_samples=100, seed=0)
    model = MLP(2, [*hidden, 1], seed=0)
    fit(model, X, y, Adam(model.parameters(), lr=0.05), loss="bce", steps=steps)
    _, accuracy = evaluate(model, X, y, "bce")
    assert accuracy >= target


def test_micrograds_setting_learns_the_moons_too():
    # moons with noise 0.1, two hidden layers, the hinge loss and plain SGD
    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], seed=0)
    fit(model, X, y, SGD(model.parameters(), lr=0.5), loss="hinge", steps=70)
    assert evaluate(model, X, y, "hinge")[1] >= 0.97


def test_the_multi_class_loss_learns_three_blobs():
    X, y = make_blobs(n_samples=60, centers=3, seed=0)
    model = MLP(2, [8, 3], seed=0)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), loss="ce", steps=30)
    assert history.losses[-1] < history.losses[0] / 4
    assert evaluate(model, X, y, "ce")[1] >= 0.95


# ------------------------------------------------------- the σ(z) − y check
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dl_dz_is_sigma_minus_y_over_n_on_every_example(seed):
    X, y = make_moons(n_samples=50, seed=seed)
    model = MLP(2, [8, 1], seed=seed)
    check = check_sigmoid_bce_gradient(model, X, y)
    assert check.examples == 50 and check.skipped == 0
    assert check.max_abs_difference <= TOLERANCE
    assert all(p.grad == 0.0 for p in model.parameters())  # the check cleans up after itself

    fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=20, seed=seed)
    assert check_sigmoid_bce_gradient(model, X, y).max_abs_difference <= TOLERANCE


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dl_dz_is_softmax_minus_onehot_over_n_for_every_logit(seed):
    X, y = make_spiral(n_samples=45, n_classes=3, seed=seed)
    model = MLP(2, [8, 3], seed=seed)
    check = check_softmax_ce_gradient(model, X, y)
    assert check.examples == 45
    assert check.max_abs_difference <= TOLERANCE


def test_the_check_fails_loudly_when_a_derivative_is_wrong(monkeypatch):
    def sloppy_sigmoid(z: Value) -> Value:
        # the right value, but a derivative 0.01 too large: adds 0.01 * (z - z.data) = 0
        return (1 + (-z).exp()) ** -1 + 0.01 * (z - z.data)

    monkeypatch.setattr(Value, "sigmoid", sloppy_sigmoid)
    X, y = make_moons(n_samples=20, seed=0)
    with pytest.raises(OutputGradientError, match="backprop is wrong"):
        check_sigmoid_bce_gradient(MLP(2, [4, 1], seed=0), X, y)


def test_saturated_outputs_are_left_out_of_the_check_and_counted():
    X, y = make_moons(n_samples=20, seed=0)
    model = MLP(2, [4, 1], seed=0)
    # Spread the logits and centre them on 36.7, where σ(z) starts to round to exactly 1.0.
    output = model.layers[-1].neurons[0]
    for w in output.w:
        w.data *= 20.0
    logits = sorted(model(x).data for x in X)
    output.b.data = 36.7 - logits[10]
    saturated = sum(model(x).sigmoid().data == 1.0 for x in X)
    assert 0 < saturated < 20
    check = check_sigmoid_bce_gradient(model, X, y)
    assert check.skipped == saturated and check.examples == 20 - saturated
    assert check.max_abs_difference <= TOLERANCE
    assert "left out" in str(check)


# ------------------------------------------------------------------- fit
def test_fit_records_a_loss_and_accuracy_per_step_and_mini_batches_are_seeded():
    X, y = make_moons(n_samples=40, seed=0)
    runs = []
    for _ in range(2):
        model = MLP(2, [4, 1], seed=0)
        history = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=5,
                      batch_size=10, seed=3)
        runs.append(history.losses)
        assert history.steps == 5 and len(history.accuracies) == 5
        assert all(a in {k / 10 for k in range(11)} for a in history.accuracies)
    assert runs[0] == runs[1]


def test_a_history_shown_in_a_cell_is_one_short_summary():
    X, y = make_moons(n_samples=40, seed=0)
    model = MLP(2, [4, 1], seed=0)
    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=200, progress=False)
    summary = repr(history)
    first, last = history.losses[0], history.losses[-1]
    assert summary == (f"History(200 steps in {history.seconds:.1f} s: "
                       f"loss {first:.4g} → {last:.4g}, accuracy "
                       f"{history.accuracies[0]:.0%} → {history.accuracies[-1]:.0%})")
    assert len(summary) < 100  # not the 400 numbers it holds
    assert "no steps completed" in repr(type(history)())


def test_ctrl_c_in_fit_stops_cleanly_and_keeps_what_was_learned():
    X, y = make_moons(n_samples=40, seed=0)
    model = MLP(2, [4, 1], seed=0)
    before = [p.data for p in model.parameters()]

    def interrupt_at_step_3(step: int, loss: float, accuracy: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    history = fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=1000,
                  callback=interrupt_at_step_3)
    assert history.interrupted and history.steps == 4
    assert [p.data for p in model.parameters()] != before


def test_fit_refuses_labels_that_do_not_suit_the_loss():
    X, y = make_spiral(n_samples=30, n_classes=3, seed=0)
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="loss 'bce' is for two classes.*label is 2.*'ce'"):
        fit(model, X, y, Adam(model.parameters()), loss="bce")


@pytest.mark.parametrize("compile", [False, "python"])
@pytest.mark.parametrize("make, outputs, loss, message", [
    (make_moons, 1, "ce",
     r"loss 'ce' needs one model output per class, got a model with 1 output for 2 classes; "
     r"give its last layer 2 units, as MLP\(2, \[16, 2\]\), or use loss 'bce'"),
    (lambda **kw: make_blobs(centers=3, **kw), 2, "ce",
     r"needs one model output per class, got a model with 2 outputs for 3 classes; "
     r"give its last layer 3 units"),
    (make_moons, 2, "bce",
     r"loss 'bce' needs a model whose output is one logit Value, got a list of 2 outputs; "
     r"give its last layer 1 unit, as MLP\(2, \[16, 1\]\), or use loss 'ce'"),
    (make_moons, 3, "hinge", r"loss 'hinge' needs a model whose output is one logit Value, "
                             r"got a list of 3 outputs"),
])
def test_fit_refuses_a_model_whose_outputs_do_not_suit_the_loss(make, outputs, loss, message,
                                                                compile):
    X, y = make(n_samples=30, seed=0)
    model = MLP(2, [4, outputs], seed=0)
    before = [p.data for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        fit(model, X, y, SGD(model.parameters(), lr=0.1), loss=loss, steps=2, compile=compile)
    assert [p.data for p in model.parameters()] == before  # refused before any step


def test_fit_refuses_empty_or_unequal_data_as_the_plots_do():
    model = MLP(2, [4, 1], seed=0)
    for X, y, counts in (([], [], "0 points and 0 labels"), ([[0.0, 1.0]], [0, 1],
                                                              "1 points and 2 labels")):
        with pytest.raises(ValueError, match=f"X and y must be non-empty and of the same "
                                             f"length, got {counts}"):
            fit(model, X, y, SGD(model.parameters(), lr=0.1))


# ------------------------------------------------------- tinygrad-edu train
SMALL = ["--samples", "40", "--hidden", "4", "--steps", "15"]


def test_the_train_command_writes_plots_and_a_summary(tmp_path, capsys):
    out = tmp_path / "train"
    assert cli.main(["train", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "check before training: dL/dz vs (σ(z) − y)/N" in printed.out
    assert printed.err == ""  # stderr is captured, not a terminal: no progress bar
    for name in ("decision_boundary", "loss_curve"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert "<svg" in (out / f"{name}.svg").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 15 and summary["interrupted"] is False
    assert summary["parameters"] == 4 * 3 + 5
    assert 0.0 <= summary["accuracy"] <= 1.0 and summary["final_loss"] > 0.0
    assert summary["seconds"] > 0.0
    check = summary["output_gradient_check"]["before_training"]
    assert check["examples"] == 40 and check["max_abs_difference"] <= TOLERANCE


def test_the_train_command_checks_softmax_for_several_classes(tmp_path, capsys):
    argv = ["train", "--dataset", "blobs", "--classes", "3", "--loss", "ce", "--samples", "30",
            "--hidden", "4", "--steps", "5", "--optimizer", "sgd", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert "(softmax(z) − onehot(y))/N" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["classes"] == 3 and summary["parameters"] == 4 * 3 + 3 * 5


def test_the_train_command_reads_a_csv(tmp_path):
    data = tmp_path / "mine.csv"
    data.write_text("x1,x2,label\n" + "".join(
        f"{x1},{x2},{label}\n" for (x1, x2), label in zip(*make_xor(n_samples=20, seed=1))))
    assert cli.main(["train", "--data", str(data), "--hidden", "4", "--steps", "3",
                     "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["data"] == str(data) and summary["samples"] == 20


@pytest.mark.parametrize("argv, message", [
    (["--hidden", "16,x"], "--hidden '16,x': expected layer sizes like 16,16"),
    (["--lr", "0"], "--lr 0.0: the learning rate must be > 0"),
    (["--steps", "-1"], "--steps -1: must be >= 0"),
    (["--dataset", "spiral", "--classes", "3"],
     "--loss bce is for two classes, but the data has 3"),
    (["--dataset", "moons", "--classes", "3"], "--classes is for spiral and blobs"),
    (["--samples", "1"], "n_samples (at least one point per class, 2 classes) must be"),
    (["--data", "no/such/file.csv"], "--data no/such/file.csv: cannot read it"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, argv, message):
    assert cli.main(["train", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "summary.json").exists()


def test_a_malformed_csv_is_a_one_line_error_naming_the_line(tmp_path, capsys):
    data = tmp_path / "bad.csv"
    data.write_text("0.1,0.2,0\n0.3,0.4\n")
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path)]) == 2
    assert "bad.csv, line 2: expected 3 values" in capsys.readouterr().err


def test_options_argparse_refuses_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train", "--dataset", "moons", "--data", "x.csv"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


class Terminal:
    """A pseudo-terminal, 80 columns wide, to give a command as its stderr; what it shows."""

    def __init__(self) -> None:
        self.controller, self.stderr = pty.openpty()
        fcntl.ioctl(self.stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()  # read all the time, so the command never waits on a full pty

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:  # EIO: the command's end is closed
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def started(self) -> None:
        """Close this process's copy of the command's end, once the command holds its own."""
        os.close(self.stderr)

    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    def finished(self) -> str:
        """Everything the command showed, once it has exited."""
        self._reader.join(timeout=10)
        os.close(self.controller)
        return self.text()


def _train_in_terminal(tmp_path, out, steps: str) -> tuple[subprocess.Popen, Terminal]:
    """`tinygrad-edu train` in a subprocess whose stderr is a terminal, as for a person."""
    terminal = Terminal()
    command = [sys.executable, "-m", "tinygrad_edu", "train", "--samples", "40", "--hidden", "4",
               "--steps", steps, "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=terminal.stderr,
                               text=True, cwd=tmp_path)
    terminal.started()
    return process, terminal


def _start_training(tmp_path, out):
    """A long `tinygrad-edu train` in a terminal, once its progress bar shows a step done."""
    process, terminal = _train_in_terminal(tmp_path, out, "1000000")
    deadline = time.monotonic() + 60
    while not re.search(r"\| *[1-9]\d*/1000000", terminal.text()):
        assert process.poll() is None and time.monotonic() < deadline, terminal.text()
        time.sleep(0.05)
    return process, terminal


def test_ctrl_c_stops_the_command_cleanly_and_still_writes_the_outputs(tmp_path):
    out = tmp_path / "out"
    process, terminal = _start_training(tmp_path, out)
    try:
        process.send_signal(signal.SIGINT)  # once the progress bar shows some steps done
        stdout, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    errors = terminal.finished()
    assert process.returncode == 130, errors
    assert "interrupted after" in stdout and "Traceback" not in errors
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["interrupted"] is True and 0 < summary["steps"] < 1000000
    assert (out / "decision_boundary.png").exists() and (out / "loss_curve.svg").exists()


def test_in_a_terminal_the_command_draws_its_bar_and_leaves_it_finished(tmp_path):
    process, terminal = _train_in_terminal(tmp_path, tmp_path / "out", "30")
    try:
        stdout, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    shown = terminal.finished()
    assert process.returncode == 0, shown
    assert "\r" in shown and "30/30" in shown and "loss=" in shown  # redrawn in place
    assert "wrote " in stdout


@pytest.mark.parametrize("destination", ["file", "pipe"])
@pytest.mark.parametrize("argv, code, lines", [
    ([], 0, []),
    (["--lr", "1e300"], 1, ["FAILED at step 2: dot("]),
], ids=["success", "overflow"])
def test_into_a_file_or_a_pipe_the_command_draws_no_bar(tmp_path, destination, argv, code,
                                                        lines):
    command = [sys.executable, "-m", "tinygrad_edu", "train", "--samples", "40", "--hidden", "4",
               "--steps", "5", *argv, "--out", str(tmp_path / "out")]
    if destination == "file":
        with open(tmp_path / "log.txt", "w", encoding="utf-8") as log:
            result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=log,
                                    cwd=tmp_path, timeout=120)
        err = (tmp_path / "log.txt").read_text(encoding="utf-8")
    else:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path, timeout=120)
        err = result.stderr
    assert result.returncode == code, err
    assert "\r" not in err and "step/s" not in err  # no bar, not even its last line
    assert len(err.splitlines()) == len(lines), err
    assert all(text in line for text, line in zip(lines, err.splitlines()))


OUTPUTS = ["decision_boundary.png", "decision_boundary.svg", "loss_curve.png", "loss_curve.svg",
           "summary.json"]


@pytest.mark.slow
@pytest.mark.parametrize("presses, gap", [(2, 0.5), (2, 0.05), (6, 0.1)],
                         ids=["second-after-half-a-second", "second-at-once", "six"])
def test_any_number_of_ctrl_c_ends_with_every_output_or_none(tmp_path, presses, gap):
    out = tmp_path / "out"
    process, terminal = _start_training(tmp_path, out)
    try:
        for _ in range(presses):
            process.send_signal(signal.SIGINT)
            time.sleep(gap)
        stdout, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    errors = terminal.finished()
    assert process.returncode == 130 and "Traceback" not in errors, errors
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if written:  # complete and valid outputs of what was learned...
        assert written == OUTPUTS, written
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["interrupted"] is True and summary["steps"] > 0
        assert (out / "loss_curve.png").read_bytes().startswith(b"\x89PNG")
    else:  # ...or nothing at all, and it says so
        assert "nothing written" in errors and not out.exists()


def _ctrl_c_while_matplotlib_loads(*_args):
    """What a compiled extension module does with a Ctrl-C pressed while it loads."""
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as pressed:
        raise ImportError("initialization failed") from pressed


@pytest.mark.parametrize("cause, code, said", [
    (_ctrl_c_while_matplotlib_loads, 130,
     "tinygrad-edu train: interrupted while drawing the plots; nothing written"),
    (lambda *_: __import__("no_such_module_anywhere"), 3,
     "internal error (a bug, please report it): ModuleNotFoundError"),
], ids=["caused-by-ctrl-c", "a-real-import-error"])
def test_a_ctrl_c_that_arrives_as_an_import_error_is_still_a_ctrl_c(tmp_path, capsys,
                                                                     monkeypatch, cause, code,
                                                                     said):
    monkeypatch.setattr(cli.train, "_draw_outputs", cause)
    out = tmp_path / "out"
    assert cli.main(["train", "--samples", "20", "--hidden", "2", "--steps", "2",
                     "--out", str(out)]) == code
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err, err
    assert not out.exists()  # nothing written, and the folder it made is gone again


def test_caused_by_ctrl_c_follows_causes_and_contexts_and_stops_on_a_cycle():
    from tinygrad_edu.cli.arguments import caused_by_ctrl_c

    plain = ValueError("plain")
    assert not caused_by_ctrl_c(plain)
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__context__, second.__context__ = second, first  # a cycle, as Python allows
    assert not caused_by_ctrl_c(first)
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise OSError("while handling it")  # noqa: B904 (a context, not a cause, on purpose)
    except OSError as problem:
        assert caused_by_ctrl_c(problem)


@pytest.mark.parametrize("make_out, message", [
    (lambda tmp: tmp.joinpath("file.txt"), "it is a file, not a folder"),
    (lambda tmp: tmp.joinpath("file.txt", "below"), "file.txt is a file, not a folder"),
], ids=["an-existing-file", "below-a-file"])
def test_a_bad_out_fails_before_training(tmp_path, capsys, make_out, message):
    (tmp_path / "file.txt").write_text("keep me")
    started = time.monotonic()
    code = cli.main(["train", "--samples", "40", "--steps", "100000", "--out",
                     str(make_out(tmp_path))])
    assert code == 2 and time.monotonic() - started < 5  # no 100,000 steps first
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert (tmp_path / "file.txt").read_text() == "keep me"


def test_an_unwritable_out_folder_fails_before_training(tmp_path, capsys, monkeypatch):
    # As root a read-only folder still takes files, so the folder refuses by stand-in:
    # the probe file the command makes there fails the way a read-only folder would.
    import tinygrad_edu.cli.train as train_command

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train_command.tempfile, "TemporaryFile", read_only)
    out = tmp_path / "new" / "out"
    assert cli.main(["train", "--samples", "40", "--steps", "100000", "--out", str(out)]) == 2
    assert "--out " + str(out) + ": cannot write there: Permission denied" in \
        capsys.readouterr().err
    assert not (tmp_path / "new").exists()  # the folders it made are gone again


@pytest.mark.parametrize("argv, message", [
    (["--lr", "1e300"], "FAILED at step 2: dot("),
    (["--noise", "1e300", "--hidden", "16,16"], "FAILED before training: every output is"),
])
def test_overflowing_training_fails_in_one_line_and_writes_nothing(tmp_path, capsys, argv,
                                                                   message):
    out = tmp_path / "out"
    assert cli.main(["train", "--samples", "40", "--hidden", "4", "--steps", "3", *argv,
                     "--out", str(out)]) == 1
    err = capsys.readouterr().err  # the one line that says why (no bar: not a terminal)
    assert err.count("\n") == 1 and "\r" not in err
    assert message in err and err.endswith("nothing written\n") and "Traceback" not in err
    assert not out.exists()


def test_overwriting_outputs_keeps_their_mode(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["train", *SMALL, "--out", str(out)]) == 0
    (out / "summary.json").chmod(0o600)
    assert cli.main(["train", *SMALL, "--out", str(out)]) == 0
    assert (out / "summary.json").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS  # no temporary file left


def test_evaluate_and_the_checks_in_chunks_agree_with_one_pass(monkeypatch):
    import tinygrad_edu.train as train

    X, y = make_moons(n_samples=50, seed=3)
    model = MLP(2, [4, 1], seed=0)
    whole = evaluate(model, X, y, "bce"), check_sigmoid_bce_gradient(model, X, y)
    monkeypatch.setattr(train, "CHUNK_SIZE", 7)  # 8 chunks, the last one short
    chunked = evaluate(model, X, y, "bce"), check_sigmoid_bce_gradient(model, X, y)
    assert chunked[0] == whole[0]  # the same sum, example by example
    assert chunked[1].examples == whole[1].examples == 50
    assert chunked[1].max_abs_difference <= TOLERANCE
    ce_model = MLP(2, [4, 3], seed=0)
    X3, y3 = make_blobs(n_samples=30, centers=3)
    assert check_softmax_ce_gradient(ce_model, X3, y3).examples == 30


def test_a_huge_full_batch_is_refused_before_it_fills_memory(tmp_path, capsys, monkeypatch):
    import tinygrad_edu.cli.train as train_command

    monkeypatch.setattr(train_command, "MAX_FULL_BATCH", 30)
    assert cli.main(["train", "--samples", "40", "--out", str(tmp_path / "out")]) == 2
    assert "give a batch size up to 30, e.g. --batch-size 32" in capsys.readouterr().err


# ------------------------------------------------------------------ the demo
def test_the_classifier_demo_prints_the_checks_and_writes_the_plots(tmp_path, capsys):
    demo = runpy.run_path(str(ROOT / "demos" / "train_classifier.py"))
    result = demo["main"](["--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert result["dl_dz2"] == pytest.approx(result["a2_minus_y"], abs=1e-12)
    assert printed.count("dL/dz vs (σ(z) − y)/N") == 2
    assert "dL/dz vs (softmax(z) − onehot(y))/N" in printed
    assert all(check.max_abs_difference <= TOLERANCE for check in result["checks"].values())
    assert result["checks"]["after"].examples == 100  # no output saturated
    assert result["accuracy"] == 1.0 and "training accuracy 100%" in printed
    assert all(path.stat().st_size > 0 for path in result["pictures"])


def test_the_classifier_demo_refuses_a_bad_step_count_in_one_line(capsys):
    demo = runpy.run_path(str(ROOT / "demos" / "train_classifier.py"))
    with pytest.raises(SystemExit) as stop:
        demo["main"](["--steps", "0"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--steps must be at least 1, got 0" in err


# ------------------------------------------------------------ compiled training
@pytest.mark.parametrize("loss, make, outputs, batch_size", [
    ("bce", make_moons, 1, 0), ("hinge", make_moons, 1, 0), ("mse", make_moons, 1, 8),
    ("ce", lambda **kw: make_spiral(n_classes=3, **kw), 3, 0),
])
@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_compiled_training_follows_eager_training(loss, make, outputs, batch_size, backend):
    # SGD, not Adam: Adam divides by |grad|, so a gradient that cancels to about 1e-17 takes
    # a full step whichever way rounding tips it, and two runs drift apart for that alone.
    X, y = make(n_samples=30, seed=0)
    histories = []
    for compile in (False, backend):
        model = MLP(2, [6, outputs], seed=0)
        histories.append(fit(model, X, y, SGD(model.parameters(), lr=0.2), loss=loss,
                             steps=6, batch_size=batch_size, compile=compile))
    eager, traced = histories
    assert traced.losses == pytest.approx(eager.losses, rel=1e-12, abs=1e-12)
    assert traced.accuracies == eager.accuracies


def test_a_long_compiled_fit_compiles_a_big_graph_up_front_a_short_one_starts_on_its_tape(
        monkeypatch):
    from tinygrad_edu.tracing import python_backend
    from tinygrad_edu.tracing.program import Program

    monkeypatch.setattr(python_backend, "TAPE_STEPS", 6)  # every graph here is a big one
    asked = []
    compile_now = Program.compile
    monkeypatch.setattr(Program, "compile", lambda self: asked.append(self) or compile_now(self))
    X, y = make_moons(n_samples=20, seed=0)
    histories = []
    for steps in (train.COMPILE_UP_FRONT_STEPS - 1, train.COMPILE_UP_FRONT_STEPS):
        asked.clear()
        model = MLP(2, [4, 1], seed=0)
        histories.append(fit(model, X, y, SGD(model.parameters(), lr=0.2), steps=steps,
                             compile="python"))
        assert len(asked) == (steps >= train.COMPILE_UP_FRONT_STEPS)
    if asked:
        assert asked[0].backend.compiled
    short, long = histories
    # on the tape or compiled, the same numbers to the bit
    assert long.losses[:len(short.losses)] == short.losses


def test_traceable_bce_has_the_gradient_sigma_minus_y_at_zero_too():
    for z_value in (-40.0, -1.0, 0.0, 2.0, 40.0):
        z = Value(z_value)
        loss = traceable_loss(z, Value(1.0), "bce")
        loss.backward()
        sigma = 1.0 / (1.0 + 2.718281828459045 ** -z_value)
        assert z.grad == pytest.approx(sigma - 1.0, abs=1e-15)
        assert loss.data == pytest.approx(example_loss(Value(z_value), 1, "bce").data, rel=1e-15)


def test_the_train_command_compiles(tmp_path, capsys):
    code = cli.main(["train", "--dataset", "moons", "--hidden", "8", "--steps", "20",
                     "--compile", "--out", str(tmp_path)])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["compile"] == "auto" and summary["steps"] == 20
    assert "compiled (auto backend)" in capsys.readouterr().out


def test_the_classifier_demo_trains_compiled(tmp_path, capsys):
    demo = runpy.run_path(str(ROOT / "demos" / "train_classifier.py"))
    result = demo["main"](["--out", str(tmp_path), "--compile"])
    assert result["accuracy"] == 1.0
    assert "traced once and replayed (--compile)" in capsys.readouterr().out
