"""`tinygrad-edu render`: draw the graph of a small program, with its values and gradients.

    tinygrad-edu render "d = 2*b; e = a + d; L = c*e" --set a=3 b=1 c=-2 -o lecture.svg
    tinygrad-edu render -f prog.txt --set a=3 b=1 c=-2 --local-grads --walkthrough steps.html
    tinygrad-edu render "L = c*(a + 2*b)" --set a=3 b=1 c=-2 --walkthrough quiz.html --practice
    tinygrad-edu render "y = tanh(w*x + b)" --set w=0.5 x=2 b=-1 --shade-grads -o neuron.png
    echo "L = c * (a + 2*b)" | tinygrad-edu render --set a=3 b=1 c=-2 -o lecture.png

The program is in the safe expression language of `tinygrad_edu.expr` (never
run by Python). The command runs it forward, runs backward from its result
(the last assignment), and draws the graph with each node named after its
variable. Any error exits with code 2 and one line, and writes no file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Union

from tinygrad_edu import viz
from tinygrad_edu.cli.arguments import UsageError, add_program_arguments, run_program
from tinygrad_edu.viz.dot import MAX_NODES, RANKDIRS, GraphTooLarge
from tinygrad_edu.viz.renderer import (
    RENDER_TIMEOUT_SECONDS,
    RendererNotFound,
    missing_folders,
    write_all_atomically,
)
from tinygrad_edu.viz.walkthrough import walkthrough_html

WALKTHROUGH_SUFFIXES = (".html", ".htm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu render`."""
    add_program_arguments(parser)
    parser.add_argument("-o", "--output", metavar="GRAPH.svg",
                        help="write the graph here; the suffix picks the format: "
                             ".svg, .png, .dot or .gv")
    parser.add_argument("--walkthrough", metavar="STEPS.html",
                        help="also write a page that steps through forward and backward")
    parser.add_argument("--practice", action="store_true",
                        help="make the --walkthrough page a practice: you type each gradient "
                             "of the backward pass, with hints and a score")
    parser.add_argument("--local-grads", action="store_true",
                        help="write each edge's local gradient d(result)/d(operand)")
    parser.add_argument("--shade-grads", action="store_true",
                        help="tint each grad: red > 0, blue < 0, deeper for larger |grad|")
    parser.add_argument("--rankdir", choices=RANKDIRS, default="LR",
                        help="direction of the drawing: LR (left to right, default) or TB, ...")
    parser.add_argument("--decimals", type=int, default=4,
                        help="digits after the decimal point (default 4)")
    parser.add_argument("--max-nodes", type=int, default=MAX_NODES, metavar="N",
                        help="refuse graphs with more Values than this (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=RENDER_TIMEOUT_SECONDS,
                        metavar="SECONDS",
                        help="stop the renderer after this long (default %(default)g)")


def run(args: argparse.Namespace) -> int:
    """Run the program, backpropagate, and write the graph and/or the walkthrough page."""
    targets = _check_targets(args)
    result = run_program(args)
    try:
        result.backward()
    except OverflowError as problem:
        raise UsageError(str(problem)) from None

    # Everything is drawn before anything is written, so an error leaves no file behind.
    contents: dict[Path, Union[bytes, str]] = {}
    options = {"rankdir": args.rankdir, "decimals": args.decimals,
               "max_nodes": args.max_nodes, "timeout": args.timeout}
    try:
        for path, kind in targets:
            if kind == "walkthrough":
                contents[path] = walkthrough_html(result, practice=args.practice, **options)
            else:
                contents[path] = viz.picture(result, path, show_local_grads=args.local_grads,
                                             shade_grads=args.shade_grads, **options)
    except GraphTooLarge as problem:
        raise UsageError(str(GraphTooLarge(problem.nodes, problem.max_nodes,
                                           "--max-nodes {}"))) from None
    except (RendererNotFound, ValueError, RuntimeError) as problem:
        raise UsageError(str(problem)) from None
    try:
        written = write_all_atomically(contents)  # all of them, or none
    except OSError as problem:
        if problem.strerror is None:  # one of ours, which already says what it could not write
            raise UsageError(str(problem)) from None
        raise UsageError(f"cannot write {problem.filename or 'the output'}: "
                         f"{problem.strerror}") from None
    for path in written:
        print(f"wrote {path}")
    return 0


def _check_targets(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """The files to write, as (path, "graph" or "walkthrough"), checked before any work."""
    targets = []
    if args.output:
        try:
            viz.format_for(args.output)
        except ValueError as problem:
            raise UsageError(f"-o: {problem}") from None
        targets.append((Path(args.output), "graph"))
    if args.walkthrough:
        if Path(args.walkthrough).suffix.lower() not in WALKTHROUGH_SUFFIXES:
            raise UsageError(f"--walkthrough {args.walkthrough!r}: the page is HTML, "
                                 f"so give a file name ending in .html")
        targets.append((Path(args.walkthrough), "walkthrough"))
    if args.practice and not args.walkthrough:
        raise UsageError("--practice makes the --walkthrough page a practice: give "
                         "--walkthrough STEPS.html too")
    if not targets:
        raise UsageError("nothing to write: give -o GRAPH.svg (or .png, .dot, .gv) "
                             "and/or --walkthrough STEPS.html")
    if not 0 <= args.decimals <= 12:
        raise UsageError(f"--decimals {args.decimals}: give a whole number from 0 to 12")
    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes {args.max_nodes}: give a whole number >= 1")
    if not 0 < args.timeout < float("inf"):
        raise UsageError(f"--timeout {args.timeout:g}: give a number of seconds > 0")
    if len(targets) == 2 and targets[0][0].resolve() == targets[1][0].resolve():
        raise UsageError(f"-o and --walkthrough both name {targets[0][0]}; give two files")
    for path, _ in targets:
        check_output_file(path)
    return targets


def check_output_file(path: Path) -> None:
    """UsageError unless `path` can be written as a file: no file above it (missing folders
    are made when it is written, as `train --out` makes its folder), and it is no folder."""
    try:
        missing_folders(path)
    except NotADirectoryError as problem:
        raise UsageError(str(problem)) from None
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")


__all__ = ["add_arguments", "run"]
