"""`tinygrad-edu demo [NAME]`: run the lecture's demos, which ship in `tinygrad_edu.demos`.

Without a name it runs the quick ones one after another and lists the rest.
Each demo is a script (`python demos/two_paths.py` in a checkout); here it
runs as the module `tinygrad_edu.demos.NAME`, so it works from an installed
wheel in any folder. Its pictures go under `out/` in the current folder.
"""

from __future__ import annotations

import argparse
import ast
import runpy
import sys
from pathlib import Path

import tinygrad_edu.demos
from tinygrad_edu.cli.arguments import UsageError
from tinygrad_edu.demos import arguments as demo_arguments

DEMOS_DIR = Path(tinygrad_edu.demos.__file__).resolve().parent

# Demos fast enough to run one after another when `tinygrad-edu demo` has no name.
QUICK_DEMOS = ("computation_graph", "backprop_order", "two_paths", "logistic_regression",
               "softmax_regression", "two_layer_mlp", "train_classifier", "higher_order")


def available_demos() -> dict[str, str]:
    """Every demo's name and the first line of its docstring, the quick ones first."""
    summaries = {}
    for path in DEMOS_DIR.glob("*.py"):
        if path.stem.startswith("_"):
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        summaries[path.stem] = docstring.strip().splitlines()[0] if docstring.strip() else ""
    order = [name for name in QUICK_DEMOS if name in summaries]
    order += sorted(name for name in summaries if name not in QUICK_DEMOS)
    return {name: summaries[name] for name in order}


def _listing() -> str:
    demos = available_demos()
    width = max(map(len, demos), default=0)
    lines = [f"  {name.ljust(width)}  {summary}" for name, summary in demos.items()]
    return ("demos (the quick ones run when no NAME is given: "
            + ", ".join(QUICK_DEMOS) + "):\n" + "\n".join(lines)
            + "\n\n`tinygrad-edu demo NAME --help` shows a demo's own options.")


# The demo list goes into `demo --help`, kept as laid out here.
PARSER_OPTIONS = {"formatter_class": argparse.RawDescriptionHelpFormatter,
                  "epilog": _listing()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu demo`."""
    parser.add_argument("name", nargs="?", help="the demo to run (omit to run the quick ones)")
    parser.add_argument("demo_args", nargs=argparse.REMAINDER,
                        help="arguments passed on to the demo")


def run(args: argparse.Namespace) -> int:
    """Run one demo, or the quick ones; return the exit code."""
    available = available_demos()
    if args.name is None:
        for name in QUICK_DEMOS:
            code = run_demo(name, [])
            if code:
                return code
        others = [name for name in available if name not in QUICK_DEMOS]
        if others:
            print("\nMore demos: " + ", ".join(others))
            print("Run one with: tinygrad-edu demo NAME")
        return 0
    if args.name not in available:
        raise UsageError(f"unknown demo {args.name!r}; choose from: {', '.join(available)}")
    return run_demo(args.name, args.demo_args)


def run_demo(name: str, demo_args: list[str]) -> int:
    """Run the demo NAME as a script with the given arguments; return its exit code."""
    saved_argv = sys.argv
    sys.argv = [str(DEMOS_DIR / f"{name}.py"), *demo_args]
    demo_arguments.program_name = f"tinygrad-edu demo {name}"  # its --help and errors say so
    try:
        runpy.run_module(f"tinygrad_edu.demos.{name}", run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        if stop.code is None:
            return 0
        if isinstance(stop.code, int):
            return stop.code
        print(stop.code, file=sys.stderr)
        return 1
    finally:
        sys.argv = saved_argv
        demo_arguments.program_name = None
    return 0


__all__ = ["add_arguments", "run", "run_demo", "available_demos", "QUICK_DEMOS"]
