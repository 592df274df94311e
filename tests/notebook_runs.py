"""The notebooks under notebooks/, each run once per test session through a real Jupyter kernel."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(path.stem for path in NOTEBOOK_FOLDER.glob("*.ipynb"))
TIMEOUT_SECONDS = 300  # per cell; the slowest notebook takes about 10 s in all


def stored(name: str) -> nbformat.NotebookNode:
    """The notebook as it is in the repository."""
    return nbformat.read(NOTEBOOK_FOLDER / f"{name}.ipynb", as_version=4)


@functools.cache
def executed(name: str) -> nbformat.NotebookNode:
    """The notebook after running every cell in order in a fresh python3 kernel.

    Raises nbclient's CellExecutionError, with the cell and its traceback, if a
    cell fails. The kernel runs in a scratch folder, so nothing lands in the repository.
    A notebook whose metadata lists packages it needs (`"tinygrad_edu": {"needs": ["torch"]}`)
    is skipped where one of them is not installed.
    """
    notebook = stored(name)
    for package in notebook.metadata.get("tinygrad_edu", {}).get("needs", []):
        pytest.importorskip(package)
    folder = tempfile.mkdtemp(prefix=f"{name}-")
    NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                   resources={"metadata": {"path": folder}}).execute()
    return notebook


def tagged_cells(notebook: nbformat.NotebookNode, tag: str) -> list[nbformat.NotebookNode]:
    """The code cells carrying `tag` in their metadata."""
    return [cell for cell in notebook.cells
            if cell.cell_type == "code" and tag in cell.metadata.get("tags", [])]


def mime_types(cell: nbformat.NotebookNode) -> set[str]:
    """Every mime type among a cell's rich outputs (results and displays)."""
    return {kind for output in cell.outputs for kind in output.get("data", {})}
