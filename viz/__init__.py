"""viz: drawing tinygrad_edu computation graphs, with every value and gradient written on them.

    from tinygrad_edu import viz
    viz.draw_dot(L)                      # a graphviz.Digraph; Jupyter shows it inline
    viz.render(L, "graph.svg", show_local_grads=True)   # .svg, .png, .dot or .gv
    viz.walkthrough(L, "steps.html")     # forward then backward, one node per step
    viz.walkthrough(L)                   # the same page, inline in Jupyter
    viz.plot_decision_boundary(model, X, y)   # matplotlib Figures, inline in Jupyter
    viz.plot_loss_curve(history.losses)
    viz.film(model, X, y, history)       # training as a film: history = fit(..., record=True)

`dot.py` turns a graph into DOT text, `renderer.py` finds a program to draw it
(Graphviz's `dot`, else the bundled `graphviz-pure`), `notebook.py` is what
Jupyter shows, `walkthrough.py` writes the step-by-step page, and `plots.py`
draws training with matplotlib (imported only when a plot is asked for).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from tinygrad_edu.engine import Value
from tinygrad_edu.viz.dot import draw_dot
from tinygrad_edu.viz.film import Film, film
from tinygrad_edu.viz.renderer import (
    RENDER_TIMEOUT_SECONDS,
    RendererFailed,
    RendererNotFound,
    render_source,
    write_atomically,
)
from tinygrad_edu.viz.walkthrough import walkthrough, walkthrough_html

if TYPE_CHECKING:  # at run time they load on first use, with matplotlib (see __getattr__)
    from tinygrad_edu.viz.plots import plot_decision_boundary, plot_loss_curve

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


def __getattr__(name: str) -> Any:
    """plot_decision_boundary and plot_loss_curve, imported from plots.py on first use, and
    playground from playground_server.py."""
    if name == "playground":
        from tinygrad_edu.viz.playground_server import playground

        return playground
    if name in ("plot_decision_boundary", "plot_loss_curve"):
        from tinygrad_edu.viz import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Film", "film", "draw_dot", "render", "picture", "format_for", "walkthrough",
           "walkthrough_html", "RendererNotFound", "RendererFailed", "render_source",
           "plot_decision_boundary", "plot_loss_curve", "playground"]
