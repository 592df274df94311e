"""tinygrad_edu.progress: fit's bar shows when someone watches, and leaves one line behind."""

from __future__ import annotations

import sys
import types

from tinygrad_edu import progress
from tinygrad_edu.data import make_moons
from tinygrad_edu.nn import MLP
from tinygrad_edu.optim import Adam
from tinygrad_edu.train import fit


def train(steps: int = 12, **options) -> None:
    X, y = make_moons(n_samples=20, seed=0)
    model = MLP(2, [4, 1], seed=0)
    fit(model, X, y, Adam(model.parameters(), lr=0.05), steps=steps, **options)


def test_no_bar_by_default_when_output_is_not_a_terminal(capsys):
    assert not progress.interactive()  # pytest captures stderr: not a terminal, no kernel
    train()
    assert capsys.readouterr().err == ""


def test_progress_true_shows_the_bar_anyway_and_false_never(capsys):
    train(progress=True)
    assert "training" in capsys.readouterr().err
    train(progress=False)
    assert capsys.readouterr().err == ""


def test_in_a_terminal_the_bar_shows_by_default(capsys, monkeypatch):
    monkeypatch.setattr(progress, "interactive", lambda: True)
    train()
    err = capsys.readouterr().err
    assert "12/12" in err and "loss=" in err


def fake_kernel(monkeypatch) -> None:
    """Make in_notebook() see a Jupyter kernel, as tqdm.autonotebook does."""
    shell = types.SimpleNamespace(config={"IPKernelApp": {}})
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))


def test_in_jupyter_without_ipywidgets_one_final_line_is_printed(capsys, monkeypatch):
    fake_kernel(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    assert progress.in_notebook()
    train(steps=30)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\r" not in err  # one line, not one per redraw
    assert "30/30" in err and "accuracy=" in err
