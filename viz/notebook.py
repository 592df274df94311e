"""What Jupyter shows: graphs that fit the output they are in, and framed pages.

A notebook front end picks one picture from what an object offers. So a drawn
graph offers
  - HTML: a small viewer (the SVG inline, and a script) that fits the drawing to
    the output's real width, measured in the page, never drawing its text below
    MIN_SCALE of its natural size (12 pt text at 45 % is about 7 px high, the
    smallest a student reads without leaning in). A graph wider than that is shown
    at MIN_SCALE with its output node in view, and gets zoom (buttons, Ctrl +
    wheel), pan (drag) and a "fit / actual size" choice inside the output, rather
    than a sideways scroll that hides the output;
  - in the same HTML, for a notebook that runs no scripts (saved, and opened
    untrusted by someone else: JupyterLab then strips scripts and SVG, but keeps
    images), the drawing as PNG pieces stacked top to bottom. Each piece is
    STILL_WIDTH / MIN_SCALE px of the drawing, cut between boxes where it can, so
    an output STILL_WIDTH px wide shows it at MIN_SCALE or more: a long chain reads
    like a paragraph, line after line, instead of shrinking to a strip;
  - the whole drawing as one PNG, for front ends that show no HTML.
The step-by-step page is shown in a frame of its own (an iframe whose content
is the whole page), so its styles and arrow keys stay inside it and several
pages work side by side in one notebook.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
import xml.etree.ElementTree as ElementTree
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
# The narrowest output a still picture is cut for (CSS px): JupyterLab's at 1,280 px with the
# file browser open is 848 px, of which an image gets 828.
STILL_WIDTH = 800
# The PNG is drawn at twice the screen's density for sharp text. A graph cut into pieces is
# shown at 45-60 %, where 1.25 is as sharp on a high-density screen and takes 2.5 times fewer
# pixels (and seconds); and no PNG takes more than PNG_MAX_PIXELS in all (a 181-node graph at
# twice the density would take a few hundred MB).
PNG_DENSITY = 2.0
PIECES_DENSITY = 1.25
PNG_MAX_PIXELS = 40_000_000
# CSS px per point: Graphviz measures in points (1/72 in), a browser in px (1/96 in).
PX_PER_PT = 96 / 72
TEMPLATES = Path(__file__).resolve().parent / "templates"

_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')
_SVG = "{http://www.w3.org/2000/svg}"


def natural_size(svg: str) -> tuple[float, float]:
    """The width and height of a Graphviz SVG in CSS px, as a browser draws it unscaled."""
    size = _SVG_SIZE.search(svg)
    if size is None:
        raise ValueError("not an SVG from Graphviz: its <svg> has no width in pt")
    return float(size.group(1)) * PX_PER_PT, float(size.group(2)) * PX_PER_PT


def natural_width(svg: str) -> float:
    """The width of a Graphviz SVG in CSS px, as a browser draws it unscaled."""
    return natural_size(svg)[0]


def png_density(svg: str) -> float:
    """Pixels per CSS px for a sharp PNG of this graph that stays within PNG_MAX_PIXELS."""
    width, height = natural_size(svg)
    density = PNG_DENSITY if width <= STILL_WIDTH / MIN_SCALE else PIECES_DENSITY
    return min(density, math.sqrt(PNG_MAX_PIXELS / (width * height)))


def output_node(svg: str) -> Optional[str]:
    """The Graphviz name (its <title>) of the node no arrow leaves: the graph's output."""
    root = ElementTree.fromstring(svg.encode("utf-8"))
    nodes, tails = [], set()
    for group in root.iter(f"{_SVG}g"):
        title = group.findtext(f"{_SVG}title")
        if group.get("class") == "node" and title:
            nodes.append(title)
        elif group.get("class") == "edge" and title and "->" in title:
            tails.add(title.split("->")[0])
    sinks = [name for name in nodes if name not in tails]
    return sinks[-1] if sinks else None


def _occupied(svg: str) -> list[tuple[float, float]]:
    """The spans (CSS px from the left) that a box, an op circle or an arrow's label covers:
    a cut through the drawing should fall outside them."""
    root = ElementTree.fromstring(svg.encode("utf-8"))
    graph = root.find(f"{_SVG}g")
    transform = graph.get("transform", "") if graph is not None else ""
    shift = re.search(r"translate\(([-\d.]+)", transform)
    offset = float(shift.group(1)) if shift else 0.0
    spans = []
    for group in root.iter(f"{_SVG}g"):
        xs: list[float] = []
        if group.get("class") == "node":
            for element in group.iter():
                xs += [float(x) for x in re.findall(r"([-\d.]+),[-\d.]+",
                                                      element.get("points", ""))]
                cx = element.get("cx")
                if cx is not None:
                    rx = float(element.get("rx", 0))
                    xs += [float(cx) - rx, float(cx) + rx]
        elif group.get("class") == "edge":
            for text in group.iter(f"{_SVG}text"):
                x, size = float(text.get("x", 0)), float(text.get("font-size", 10))
                width = 0.6 * size * len(text.text or "")  # Helvetica's average advance
                start = {"middle": x - width / 2, "end": x - width}.get(
                    text.get("text-anchor", "start"), x)
                xs += [start, start + width]
        if xs:
            spans.append(((min(xs) + offset) * PX_PER_PT, (max(xs) + offset) * PX_PER_PT))
    return spans


