"""Without PyTorch, the bridge says how to get it; everything else works as before.

These run whether or not torch is installed: its absence is simulated with
`sys.modules["torch"] = None`, which is how Python marks a module that cannot be imported.
"""

from __future__ import annotations

import sys

import pytest

from tinygrad_edu.cli import main

MESSAGE = ("tinygrad_edu.torch needs PyTorch, which is not installed: "
           "pip install 'tinygrad_edu[torch]'")


@pytest.fixture
def no_torch(monkeypatch):
    """A Python in which `import torch` fails, and the bridge is imported afresh."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "tinygrad_edu.torch", raising=False)


def test_importing_the_bridge_says_how_to_get_pytorch(no_torch):
    with pytest.raises(ImportError) as missing:
        import tinygrad_edu.torch  # noqa: F401
    assert str(missing.value) == MESSAGE


def test_train_export_torch_without_pytorch_is_one_line_and_writes_nothing(
        no_torch, tmp_path, capsys):
    argv = ["train", "--steps", "1", "--out", str(tmp_path / "out"),
            "--export-torch", str(tmp_path / "model.pt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"tinygrad-edu train: error: --export-torch: {MESSAGE}\n"
    assert list(tmp_path.iterdir()) == []


def test_the_demo_without_pytorch_says_what_it_needs(no_torch, capsys):
    assert main(["demo", "to_pytorch"]) == 1
    assert capsys.readouterr().err == f"to_pytorch: {MESSAGE}\n"
