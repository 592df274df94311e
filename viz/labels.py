"""Text on a drawing: labels made safe for Graphviz, and numbers written to a fixed precision.

Shared by the graph (`dot.py`), its module clusters (`clusters.py`) and the
step-by-step page (`walkthrough.py`), so a number reads the same everywhere.
"""

from __future__ import annotations

import html


def escape_label(text: str) -> str:
    """Text made safe inside a Graphviz HTML-like label: shown exactly as written."""
    text = "".join(ch if ch.isprintable() else _escape_unprintable(ch) for ch in text)
    # XML entities for & < > " ', then backslashes doubled: Graphviz reads `\N`, `\G`,
    # `\\` in labels as escapes even inside HTML-like labels.
    return html.escape(text, quote=True).replace("\\", "\\\\")


def _escape_unprintable(ch: str) -> str:
    """A control character or lone surrogate written as `\\x07`, `\\n`, `\\ud800`."""
    return ch.encode("unicode_escape", "backslashreplace").decode("ascii")


def format_number(number: float, decimals: int = 4) -> str:
    """`-4.0000` for decimals=4; very large or tiny non-zero numbers in e-notation."""
    if number == 0.0:
        return f"{0.0:.{decimals}f}"  # no '-0.0000'
    if abs(number) >= 1e6 or abs(number) < 0.5 * 10.0 ** -decimals:
        return f"{number:.{max(decimals - 1, 1)}e}"
    return f"{number:.{decimals}f}"


__all__ = ["escape_label", "format_number"]
