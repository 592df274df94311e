"""viz: drawing tinygrad_edu computation graphs, with every value and gradient written on them.

    import viz
    viz.draw_dot(L)                      # a graphviz.Digraph; Jupyter shows it inline
    viz.render(L, "graph.svg", show_local_grads=True)   # .svg, .png, .dot or .gv
    viz.walkthrough(L, "steps.html")     # forward then backward, one node per step

`dot.py` turns a graph into DOT text, `renderer.py` finds a program to draw it
(Graphviz's `dot`, else the bundled `graphviz-pure`), `walkthrough.py` writes
the step-by-step page, and `commands.py` is `tinygrad-edu render`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from tinygrad_edu.engine import Value
from tinygrad_edu.viz.dot import draw_dot
from tinygrad_edu.viz.renderer import (
    RENDER_TIMEOUT_SECONDS,
    RendererFailed,
    RendererNotFound,
    render_source,
    write_atomically,
)
from tinygrad_edu.viz.walkthrough import walkthrough, walkthrough_html

# What each file suffix is written as: a picture format for the renderer, or DOT text.
SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def render(root: Value, path: Union[str, Path], *,
           timeout: float = RENDER_TIMEOUT_SECONDS, **options) -> Path:
    """Draw the graph of `root` into `path`, as SVG, PNG or DOT text chosen by its suffix.

    `options` are draw_dot's (show_local_grads=True, cluster="module", ...).
    The file appears complete or not at all: it is written beside `path` under
    a temporary name and renamed. The renderer is stopped after `timeout`
    seconds. Returns the path written.
    """
    return write_atomically(path, picture(root, path, timeout=timeout, **options))


def picture(root: Value, path: Union[str, Path], *,
            timeout: float = RENDER_TIMEOUT_SECONDS, **options) -> bytes:
    """The bytes render() would write to `path` (its suffix picks the format)."""
    file_format = format_for(path)
    source = draw_dot(root, **options).source
    if file_format == "dot":
        return source.encode("utf-8")
    return render_source(source, file_format, timeout=timeout)


def format_for(path: Union[str, Path]) -> str:
    """The format a file name asks for: "svg", "png" or "dot"; ValueError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise ValueError(f"cannot draw to {str(path)!r}: unknown suffix {suffix or '(none)'!r}; "
                         f"use one of {', '.join(SUFFIX_FORMATS)}")
    return SUFFIX_FORMATS[suffix]


__all__ = ["draw_dot", "render", "picture", "format_for", "walkthrough", "walkthrough_html",
           "RendererNotFound", "RendererFailed", "render_source"]
