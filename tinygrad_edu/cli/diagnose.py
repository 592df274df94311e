"""`tinygrad-edu diagnose`: check a student's own micrograd-like class against this engine.

    tinygrad-edu diagnose path/to/engine.py:Value
    tinygrad-edu diagnose my_micrograd.engine:Value --seconds 5 --draw wrong.svg

The module is imported and run in this process (it is the student's own code);
nothing else is executed. It prints the report of `tinygrad_edu.diagnose` and
exits 0 when every probe passes, 1 when one fails, 2 when the class cannot be
loaded or is not micrograd-like (the line says what is missing).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

from tinygrad_edu import viz
from tinygrad_edu.cli.arguments import UsageError
from tinygrad_edu.cli.render import check_output_file
from tinygrad_edu.diagnose import (
    PROBE_SECONDS,
    RANDOM_EXAMPLES,
    NotMicrogradLike,
    ProbeTimeout,
    run_limited,
)
from tinygrad_edu.viz.renderer import RendererNotFound, write_atomically


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tinygrad-edu diagnose`."""
    parser.add_argument("target", metavar="FILE.py:CLASS",
                        help="the class to check: path/to/engine.py:Value or module:Value")
    parser.add_argument("--seconds", type=float, default=PROBE_SECONDS, metavar="S",
                        help="time limit of each probe (default %(default)g)")
    parser.add_argument("--examples", type=int, default=RANDOM_EXAMPLES, metavar="N",
                        help="random expressions to try (default %(default)s)")
    parser.add_argument("--draw", metavar="GRAPH.svg",
                        help="also draw the first failed probe's graph, the wrong node in red")


def run(args: argparse.Namespace) -> int:
    """Load the class, run every probe, print the report; 0 all pass, 1 a probe failed."""
    if not 0 < args.seconds <= 3600:
        raise UsageError(f"--seconds must be a number in (0, 3600], got {args.seconds:g}")
    if not 1 <= args.examples <= 100_000:
        raise UsageError(f"--examples must be a whole number from 1 to 100000, "
                         f"got {args.examples}")
    if args.draw:
        try:
            viz.format_for(args.draw)
        except ValueError as problem:
            raise UsageError(f"--draw: {problem}") from None
        check_output_file(Path(args.draw))
    try:
        from tinygrad_edu.testing import diagnose  # it draws random graphs with hypothesis
    except ImportError as missing:
        raise UsageError(f"{missing}") from None
    cls = load_class(args.target, args.seconds)
    try:
        report = diagnose(cls, seconds=args.seconds, random_examples=args.examples)
    except NotMicrogradLike as problem:
        raise UsageError(str(problem)) from None
    print(report)
    if args.draw and not report.passed:
        try:
            source = report.draw().source
        except ValueError as problem:
            print(f"nothing drawn: {problem}")
        else:
            try:
                file_format = viz.format_for(args.draw)
                picture = source.encode("utf-8") if file_format == "dot" else \
                    viz.render_source(source, file_format)
                write_atomically(args.draw, picture)
            except (RendererNotFound, RuntimeError, OSError) as problem:
                raise UsageError(f"cannot draw {args.draw}: {problem}") from None
            print(f"wrote {args.draw}")
    return 0 if report.passed else 1


def load_class(target: str, seconds: float = PROBE_SECONDS) -> Any:
    """The class `target` names (path.py:Class or module:Class), imported; UsageError if not."""
    where, colon, name = target.rpartition(":")
    if not colon or not where or not name:
        raise UsageError(f"{target!r}: name the class as path/to/engine.py:Value or "
                         f"module:Value")
    try:
        module = run_limited(lambda: _import(where), seconds)
    except UsageError:
        raise
    except ProbeTimeout as problem:
        raise UsageError(f"importing {where} {problem}") from None
    except BaseException as problem:  # noqa: BLE001 - the student's module raised on import
        if isinstance(problem, KeyboardInterrupt):
            raise
        raise UsageError(f"importing {where} raises {type(problem).__name__}: "
                         f"{' '.join(str(problem).split())[:300]}") from None
    if not hasattr(module, name):
        found = sorted(key for key, value in vars(module).items()
                       if isinstance(value, type) and not key.startswith("_"))
        raise UsageError(f"{where} has no {name!r}; its classes: "
                         f"{', '.join(found) if found else 'none'}")
    cls = getattr(module, name)
    if not isinstance(cls, type):
        raise UsageError(f"{where}:{name} is not a class but {type(cls).__name__} {cls!r:.60}")
    return cls


def _import(where: str) -> Any:
    """Import a module by file path (ending in .py) or by dotted name, as Python would."""
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise UsageError(f"{where}: no such file")
        folder = str(path.resolve().parent)
        sys.path.insert(0, folder)  # so the engine's own `from engine import Value` works
        try:
            module_name = f"_student_{path.stem}_{uuid.uuid4().hex[:8]}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise UsageError(f"{where}: not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
            return module
        finally:
            if folder in sys.path:
                sys.path.remove(folder)
    sys.path.insert(0, "")  # the current folder, as `python -m` has it
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as problem:
        raise UsageError(f"no module named {problem.name or where!r} (run from the folder "
                         f"that holds it, or give a path ending in .py)") from None
    finally:
        sys.path.remove("")


__all__ = ["add_arguments", "run", "load_class"]
