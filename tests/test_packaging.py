"""The package as pip installs it: one top-level package, demos and page templates inside.

The wheel and the sdist are built from this checkout (offline, with the dev
extra's `build`), the wheel is installed into a new virtual environment, and
the README's commands run from an empty folder, where no checkout can help.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """A folder with the sdist and the wheel built from it, as `python -m build` makes them."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    """A new venv holding only the wheel; its dependencies come from this environment's."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    wheel = next(dist.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True)
    # graphviz, matplotlib, tqdm and graphviz-pure from here: a plain path line, so the
    # editable install of the checkout (a .pth hook in that folder) stays inactive.
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run([str(python), "-c", where], check=True, capture_output=True,
                          text=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    scripts = Path(sysconfig.get_path("scripts"))
    (env / "bin" / "graphviz-pure").symlink_to(scripts / "graphviz-pure")
    return env


def run(env: Path, folder: Path, *command: str) -> subprocess.CompletedProcess:
    """Run a program of the venv in `folder`, as a user would after `pip install`."""
    program = str(env / "bin" / command[0])
    return subprocess.run([program, *command[1:]], cwd=folder, capture_output=True, text=True,
                          timeout=120)


def test_the_wheel_holds_one_top_level_package_with_its_data(dist):
    names = zipfile.ZipFile(next(dist.glob("*.whl"))).namelist()
    assert {name.split("/")[0] for name in names} == {"tinygrad_edu",
                                                      "tinygrad_edu-0.1.0.dist-info"}
    for needed in ("tinygrad_edu/py.typed", "tinygrad_edu/viz/templates/walkthrough.html",
                   "tinygrad_edu/viz/templates/walkthrough.js",
                   "tinygrad_edu/viz/templates/walkthrough.css",
                   "tinygrad_edu/demos/two_paths.py", "tinygrad_edu/demos/README.md",
                   "tinygrad_edu/cli/render.py", "tinygrad_edu/torch.py",
                   "tinygrad_edu/demos/to_pytorch.py"):
        assert needed in names
    # Newer setuptools put license files under dist-info/licenses/.
    assert {"tinygrad_edu-0.1.0.dist-info/LICENSE",
            "tinygrad_edu-0.1.0.dist-info/licenses/LICENSE"} & set(names)
    top_level = zipfile.ZipFile(next(dist.glob("*.whl"))).read(
        "tinygrad_edu-0.1.0.dist-info/top_level.txt").decode()
    assert top_level.split() == ["tinygrad_edu"]


def test_the_sdist_holds_what_its_tests_need(dist):
    with tarfile.open(next(dist.glob("*.tar.gz"))) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    wanted = [name for name in tracked.stdout.split()
              if name.startswith(("tinygrad_edu/", "viz/", "demos/", "tests/", "bench/",
                                  "docs/", "notebooks/"))
              or name in ("Makefile", "setup.cfg", "pyproject.toml", "LICENSE", "README.md",
                          ".ci/run")]
    assert [name for name in wanted if name not in names] == []


def test_the_installed_command_runs_the_readme_from_an_empty_folder(installed, tmp_path):
    version = run(installed, tmp_path, "tinygrad-edu", "--version")
    assert version.returncode == 0 and version.stdout.strip() == "tinygrad-edu 0.1.0"
    listing = run(installed, tmp_path, "tinygrad-edu", "demo", "--help")
    assert listing.returncode == 0
    assert "two_paths" in listing.stdout and "when one value feeds two branches" in listing.stdout
    demo = run(installed, tmp_path, "tinygrad-edu", "demo", "two_paths")
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "out" / "two_paths.svg").is_file()
    render = run(installed, tmp_path, "tinygrad-edu", "render", "d = 2*b; e = a + d; L = c*e",
                 "--set", "a=3", "b=1", "c=-2", "--walkthrough", "steps.html", "-o", "g.svg")
    assert render.returncode == 0, render.stderr
    assert "<svg" in (tmp_path / "g.svg").read_text() and (tmp_path / "steps.html").is_file()


def test_the_installed_package_imports_as_one_namespace(installed, tmp_path):
    code = ("import tinygrad_edu, tinygrad_edu.viz as v, tinygrad_edu.demos as d; "
            "print(tinygrad_edu.__file__); print(v.__file__); print(d.__file__)")
    where = run(installed, tmp_path, "python", "-c", code)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(installed)
    assert run(installed, tmp_path, "python", "-c", "import viz").returncode != 0


def test_the_installed_bridge_imports_pytorch_not_itself(installed, tmp_path):
    """tinygrad_edu/torch.py's `import torch` is PyTorch from the wheel too, or a clear error."""
    code = ("import tinygrad_edu.torch as bridge; print(bridge.__file__); "
            "print(bridge.torch.__name__, hasattr(bridge.torch, 'tensor'))")
    where = run(installed, tmp_path, "python", "-c", code)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert where.returncode == 1
        assert ("ImportError: tinygrad_edu.torch needs PyTorch, which is not installed: "
                "pip install 'tinygrad_edu[torch]'") in where.stderr
        return
    assert where.returncode == 0, where.stderr
    path, answer = where.stdout.splitlines()
    assert Path(path).is_relative_to(installed) and answer == "torch True"
