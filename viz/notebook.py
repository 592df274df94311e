"""What Jupyter shows: graphs sized to the cell, with a PNG beside the SVG, and framed pages.

A notebook front end picks one picture from what an object offers. So a drawn
graph offers two:
  - an SVG, sized to fit the cell: a wide graph is scaled down to the cell's
    width, but not below MIN_SCALE of its natural size (its text would be
    unreadable); a graph wider than that is drawn at MIN_SCALE and the cell
    scrolls. JupyterLab and nbconvert show an SVG as an <img>, where only the
    SVG's own width and viewBox count, so that is how the size is set;
  - a PNG of the same drawing, for a notebook that was saved and opened again
    by someone else: an untrusted notebook does not show SVG, but shows PNG.
The step-by-step page is shown in a frame of its own (an iframe whose content
is the whole page), so its styles and arrow keys stay inside it and several
pages work side by side in one notebook.
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path
from typing import Any, Optional, Union

import graphviz

from tinygrad_edu.viz.renderer import (
    PICTURE_FORMATS,
    RendererNotFound,
    find_renderer,
    render_source,
    write_atomically,
)

# Below this share of its natural size a graph's 12 pt text is too small to read.
MIN_SCALE = 0.45
# A graph narrower than this (CSS px) keeps its natural size: it fits any notebook cell.
FITS_ANY_CELL = 900
# The width of a cell's output on a 1,200 px page (measured in nbconvert's JupyterLab page).
# A graph that would shrink below MIN_SCALE to fit it is drawn at MIN_SCALE instead, and the
# output scrolls.
CELL_WIDTH = 1080
SCROLLS_FROM = CELL_WIDTH / MIN_SCALE
# The PNG is drawn at twice the screen's density for sharp text, but at most this wide.
PNG_DENSITY = 2.0
PNG_MAX_PIXELS = 4000
# CSS px per point: Graphviz measures in points (1/72 in), a browser in px (1/96 in).
PX_PER_PT = 96 / 72

_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def natural_width(svg: str) -> float:
    """The width of a Graphviz SVG in CSS px, as a browser draws it unscaled."""
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("not an SVG from Graphviz: its <svg> has no width in pt")
    return float(size.group(1)) * PX_PER_PT


def fit_to_cell(svg: str) -> str:
    """The SVG with its size set to fit a notebook cell; the viewBox keeps its proportions.

    Up to FITS_ANY_CELL px wide a graph keeps its natural size; up to
    SCROLLS_FROM it gets `width="100%"`, filling the cell (an <img> of it too);
    wider, it is drawn at MIN_SCALE of its natural size and the output scrolls.
    """
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("not an SVG from Graphviz: its <svg> has no width in pt")
    width = float(size.group(1)) * PX_PER_PT
    if width <= FITS_ANY_CELL:
        sizing = f'{size.group(0)} style="max-width:100%;height:auto"'
    elif width <= SCROLLS_FROM:
        sizing = (f'<svg width="100%" style="max-width:{width:.0f}px;'
                  f'min-width:{MIN_SCALE * width:.0f}px;height:auto"')
    else:
        height = float(size.group(2)) * PX_PER_PT
        sizing = f'<svg width="{MIN_SCALE * width:.0f}px" height="{MIN_SCALE * height:.0f}px"'
    return svg[:size.start()] + sizing + svg[size.end():]


def png_options(svg: str) -> tuple[list[str], dict[str, int]]:
    """The renderer's options for a sharp PNG of this graph, and the width to show it at."""
    width = natural_width(svg)
    density = min(PNG_DENSITY, PNG_MAX_PIXELS / width)
    return [f"-Gdpi={96 * density:.0f}"], {"width": round(width)}


