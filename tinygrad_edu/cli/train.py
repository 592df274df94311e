"""`tinygrad-edu train`: train an MLP on a 2-feature data set, check σ(z) − y, and plot it.

    tinygrad-edu train --dataset moons --hidden 16,16 --steps 200 --out out/train

A thin layer over `tinygrad_edu.train` (`fit`, `evaluate`, the output-gradient
check), `tinygrad_edu.data` and the plots of `tinygrad_edu.viz.plots`. Exit
code 0 on success, 1 when the σ(z) − y check fails or the numbers overflow
(too large a learning rate or data), 2 for bad options, 130 when Ctrl-C
stopped training (what was learned is still written). The progress bar is
drawn only when stderr is a terminal: a log file or a pipe gets plain lines.

Nothing is written until everything is ready: the --out folder is checked
before training, the plots and summary are drawn in memory, and then all the
files are renamed into place at once. A second Ctrl-C before that point exits
with 130 and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Union

from tinygrad_edu import data
from tinygrad_edu.cli.arguments import UsageError, caused_by_ctrl_c
from tinygrad_edu.nn import ACTIVATIONS, MLP, Model
from tinygrad_edu.optim import SGD, Adam, Optimizer
from tinygrad_edu.tracing import TraceMismatch
from tinygrad_edu.train import (
    LOSSES,
    History,
    OutputGradientError,
    check_output_gradient,
    evaluate,
    fit,
    probabilities,
)
from tinygrad_edu.viz.renderer import write_all_atomically

DATASETS = ("moons", "circles", "xor", "spiral", "blobs")
MAX_PARAMETERS = 1_000_000  # far above what a scalar engine trains in reasonable time
MAX_PLOTTED = 2_000  # points drawn on the decision boundary
# A full-batch step holds the graph of every example at once (about 1 kB each for 16,16).
MAX_FULL_BATCH = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu train`."""
    source = parser.add_mutually_exclusive_group()
    # No default here: argparse only sees --dataset and --data clash when --dataset is given.
    source.add_argument("--dataset", choices=DATASETS,
                        help="a generated 2-feature data set (default: moons)")
    source.add_argument("--data", metavar="CSV",
                        help="your own data instead: lines of x1,x2,label")
    parser.add_argument("--samples", type=int, default=100, metavar="N",
                        help="points to generate (default: 100)")
    parser.add_argument("--noise", type=float, default=None, metavar="STD",
                        help="std of the noise on the generated points (default: the data set's)")
    parser.add_argument("--classes", type=int, default=None, metavar="K",
                        help="classes for spiral (default 2) and blobs (default 3)")
    parser.add_argument("--hidden", default="16,16", metavar="SIZES",
                        help="hidden layer sizes, comma-separated; 'none' for no hidden layer "
                             "(logistic regression) (default: 16,16)")
    parser.add_argument("--activation", choices=[name for name in ACTIVATIONS if name != "linear"],
                        default="relu",
                        help="activation of the hidden layers (default: relu)")
    parser.add_argument("--loss", choices=LOSSES, default="bce",
                        help="; ".join(f"{loss.name}: {loss.summary}" for loss in LOSSES.values())
                        + " (default: bce)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="adam",
                        help="default: adam")
    parser.add_argument("--lr", type=float, default=0.05, metavar="RATE",
                        help="learning rate (default: 0.05)")
    parser.add_argument("--steps", type=int, default=200, metavar="N",
                        help="optimizer steps (default: 200)")
    parser.add_argument("--batch-size", type=int, default=0, metavar="N",
                        help="examples per step; 0 = all of them (default: 0)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seeds the data, the initial weights and the batches (default: 0)")
    parser.add_argument("--compile", nargs="?", const="auto", choices=("auto", "python", "numpy"),
                        help="trace one step once and replay it on every batch (much faster); "
                             "the backend: numpy if installed (auto), or python")
    parser.add_argument("--out", default="out/train", metavar="DIR",
                        help="folder for the plots and summary.json (default: out/train)")
    parser.add_argument("--export-torch", metavar="FILE.pt",
                        help="also save the trained model for PyTorch: its state_dict, and "
                             "a script beside it (FILE.py) that rebuilds and loads it "
                             "(needs pip install 'tinygrad_edu[torch]')")
    parser.add_argument("--film", metavar="HTML",
                        help="also write the training film, one page to scrub through "
                             "training (e.g. out/film.html)")


