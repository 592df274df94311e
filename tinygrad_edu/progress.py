"""The progress bar of training: a widget in Jupyter, a text bar in a terminal, else nothing.

Whichever it is, it leaves one line behind when training ends, never one line
per update: a saved notebook or a log shows a single finished bar.
"""

from __future__ import annotations

import io
import sys
from typing import Any, Optional


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code), where a widget can be shown."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return shell is not None and "IPKernelApp" in shell.config


def interactive() -> bool:
    """True when someone is watching: a Jupyter kernel, or stderr is a terminal."""
    return in_notebook() or sys.stderr.isatty()


def progress_bar(total: int, show: Optional[bool] = None, desc: str = "training") -> Any:
    """A tqdm bar over `total` steps: show=None shows it only when interactive(), False never.

    In Jupyter the bar is a widget (tqdm.notebook) when ipywidgets is installed,
    and the text a saved notebook keeps beside it is its final state; without
    ipywidgets the text bar goes to a buffer and only its last state is printed,
    once, on close(), since a notebook keeps every redraw of a text bar.
    """
    from tqdm import tqdm

    visible = interactive() if show is None else show
    options: dict[str, Any] = {"total": total, "desc": desc, "unit": "step",
                               "disable": not visible, "leave": True}
    if visible and in_notebook():
        try:
            import ipywidgets  # noqa: F401  # tqdm.notebook needs it for the widget
        except ImportError:
            return _LastLineBar(**options)
        return _notebook_bar(**options)
    return tqdm(**options)


def _notebook_bar(**options: Any) -> Any:
    """tqdm's widget bar, shown through a display handle that close() updates.

    A notebook saves a widget's text form as it was when first shown ("0/200");
    updating the display at the end makes the saved text the finished bar.
    """
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm

    class NotebookBar(notebook_tqdm):
        def close(self) -> None:
            if self.disable:  # closed already (tqdm calls close() again on deletion)
                return
            super().close()
            handle.update(self.container)

    bar = NotebookBar(display=False, **options)
    handle = display(bar.container, display_id=True)
    bar.displayed = True
    return bar


class _LastLineBar:
    """A text bar drawn into a buffer; close() prints its final line to stderr, once."""

    def __init__(self, **options: Any) -> None:
        from tqdm import tqdm

        self._bar = tqdm(file=io.StringIO(), **options)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def set_postfix(self, **values: Any) -> None:
        self._bar.set_postfix(**values)

    def close(self) -> None:
        if not self._bar.disable:
            print(str(self._bar), file=sys.stderr)
        self._bar.close()


__all__ = ["in_notebook", "interactive", "progress_bar"]
