"""The README stays true: its REPL examples print what it says, and its commands run."""

import doctest
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_print_what_the_readme_shows():
    failures, attempted = doctest.testfile(str(README), module_relative=False,
                                           optionflags=doctest.ELLIPSIS)
    assert attempted > 0, "the README should have REPL examples"
    assert failures == 0


def readme_commands() -> list[str]:
    """Every `tinygrad-edu ...` line of the README's sh blocks, continuations joined."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("tinygrad-edu "):
                commands.append(line)
    return commands


def test_the_readme_shows_commands():
    assert len(readme_commands()) >= 3


def needs_torch(text: str) -> bool:
    """True for a command or code block that uses PyTorch (skipped where it is not installed)."""
    return any(word in text for word in ("--export-torch", "to_pytorch", "tinygrad_edu.torch"))


@pytest.mark.slow
@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs(command, tmp_path, monkeypatch, capsys):
    if needs_torch(command):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # commands write under out/: keep that in a scratch folder
    (tmp_path / "out").mkdir()
    assert main(shlex.split(command)[1:]) == 0, capsys.readouterr().err


def readme_code_blocks() -> list[str]:
    """The README's ```python blocks that are code to run, not REPL sessions."""
    text = README.read_text(encoding="utf-8")
    return [block for block in re.findall(r"```python\n(.*?)```", text, flags=re.S)
            if ">>>" not in block]


@pytest.mark.slow
@pytest.mark.parametrize("block", readme_code_blocks(), ids=lambda block: block.split("\n")[0])
def test_readme_code_block_runs(block, tmp_path):
    if needs_torch(block):
        pytest.importorskip("torch")
    finished = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True,
                              text=True, check=False)
    assert finished.returncode == 0, finished.stderr