def still_cuts(svg: str,
               piece_width: float = STILL_WIDTH / MIN_SCALE) -> list[tuple[float, float]]:
    """Where to cut the drawing into pieces at most `piece_width` CSS px wide, left to right:
    in a gap between boxes where one is in the second half of a piece, else straight through."""
    width = natural_width(svg)
    spans = _occupied(svg)
    margin = 3.0
    cuts, start = [], 0.0
    while width - start > piece_width:
        limit = start + piece_width
        candidates = [end + margin for _, end in spans if start + piece_width / 2 <= end + margin
                      <= limit]
        free = [x for x in candidates if not any(low < x < high for low, high in spans)]
        cut = max(free, default=limit)
        cuts.append((start, cut))
        start = cut
    cuts.append((start, width))
    return cuts


def still_pictures(png: bytes, svg: str, density: float) -> list[tuple[bytes, int]]:
    """The PNG (drawn at `density` pixels per CSS px) cut where still_cuts says, each piece as
    (PNG bytes, its width in CSS px); one piece, the PNG itself, when the drawing is narrow.
    A piece keeps only the rows that something is drawn on (the legend is in the first)."""
    cuts = still_cuts(svg)
    if len(cuts) == 1:
        return [(png, round(natural_width(svg)))]
    from PIL import Image, ImageOps  # matplotlib's dependency, so installed with this package

    pieces = []
    margin = round(4 * density)
    with Image.open(io.BytesIO(png)) as image:
        for start, end in cuts:
            left, right = round(start * density), min(image.width, round(end * density))
            piece = image.crop((left, 0, right, image.height)).convert("RGB")
            drawn = ImageOps.invert(piece).getbbox()  # what is not white
            if drawn is not None:
                top, bottom = max(0, drawn[1] - margin), min(piece.height, drawn[3] + margin)
                piece = piece.crop((0, top, piece.width, bottom))
            encoded = io.BytesIO()
            piece.save(encoded, format="PNG")
            pieces.append((encoded.getvalue(), round((right - left) / density)))
    return pieces


def graph_html(svg: str, stills: list[tuple[bytes, int]], title: str = "the graph") -> str:
    """The output's HTML: a viewer that fits the SVG to the output (zoom and pan when it is too
    big), and the still pictures a notebook that runs no scripts shows instead."""
    width, height = natural_size(svg)
    svg = svg[svg.index("<svg"):]  # no XML prolog or doctype inside HTML
    data = {"svg": svg, "width": width, "height": height, "minScale": MIN_SCALE,
            "output": output_node(svg)}
    script = (TEMPLATES / "graph_view.js").read_text(encoding="utf-8").replace(
        "/*DATA*/null", _script_json(data))
    return (f'<div class="tge-graph"><div class="tge-still">{still_html(stills, title)}</div>'
            f"<script>{script}</script></div>")


def still_html(stills: list[tuple[bytes, int]], title: str) -> str:
    """<img> elements for the still pictures: one at its natural size (or the output's width
    if that is less), or pieces stacked top to bottom, all at one scale."""
    alt = html.escape(title, quote=True)
    if len(stills) == 1:
        png, picture_width = stills[0]
        return (f'<div><img alt="{alt}" width="{picture_width}" '
                f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></div>')
    piece_width = STILL_WIDTH / MIN_SCALE  # every piece is this share of the output's width
    return "".join(
        f'<div><img alt="{alt}, part {number} of {len(stills)}" '
        f'style="width:{100 * picture_width / piece_width:.2f}%;max-width:{picture_width}px" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}"></div>'
        for number, (png, picture_width) in enumerate(stills, 1)) + (
        f"<p>The graph in {len(stills)} pieces, left to right. Run the cell (or trust the "
        f"notebook) to see it whole, with zoom and pan.</p>")


def _script_json(data: object) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can appear in it)."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class Digraph(graphviz.Digraph):
    """A graphviz.Digraph drawn by whichever renderer is installed: Graphviz's `dot`, else the
    bundled graphviz-pure. Jupyter shows it fitted to the cell, zoomable, with PNGs kept."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> Any:
        """HTML that fits the output (with still pictures for a notebook that runs no
        scripts), and the whole drawing as PNG for front ends that show no HTML."""
        svg = render_source(self.source, "svg").decode("utf-8")
        density = png_density(svg)
        png = render_source(self.source, "png",
                            command=[*find_renderer(), f"-Gdpi={96 * density:.2f}"])
        bundle = {"text/html": graph_html(svg, still_pictures(png, svg, density)),
                  "image/png": png, "text/plain": repr(self)}
        return bundle, {"image/png": {"width": round(natural_width(svg))}}

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
    content: the still `pictures` of the graph, when given ((PNG bytes, width in CSS px),
    as still_pictures makes them: one, or pieces of a wide graph), and a line saying
    how to see the page.
    """

    def __init__(self, page: str, title: str = "", height: int = 480,
                 pictures: Optional[list[tuple[bytes, int]]] = None) -> None:
        self.html = page
        self.title = title
        self.height = height
        self.pictures = pictures or []

    def _repr_html_(self) -> str:
        """An <iframe> whose document is the page (srcdoc), as wide as the cell."""
        fallback = still_html(self.pictures, self.title) if self.pictures else ""
        fallback += ("<p>An interactive page is here: run this cell (or trust the notebook) "
                     "to step through it.</p>")
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'title="{html.escape(self.title, quote=True)}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd" '
                f'loading="eager">{fallback}</iframe>')

    def save(self, path: Union[str, os.PathLike[str]]) -> Path:
        """Write the page to `path` as a file of its own (opens offline); return the path."""
        return write_atomically(path, self.html)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.title!r}: display it in Jupyter, or save(path)>"


__all__ = ["Digraph", "FramedPage", "graph_html", "still_cuts", "still_pictures", "still_html",
           "natural_size", "natural_width", "output_node", "png_density",
           "MIN_SCALE", "STILL_WIDTH"]
