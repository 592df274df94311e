"""Finding and running a program that turns DOT text into an SVG or PNG picture.

Two renderers read DOT:
- Graphviz's own `dot` (https://graphviz.org), used whenever it is on PATH;
- `graphviz-pure`, a self-contained port of Graphviz's `dot` that pip installs
  with this project (pinned to 0.2.2), so a fresh `pip install` can draw
  without any system package. pip puts it in the scripts folder next to the
  Python that runs us (`.venv/bin`), which is not on PATH unless the venv is
  activated, so we look there first.

The Python `graphviz` package's `render()` and `pipe()` only know `dot`, so we
run the renderer ourselves on the DOT source, in a process group of its own
so that a renderer which hangs is killed, children and all, when its time is
up. What it prints is checked (an SVG must parse as XML, a PNG must start with
the PNG signature) before anything is written. Output files are written to a
temporary file beside the target and renamed over it, keeping the mode of the
file they replace, so a reader never sees a half-written picture.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Mapping, Optional, Sequence, TypeVar, Union

from tinygrad_edu.checks import real_number

PICTURE_FORMATS = ("svg", "png")
RENDER_TIMEOUT_SECONDS = 60
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_TAGS = ("svg", "{http://www.w3.org/2000/svg}svg")

INSTALL_HINT = (
    "install Graphviz so that `dot` is on PATH (e.g. `sudo apt-get install graphviz`, "
    "`brew install graphviz`, or https://graphviz.org/download/), or install the "
    "pure renderer with `pip install graphviz-pure==0.2.2` into this Python's environment; "
    "a .dot file needs neither"
)


class RendererNotFound(RuntimeError):
    """Neither Graphviz's `dot` nor the `graphviz-pure` program could be found."""


class RendererFailed(RuntimeError):
    """The renderer failed, timed out, or printed something that is not the picture asked for."""


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
                  command: Optional[Sequence[str]] = None,
                  timeout: float = RENDER_TIMEOUT_SECONDS) -> bytes:
    """Run a renderer on DOT `source` and return the picture (`format` "svg" or "png").

    The renderer is killed after `timeout` seconds; RendererFailed if it fails,
    times out, or prints something that is not an SVG or PNG picture.
    """
    if format not in PICTURE_FORMATS:
        raise ValueError(f"format={format!r}: the renderer writes {' or '.join(PICTURE_FORMATS)}")
    timeout = real_number(timeout, "timeout (seconds for the renderer)", 0.0, low_open=True)
    command = list(command) if command is not None else find_renderer()
    name = Path(command[0]).name
    try:
        process = subprocess.Popen(
            [*command, f"-T{format}", "-q"],  # -q: no font warnings on stderr
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",  # its own process group, to kill it whole
        )
    except FileNotFoundError:
        raise RendererNotFound(f"the renderer {command[0]} is gone: {INSTALL_HINT}") from None
    except OSError as problem:
        raise RendererFailed(f"cannot run the renderer {command[0]}: "
                             f"{problem.strerror or problem}") from None
    try:
        stdout, stderr = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise RendererFailed(f"{name} took over {timeout:g} s to lay out the graph and was "
                             f"stopped; draw a smaller graph (one example, or "
                             f"cluster='module') or allow more time") from None
    except BaseException:  # Ctrl-C: do not leave the renderer running
        _kill(process)
        raise
    if process.returncode != 0 or not stdout:
        said = stderr.decode("utf-8", "replace").strip().splitlines()
        raise RendererFailed(f"{name} failed (exit {process.returncode}): "
                             f"{said[0] if said else 'no output'}")
    return check_picture(stdout, format, name)


def _kill(process: subprocess.Popen) -> None:
    """Kill the renderer and everything it started, and reap it."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass  # it ended on its own meanwhile
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    process.wait()


def check_picture(content: bytes, format: str, renderer: str = "the renderer") -> bytes:
    """`content` if it is an SVG (parses as XML, root <svg>) or PNG picture; else RendererFailed."""
    if format == "png":
        if not content.startswith(PNG_SIGNATURE):
            raise RendererFailed(f"{renderer} printed something that is not a PNG picture "
                                 f"(it starts with {content[:12]!r}); nothing was written")
        return content
    try:
        tag = ElementTree.fromstring(content).tag
    except ElementTree.ParseError as problem:
        raise RendererFailed(f"{renderer} printed something that is not an SVG picture "
                             f"(not XML: {problem}); nothing was written") from None
    if tag not in SVG_TAGS:
        raise RendererFailed(f"{renderer} printed XML whose root is <{tag}>, not an SVG "
                             f"picture; nothing was written")
    return content


# A file's path as write_all_atomically takes it: a str or a Path (any os.PathLike).
PathLike = TypeVar("PathLike", bound=Union[str, "os.PathLike[str]"])


def write_atomically(path: Union[str, os.PathLike[str]], content: Union[bytes, str]) -> Path:
    """Write `content` to a temporary file beside `path`, then rename it over `path`.

    The new file keeps the mode of the file it replaces (a new one gets the mode
    a plain open() would give).
    """
    return write_all_atomically({path: content})[0]


def write_all_atomically(contents: Mapping[PathLike, Union[bytes, str]]) -> list[Path]:
    """Write several files, each atomically: all are written to temporary files first,
    and only when every one is complete are they renamed into place.

    So a failure while writing (a full disk, a folder in the way) replaces none of them.
    Missing folders are made, as `mkdir -p` would (and removed again if writing fails);
    a path below a file is refused.
    """
    staged: list[tuple[str, Path]] = []
    made: list[Path] = []
    try:
        for path, content in contents.items():
            for folder in missing_folders(Path(path)):
                folder.mkdir()
                made.append(folder)
            staged.append((_stage(Path(path), content), Path(path)))
        for temporary, target in staged:
            os.replace(temporary, target)  # atomic on POSIX and Windows
    except BaseException:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)
        for folder in reversed(made):  # deepest first; only the ones made here, still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return [path for _, path in staged]


def missing_folders(path: Union[str, Path]) -> list[Path]:
    """The folders above `path` that do not exist yet, outermost first.

    NotADirectoryError when the nearest one that exists is a file: nothing can be written below it.
    """
    path = Path(path)
    missing = []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is a file, not a folder")
    return list(reversed(missing))


def _stage(path: Path, content: Union[bytes, str]) -> str:
    """Write `content` to a new temporary file beside `path`, with the mode `path` should get."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # keep the mode of the file it replaces
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()  # mkstemp's 0600 is not what open() would give
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, mode)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


__all__ = ["RendererNotFound", "RendererFailed", "find_renderer", "find_graphviz_pure",
           "render_source", "check_picture", "write_atomically", "write_all_atomically",
           "missing_folders",
           "INSTALL_HINT", "RENDER_TIMEOUT_SECONDS"]
