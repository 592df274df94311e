"""Finding and running a program that turns DOT text into an SVG or PNG picture.

Two renderers read DOT:
- Graphviz's own `dot` (https://graphviz.org), used whenever it is on PATH;
- `graphviz-pure`, a self-contained port of Graphviz's `dot` that pip installs
  with this project (pinned to 0.2.2), so a fresh `pip install` can draw
  without any system package. pip puts it in the scripts folder next to the
  Python that runs us (`.venv/bin`), which is not on PATH unless the venv is
  activated, so we look there first.

The Python `graphviz` package's `render()` and `pipe()` only know `dot`, so we
run the renderer ourselves on the DOT source. Output files are written to a
temporary file beside the target and renamed over it, so a reader never sees
a half-written picture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Optional, Sequence, Union

PICTURE_FORMATS = ("svg", "png")
RENDER_TIMEOUT_SECONDS = 300

INSTALL_HINT = (
    "install Graphviz so that `dot` is on PATH (e.g. `sudo apt-get install graphviz`, "
    "`brew install graphviz`, or https://graphviz.org/download/), or install the "
    "pure renderer with `pip install graphviz-pure==0.2.2` into this Python's environment; "
    "a .dot file needs neither"
)


class RendererNotFound(RuntimeError):
    """Neither Graphviz's `dot` nor the `graphviz-pure` program could be found."""


def find_renderer() -> list[str]:
    """The command that turns DOT into pictures: Graphviz's `dot`, else `graphviz-pure -Kdot`."""
    dot = shutil.which("dot")
    if dot:
        return [dot]
    pure = find_graphviz_pure()
    if pure:
        # Called by another name it needs to be told which layout engine to use.
        return [pure, "-Kdot"]
    raise RendererNotFound(f"no Graphviz renderer found to draw the graph: {INSTALL_HINT}")


def find_graphviz_pure() -> Optional[str]:
    """The path of the `graphviz-pure` program installed next to this Python, or on PATH."""
    name = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    # Not resolved: a venv's python is a symlink, and the scripts sit next to the link.
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("graphviz-pure")


def render_source(source: str, format: str = "svg",
                  command: Optional[Sequence[str]] = None) -> bytes:
    """Run a renderer on DOT `source` and return the picture (`format` "svg" or "png")."""
    if format not in PICTURE_FORMATS:
        raise ValueError(f"format={format!r}: the renderer writes {' or '.join(PICTURE_FORMATS)}")
    command = list(command) if command is not None else find_renderer()
    try:
        finished = subprocess.run(
            [*command, f"-T{format}", "-q"],  # -q: no font warnings on stderr
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise RendererNotFound(f"the renderer {command[0]} is gone: {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{Path(command[0]).name} took over {RENDER_TIMEOUT_SECONDS} s to "
                           f"lay out the graph; draw a smaller one (one example, or "
                           f"cluster='module')") from None
    if finished.returncode != 0 or not finished.stdout:
        problem = finished.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"{Path(command[0]).name} failed (exit {finished.returncode}): "
                           f"{problem[0] if problem else 'no output'}")
    return finished.stdout


def write_atomically(path: Union[str, Path], content: Union[bytes, str]) -> Path:
    """Write `content` to a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)  # atomic on POSIX and Windows
    except BaseException:
        os.unlink(temporary)
        raise
    return path


def _current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


__all__ = ["RendererNotFound", "find_renderer", "find_graphviz_pure", "render_source",
           "write_atomically", "INSTALL_HINT"]