class Digraph(graphviz.Digraph):
    """A graphviz.Digraph drawn by whichever renderer is installed: Graphviz's `dot`, else the
    bundled graphviz-pure. Jupyter shows it sized to the cell, as SVG and as PNG."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> Any:
        """SVG fitted to the cell, and PNG: a saved or untrusted notebook still has a picture."""
        svg = render_source(self.source, "svg").decode("utf-8")
        options, size = png_options(svg)
        png = render_source(self.source, "png", command=[*find_renderer(), *options])
        bundle = {"image/svg+xml": fit_to_cell(svg), "image/png": png, "text/plain": repr(self)}
        return bundle, {"image/png": size}  # (data, metadata), as IPython takes them

    def pipe(self, format: Optional[str] = None, renderer: Optional[str] = None,
             formatter: Optional[str] = None, neato_no_op: Any = None, quiet: bool = False, *,
             engine: Optional[str] = None, encoding: Optional[str] = None) -> Any:
        """The picture as bytes (or text, given an `encoding`), from the same renderer as
        viz.render: "svg" or "png" always; other formats need Graphviz's own `dot`."""
        format = format or self.format
        if format not in PICTURE_FORMATS or renderer or formatter or engine not in (None, "dot"):
            return self._graphviz_only(format).pipe(
                format=format, renderer=renderer, formatter=formatter, neato_no_op=neato_no_op,
                quiet=quiet, engine=engine, encoding=encoding)
        picture = render_source(self.source, format)
        return picture.decode(encoding) if encoding else picture

    def render(self, filename: Union[str, os.PathLike, None] = None,
               directory: Union[str, os.PathLike, None] = None, view: bool = False,
               cleanup: bool = False, format: Optional[str] = None, *args: Any,
               outfile: Union[str, os.PathLike, None] = None, **options: Any) -> str:
        """Save the DOT source and the picture beside it, as graphviz does; return the
        picture's path. The source is written only once the picture is drawn, so a
        missing renderer leaves no stray file."""
        format = format or (Path(outfile).suffix[1:] if outfile else None) or self.format
        if format not in PICTURE_FORMATS or args or options.get("renderer") \
                or options.get("formatter") or options.get("engine") not in (None, "dot"):
            return self._graphviz_only(format).render(
                filename, directory, view, cleanup, format, *args, outfile=outfile, **options)
        picture = render_source(self.source, format)  # first: it raises if nothing can draw
        source_path = Path(directory or self.directory or "") / (filename or self.filename)
        target = Path(outfile) if outfile else source_path.with_name(
            f"{source_path.name}.{format}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(picture)
        if not cleanup:
            source_path.parent.mkdir(parents=True, exist_ok=True)
            source_path.write_text(self.source, encoding=self.encoding)
        if view:
            graphviz.view(target, quiet=options.get("quiet_view", False))
        return os.fspath(target)

    def __repr__(self) -> str:
        return (f"<Digraph of {self.source.count('->')} arrows: Jupyter draws it; "
                f".render(), .pipe() or viz.render() save it>")

    def _graphviz_only(self, format: str) -> graphviz.Digraph:
        """Plain graphviz, for what only Graphviz's own `dot` can do; RendererNotFound without it.
        """
        command = find_renderer()  # raises RendererNotFound when there is no renderer at all
        if Path(command[0]).name.startswith("graphviz-pure"):
            raise RendererNotFound(
                f"format {format!r} (or that renderer, formatter or engine) needs Graphviz's own "
                f"`dot`; the bundled graphviz-pure draws {' and '.join(PICTURE_FORMATS)}: "
                f"install Graphviz (e.g. `sudo apt-get install graphviz`) or ask for svg or png")
        plain = graphviz.Digraph(format=self.format, filename=self.filename,
                                 directory=self.directory, encoding=self.encoding)
        plain.body = list(self.body)
        plain.graph_attr, plain.node_attr, plain.edge_attr = (
            dict(self.graph_attr), dict(self.node_attr), dict(self.edge_attr))
        return plain


class FramedPage:
    """A self-contained HTML page that Jupyter shows inline in a frame of its own.

    The frame isolates the page: its styles and its arrow keys do not reach
    the notebook, and several pages on one notebook each keep their own state.
    The page grows the frame to its own height when it can (same origin).
    An untrusted notebook removes frames; what is left is the frame's fallback
    content: a `picture` (PNG bytes), when given, and a line saying how to see the page.
    """

    def __init__(self, page: str, title: str = "", height: int = 480,
                 picture: Optional[bytes] = None, picture_width: Optional[int] = None) -> None:
        self.html = page
        self.title = title
        self.height = height
        self.picture = picture
        self.picture_width = picture_width

    def _repr_html_(self) -> str:
        """An <iframe> whose document is the page (srcdoc), as wide as the cell."""
        fallback = ""
        if self.picture is not None:
            width = f' width="{self.picture_width}"' if self.picture_width else ""
            fallback = (f'<img alt="{html.escape(self.title, quote=True)}"{width} '
                        f'src="data:image/png;base64,{base64.b64encode(self.picture).decode()}">')
        fallback += ("<p>An interactive page is here: run this cell (or trust the notebook) "
                     "to step through it.</p>")
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'title="{html.escape(self.title, quote=True)}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd" '
                f'loading="eager">{fallback}</iframe>')

    def save(self, path: Union[str, os.PathLike]) -> Path:
        """Write the page to `path` as a file of its own (opens offline); return the path."""
        return write_atomically(path, self.html)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r}: display it in Jupyter, or save(path)>"


__all__ = ["Digraph", "FramedPage", "fit_to_cell", "natural_width", "png_options",
           "MIN_SCALE", "FITS_ANY_CELL", "SCROLLS_FROM"]