def parse_hidden(text: str) -> list[int]:
    """'16,16' -> [16, 16]; '' or 'none' -> [] (no hidden layer: logistic regression)."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(not 1 <= size <= MAX_PARAMETERS for size in sizes):
        raise ValueError(f"--hidden {text!r}: expected layer sizes like 16,16 "
                         f"(whole numbers >= 1), or '' for no hidden layer")
    return sizes


def _load_data(args: argparse.Namespace) -> tuple[list[list[float]], list[int], str]:
    """The data the arguments ask for, and a name for it."""
    if args.data is not None:
        try:
            X, y = data.load_csv(args.data, classes=None if LOSSES[args.loss].per_class else 2)
        except OSError as problem:
            raise ValueError(f"--data {args.data}: cannot read it: "
                             f"{problem.strerror or problem}") from None
        return X, y, args.data
    if not 0 < args.samples <= data.MAX_ROWS:
        raise ValueError(f"--samples {args.samples}: give a number of points from the number "
                         f"of classes to {data.MAX_ROWS}")
    dataset = args.dataset or "moons"
    options: dict = {"n_samples": args.samples, "seed": args.seed}
    if args.noise is not None:
        options["noise"] = args.noise
    if args.classes is not None:
        if dataset == "spiral":
            options["classes"] = args.classes
        elif dataset == "blobs":
            options["centers"] = args.classes
        else:
            raise ValueError(f"--classes is for spiral and blobs; {dataset} has 2 classes")
    generator = getattr(data, f"make_{dataset}")
    X, y = generator(**options)
    return X, y, dataset


def _build(args: argparse.Namespace, classes: int, examples: int) -> tuple[MLP, Optimizer]:
    """The model and optimizer the arguments ask for."""
    if not LOSSES[args.loss].per_class and classes != 2:
        raise ValueError(f"--loss {args.loss} is for two classes, but the data has {classes}; "
                         f"use --loss ce")
    if args.steps < 0:
        raise ValueError(f"--steps {args.steps}: must be >= 0")
    if args.batch_size < 0:
        raise ValueError(f"--batch-size {args.batch_size}: must be >= 0 (0 = all examples)")
    if not 0 < args.lr < math.inf:
        raise ValueError(f"--lr {args.lr}: the learning rate must be > 0")
    if (args.batch_size == 0 or args.batch_size >= examples) and examples > MAX_FULL_BATCH:
        raise ValueError(f"--batch-size {args.batch_size}: a step on all {examples} points "
                         f"would hold the graph of every one in memory; give a batch size "
                         f"up to {MAX_FULL_BATCH}, e.g. --batch-size 32")
    outputs = classes if LOSSES[args.loss].per_class else 1
    sizes = [2, *parse_hidden(args.hidden), outputs]
    count = sum((nin + 1) * nout for nin, nout in zip(sizes, sizes[1:]))
    if count > MAX_PARAMETERS:
        raise ValueError(f"--hidden {args.hidden}: {count} parameters is more than "
                         f"{MAX_PARAMETERS}; a scalar engine would take days")
    model = MLP(2, sizes[1:], activation=args.activation, seed=args.seed)
    if args.optimizer == "adam":
        return model, Adam(model.parameters(), lr=args.lr)
    return model, SGD(model.parameters(), lr=args.lr)


def run(args: argparse.Namespace) -> int:
    """`tinygrad-edu train`: train, check σ(z) − y, write plots and summary.json; exit code."""
    try:
        X, y, name = _load_data(args)
        classes = max(y) + 1
        model, optimizer = _build(args, classes, len(X))
        if args.film is not None:
            _check_film(args.film, model)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    out = Path(args.out)
    created = _prepare_folder(out)  # before any long work: a bad --out fails fast
    try:
        if args.export_torch is not None:
            created += _prepare_torch_export(Path(args.export_torch))
        code = _train_and_write(args, model, optimizer, X, y, name, classes, out)
    except BaseException:
        _remove_empty(created)
        raise
    if code not in (0, 130) or not any(out.iterdir()):
        _remove_empty(created)
    return code


def _train_and_write(args: argparse.Namespace, model: MLP, optimizer: Optimizer,
                     X: list[list[float]], y: list[int], name: str, classes: int,
                     out: Path) -> int:
    """Check, train, check again, then write every output at once; the exit code."""
    parameters = len(model.parameters())
    print(f"{model} with {parameters} parameters on {name} ({len(X)} points, {classes} classes)")
    print(f"loss {args.loss}, {args.optimizer} lr {args.lr:g}, {args.steps} steps, "
          f"batch size {args.batch_size or len(X)}"
          + (f", compiled ({args.compile} backend)" if args.compile else ""))

    checks = {}
    steps_done = [0]
    phase = "before training"
    try:
        before = check_output_gradient(model, X, y, args.loss)
        if before is not None:
            checks["before_training"] = before
            print(f"check before training: {before}")
        phase = "while training"
        compile_as = True if args.compile == "auto" else (args.compile or False)
        history = fit(model, X, y, optimizer, loss=args.loss, steps=args.steps,
                      batch_size=args.batch_size, seed=args.seed,
                      # progress=None: a bar in a terminal, none into a file or a pipe
                      callback=lambda step, loss, accuracy: steps_done.__setitem__(0, step + 1),
                      compile=compile_as, record=args.film is not None)
        if history.interrupted:
            print(f"interrupted after {history.steps} of {args.steps} steps; "
                  f"writing what was trained so far")
        phase = "after training"
        final_loss, accuracy = evaluate(model, X, y, args.loss)
        after = check_output_gradient(model, X, y, args.loss)
        if after is not None:
            checks["after_training"] = after
            print(f"check after training:  {after}")
        print(f"final loss {final_loss:.4f}, accuracy {accuracy:.1%} "
              f"({history.steps} steps in {history.seconds:.1f} s)")
        summary = {
            "data": name, "samples": len(X), "classes": classes,
            "model": repr(model), "parameters": parameters,
            "loss": args.loss, "optimizer": args.optimizer, "lr": args.lr,
            "batch_size": args.batch_size, "seed": args.seed, "compile": args.compile,
            "steps": history.steps, "steps_requested": args.steps,
            "interrupted": history.interrupted,
            "final_loss": final_loss, "accuracy": accuracy, "seconds": history.seconds,
            "output_gradient_check": {when: asdict(check) for when, check in checks.items()},
        }
        phase = "while drawing the plots"
        contents = _draw_outputs(out, model, X, y, history, _title(args, name, accuracy))
        contents[out / "summary.json"] = json.dumps(summary, indent=2) + "\n"
        if args.export_torch is not None:
            from tinygrad_edu.torch import export_files  # PyTorch loads only when asked for

            contents.update(export_files(model, args.export_torch))
        if args.film is not None:
            from tinygrad_edu.viz.film import film  # loads only when a film is asked for

            movie = film(model, X, y, history, title=_title(args, name, accuracy))
            contents[Path(args.film)] = movie.html
            for note in movie.notes:  # what was thinned to keep the page small
                print(f"film: {note}")
    except (OutputGradientError, TraceMismatch) as problem:
        print(f"tinygrad-edu train: FAILED: {problem}")
        return 1
    except (ArithmeticError, ValueError) as problem:  # an overflow, or every output saturated
        where = f"at step {steps_done[0] + 1}" if phase == "while training" else phase
        print(f"tinygrad-edu train: FAILED {where}: {problem}; try a smaller --lr, or data "
              f"of a smaller scale; nothing written", file=sys.stderr)
        return 1
    except BaseException as problem:  # a Ctrl-C after the one that ended training (while
        if not caused_by_ctrl_c(problem):  # matplotlib loads, it comes as an ImportError)
            raise
        print(f"tinygrad-edu train: interrupted {phase}; nothing written", file=sys.stderr)
        return 130
    try:
        with _interrupts_deferred() as pressed:  # renaming takes microseconds: finish it
            written = write_all_atomically(contents)
    except OSError as problem:
        raise UsageError(f"cannot write {problem.filename or out}: "
                         f"{problem.strerror or problem}") from None
    for path in written:
        print(f"wrote {path}")
    # 130: the shell's code for "stopped by Ctrl-C"
    return 130 if history.interrupted or pressed else 0


def _prepare_torch_export(path: Path) -> list[Path]:
    """Check --export-torch before training: PyTorch is there, a .pt file, a folder for it."""
    if path.suffix != ".pt":
        raise UsageError(f"--export-torch {path}: the file must end in .pt")
    try:
        import tinygrad_edu.torch  # noqa: F401
    except ImportError as missing:
        raise UsageError(f"--export-torch: {missing}") from None
    if path.is_dir():
        raise UsageError(f"--export-torch {path}: it is a folder")
    return _prepare_folder(path.parent, "--export-torch's folder")


def _check_film(path: str, model: MLP) -> None:
    """ValueError unless --film names an .html file and the film can draw the model."""
    if not path.lower().endswith((".html", ".htm")):
        raise ValueError(f"--film {path}: the film is an HTML page; give a name ending in .html")
    from tinygrad_edu.viz.film import check_filmable

    try:
        check_filmable(model)
    except ValueError as problem:
        raise ValueError(f"--film: {problem}") from None


def _title(args: argparse.Namespace, name: str, accuracy: float) -> str:
    hidden = parse_hidden(args.hidden)
    layers = f"hidden {','.join(map(str, hidden))} {args.activation}" if hidden \
        else "no hidden layer"
    return f"{name}: {layers}, {args.loss} loss, accuracy {accuracy:.1%}"


def _prepare_folder(out: Path, option: str = "--out") -> list[Path]:
    """Make the --out folder and prove it takes files; the folders made, to remove on failure."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out}: it is a file, not a folder")
    missing = []
    folder = out
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {out}: {folder} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass  # a file can be made there (os.access says yes to root even where it cannot)
    except OSError as problem:
        _remove_empty(list(reversed(missing)))
        raise UsageError(f"{option} {out}: cannot write there: "
                         f"{problem.strerror or problem}") from None
    return list(reversed(missing))


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders this command made, deepest first, if they are still empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def _interrupts_deferred():
    """Hold back Ctrl-C for the moment the outputs are renamed into place."""
    pressed: list[bool] = []  # one entry per Ctrl-C held back
    if threading.current_thread() is not threading.main_thread():
        yield pressed  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _draw_outputs(out: Path, model: Model, X: list[list[float]], y: list[int],
                  history: History, title: str) -> dict[Path, Union[bytes, str]]:
    """The decision boundary and the loss curve as PNG and SVG bytes, by the path they go to
    (the files to write: the summary and the film join them)."""
    from tinygrad_edu.viz import plots  # matplotlib loads only when there is something to draw

    X, y = _plotted_points(X, y)
    names = ["decision_boundary.png", "decision_boundary.svg"]
    if history.steps:
        names += ["loss_curve.png", "loss_curve.svg"]
    with tempfile.TemporaryDirectory() as drafts:
        draft = {name: Path(drafts) / name for name in names}
        plots.plot_decision_boundary(lambda point: probabilities(model(point)), X, y,
                                     [draft[name] for name in names[:2]], title=title)
        if history.steps:
            plots.plot_loss_curve(history.losses, history.accuracies,
                                  [draft[name] for name in names[2:]], title=title)
        return {out / name: draft[name].read_bytes() for name in names}


def _plotted_points(X: list[list[float]], y: list[int]) -> tuple[list, list]:
    """At most MAX_PLOTTED points, a fixed sample: a million dots would make a huge SVG."""
    if len(X) <= MAX_PLOTTED:
        return X, y
    chosen = sorted(random.Random(0).sample(range(len(X)), MAX_PLOTTED))
    return [X[i] for i in chosen], [y[i] for i in chosen]


__all__ = ["add_arguments", "run", "parse_hidden"]
