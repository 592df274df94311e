"""A user's code that follows the README type-checks clean under mypy, with the shipped py.typed.

Every Python example of the README (the REPL examples and the code blocks)
becomes one module, and mypy checks them all against the package as pip would
install it: a folder laid out like site-packages (tinygrad_edu, with viz and
demos inside it, as setup.cfg maps them), with py.typed in it.
"""

from __future__ import annotations

import configparser
import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def installed_as() -> dict[str, Path]:
    """Each package setup.cfg installs, as its folder in site-packages, and the repository's
    folder it comes from (tinygrad_edu.viz is viz/, tinygrad_edu.cli is tinygrad_edu/cli/)."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    options = setup["options"]
    mapped = dict(line.split(" = ") for line in options["package_dir"].strip().splitlines())
    return {package.replace(".", "/"): ROOT / mapped.get(package, package.replace(".", "/"))
            for package in options["packages"].split()}


def readme_examples() -> list[str]:
    """The README's Python as modules: its REPL examples as one (doctest runs them in one
    namespace, in order), and each ```python code block as one of its own."""
    text = README.read_text(encoding="utf-8")
    session, examples = [], []
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        if ">>>" in block:
            parsed = doctest.DocTestParser().get_examples(block)
            session.extend(example.source for example in parsed)
        else:
            examples.append(block)
    return ["".join(session), *examples]


def installed_layout(folder: Path) -> Path:
    """A site-packages-like folder of links to the package's files; returns it."""
    for target, source in installed_as().items():
        (folder / target).mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.suffix in (".py", ".typed"):
                (folder / target / path.name).symlink_to(path)
    return folder


def test_the_readme_has_examples_using_the_notebook_api():
    code = "\n".join(readme_examples())
    for name in ("viz.draw_dot", "viz.walkthrough", "fit(", "viz.plot_decision_boundary"):
        assert name in code


def test_readme_examples_type_check_clean(tmp_path):
    site = installed_layout(tmp_path / "site")
    assert (site / "tinygrad_edu" / "py.typed").exists()
    files = []
    for index, source in enumerate(readme_examples()):
        files.append(tmp_path / f"readme_example_{index}.py")
        files[-1].write_text(source, encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), *map(str, files)],
        capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(site)}, check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr


@pytest.fixture(scope="module")
def package_site(tmp_path_factory):
    """The installed-like package, and one mypy cache for the checks of it below."""
    folder = tmp_path_factory.mktemp("package")
    return installed_layout(folder / "site"), folder / "cache"


def check_package(site: Path, cache: Path) -> subprocess.CompletedProcess:
    """mypy on every module of tinygrad_edu in `site`, with the project's settings."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(cache), "-p", "tinygrad_edu"],
        capture_output=True, text=True, cwd=site, check=False)


def test_the_package_itself_type_checks_clean(package_site):
    """mypy on tinygrad_edu as pip installs it (cli, tracing, viz and demos inside), with the
    project's settings from pyproject.toml: no module is exempt, so every error counts."""
    site, cache = package_site
    assert (site / "tinygrad_edu" / "viz" / "dot.py").exists()
    assert (site / "tinygrad_edu" / "tracing" / "recording.py").exists()
    finished = check_package(site, cache)
    checked = re.search(r"no issues found in (\d+) source files", finished.stdout)
    assert finished.returncode == 0 and checked, finished.stdout + finished.stderr
    # Every module of the package was read, not only the ones the top level imports.
    assert int(checked.group(1)) == sum(1 for _ in site.rglob("*.py"))


def test_the_package_check_would_catch_an_error(package_site):
    """The check above can fail: one wrong type in one module of the package is an error."""
    site, cache = package_site
    wrong = site / "tinygrad_edu" / "demos" / "wrong.py"
    wrong.write_text("from tinygrad_edu import Value\n"
                     "def data(v: Value) -> str:\n"
                     "    return v.data\n", encoding="utf-8")
    try:
        finished = check_package(site, cache)
    finally:
        wrong.unlink()
    assert finished.returncode == 1, finished.stdout
    assert "tinygrad_edu/demos/wrong.py:3: error" in finished.stdout, finished.stdout


def test_mypy_would_catch_a_wrong_type(tmp_path):
    """The check above can fail: a loss given a list where a Value belongs is an error."""
    site = installed_layout(tmp_path / "site")
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from tinygrad_edu.losses import binary_cross_entropy_with_logits\n"
                     "from tinygrad_edu.nn import MLP\n"
                     "model = MLP(2, [4, 3])\n"
                     "binary_cross_entropy_with_logits(model.outputs([1.0, 2.0]), 1)\n",
                     encoding="utf-8")
    finished = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), str(wrong)],
        capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(site)}, check=False)
    assert finished.returncode == 1 and "arg-type" in finished.stdout, finished.stdout
