"""`tinygrad-edu train`: train an MLP on a 2-feature data set, check σ(z) − y, and plot it.

    tinygrad-edu train --dataset moons --hidden 16,16 --steps 200 --out out/train

A thin layer over `tinygrad_edu.train` (`fit`, `evaluate`, the output-gradient
check), `tinygrad_edu.data` and the plots of `tinygrad_edu.viz.plots`. Exit
code 0 on success, 1 when the σ(z) − y check fails, 2 for bad options, 130
when Ctrl-C stopped training (what was learned is still written).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from tinygrad_edu import data
from tinygrad_edu.cli.arguments import UsageError
from tinygrad_edu.nn import MLP, Module
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

DATASETS = ("moons", "circles", "xor", "spiral", "blobs")


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
    parser.add_argument("--activation", choices=("relu", "tanh", "sigmoid"), default="relu",
                        help="activation of the hidden layers (default: relu)")
    parser.add_argument("--loss", choices=LOSSES, default="bce",
                        help="bce: sigmoid output + binary cross-entropy (2 classes); "
                             "ce: softmax + cross-entropy; hinge; mse (default: bce)")
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


def parse_hidden(text: str) -> list[int]:
    """'16,16' -> [16, 16]; '' or 'none' -> [] (no hidden layer: logistic regression)."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or any(size < 1 for size in sizes):
        raise ValueError(f"--hidden {text!r}: expected layer sizes like 16,16 "
                         f"(whole numbers >= 1), or '' for no hidden layer")
    return sizes


def _load_data(args: argparse.Namespace) -> tuple[list[list[float]], list[int], str]:
    """The data the arguments ask for, and a name for it."""
    if args.data is not None:
        try:
            X, y = data.load_csv(args.data)
        except OSError as problem:
            raise ValueError(f"--data {args.data}: cannot read it: {problem.strerror}") from None
        return X, y, args.data
    dataset = args.dataset or "moons"
    options: dict = {"n_samples": args.samples, "seed": args.seed}
    if args.noise is not None:
        options["noise"] = args.noise
    if args.classes is not None:
        if dataset == "spiral":
            options["n_classes"] = args.classes
        elif dataset == "blobs":
            options["centers"] = args.classes
        else:
            raise ValueError(f"--classes is for spiral and blobs; {dataset} has 2 classes")
    generator = getattr(data, f"make_{dataset}")
    X, y = generator(**options)
    return X, y, dataset


def _build(args: argparse.Namespace, classes: int) -> tuple[MLP, Optimizer]:
    """The model and optimizer the arguments ask for."""
    if args.loss != "ce" and classes != 2:
        raise ValueError(f"--loss {args.loss} is for two classes, but the data has {classes}; "
                         f"use --loss ce")
    if args.steps < 0:
        raise ValueError(f"--steps {args.steps}: must be >= 0")
    if args.batch_size < 0:
        raise ValueError(f"--batch-size {args.batch_size}: must be >= 0 (0 = all examples)")
    if not args.lr > 0:
        raise ValueError(f"--lr {args.lr}: the learning rate must be > 0")
    outputs = classes if args.loss == "ce" else 1
    model = MLP(2, parse_hidden(args.hidden) + [outputs], activation=args.activation,
                seed=args.seed)
    if args.optimizer == "adam":
        return model, Adam(model.parameters(), lr=args.lr)
    return model, SGD(model.parameters(), lr=args.lr)


def run(args: argparse.Namespace) -> int:
    """`tinygrad-edu train`: train, check σ(z) − y, write plots and summary.json; exit code."""
    try:
        X, y, name = _load_data(args)
        classes = max(y) + 1
        model, optimizer = _build(args, classes)
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    out = Path(args.out)
    parameters = len(model.parameters())
    print(f"{model} with {parameters} parameters on {name} ({len(X)} points, {classes} classes)")
    print(f"loss {args.loss}, {args.optimizer} lr {args.lr:g}, {args.steps} steps, "
          f"batch size {args.batch_size or len(X)}"
          + (f", compiled ({args.compile} backend)" if args.compile else ""))

    checks = {}
    try:
        before = check_output_gradient(model, X, y, args.loss)
        if before is not None:
            checks["before_training"] = before
            print(f"check before training: {before}")
        compile_as = True if args.compile == "auto" else (args.compile or False)
        history = fit(model, X, y, optimizer, loss=args.loss, steps=args.steps,
                      batch_size=args.batch_size, seed=args.seed, progress=True,
                      compile=compile_as)
        if history.interrupted:
            print(f"interrupted after {history.steps} of {args.steps} steps; "
                  f"writing what was trained so far")
        final_loss, accuracy = evaluate(model, X, y, args.loss)
        after = check_output_gradient(model, X, y, args.loss)
        if after is not None:
            checks["after_training"] = after
            print(f"check after training:  {after}")
    except (OutputGradientError, TraceMismatch) as problem:
        print(f"tinygrad-edu train: FAILED: {problem}")
        return 1
    print(f"final loss {final_loss:.4f}, accuracy {accuracy:.1%} "
          f"({history.steps} steps in {history.seconds:.1f} s)")

    hidden = parse_hidden(args.hidden)
    layers = f"hidden {','.join(map(str, hidden))} {args.activation}" if hidden \
        else "no hidden layer"
    title = f"{name}: {layers}, {args.loss} loss, accuracy {accuracy:.1%}"
    files = _write_outputs(out, model, X, y, history, title)
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
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for path in [*files, summary_path]:
        print(f"wrote {path}")
    return 130 if history.interrupted else 0  # 130: the shell's code for "stopped by Ctrl-C"


def _write_outputs(out: Path, model: Module, X: list[list[float]], y: list[int],
                   history: History, title: str) -> list[Path]:
    """Draw the decision boundary and the loss curve as PNG and SVG; return the paths."""
    from tinygrad_edu.viz import plots  # matplotlib loads only when there is something to draw

    out.mkdir(parents=True, exist_ok=True)
    boundary = [out / "decision_boundary.png", out / "decision_boundary.svg"]
    plots.plot_decision_boundary(lambda point: probabilities(model(point)), X, y, boundary,
                                 title=title)
    if not history.steps:
        return boundary
    curve = [out / "loss_curve.png", out / "loss_curve.svg"]
    plots.plot_loss_curve(history.losses, history.accuracies, curve, title=title)
    return boundary + curve


__all__ = ["add_arguments", "run", "parse_hidden"]
