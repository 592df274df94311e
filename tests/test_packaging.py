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
                   "tinygrad_edu/viz/templates/graph_view.js",
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


def _extras() -> dict:
    """setup.cfg's extras, each as {distribution name: its Requirement}."""
    import configparser

    from packaging.requirements import Requirement

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    extras = config["options.extras_require"]
    return {extra: {(r := Requirement(line)).name: r
                    for line in extras[extra].splitlines() if line.strip()}
            for extra in extras}


def test_the_bench_extra_installs_everything_make_bench_compares_against():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import bench_training
    finally:
        sys.path.remove(str(ROOT / "bench"))
    bench = _extras()["bench"]
    assert {"micrograd", "numpy", "torch", "jax", "jaxlib"} <= set(bench)
    assert str(bench["micrograd"].specifier) == "==0.1.0"
    for name, (major, minor) in bench_training.BENCH_EXTRA_NEEDS_PYTHON.items():
        # installed where a release of it exists, and the skip note says so elsewhere
        for distribution in (name, "jaxlib") if name == "jax" else (name,):
            assert str(bench[distribution].marker) == f'python_version >= "{major}.{minor}"'
            assert bench[distribution].marker.evaluate({"python_version": f"{major}.{minor}"})
            assert not bench[distribution].marker.evaluate(
                {"python_version": f"{major}.{minor - 1}"})
        note = bench_training.not_installed(name)
        if sys.version_info[:2] >= (major, minor):
            assert "pip install -e '.[bench]'" in note and "make bench" in note
        else:
            assert f"Python {major}.{minor}+" in note
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet -e '.[bench]'" in makefile or "-e '.[bench]'" in makefile


def test_the_testing_extra_brings_pytest_which_the_readmes_test_needs():
    testing = _extras()["testing"]
    assert {"hypothesis", "pytest"} <= set(testing)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -e '.[testing]'" in readme and "def test_" in readme


FAKE_PYTHON = """#!/bin/sh
# Stands in for python3: `-m venv DIR` makes a venv whose pip is as noisy as a real one.
[ "$1" = "-m" ] && [ "$2" = "venv" ] || exit 9
mkdir -p "$3/bin"
cat > "$3/bin/python" <<'PY'
#!/bin/sh
for i in $(seq 13); do echo "pip says line $i"; echo "pip warns line $i" >&2; done
[ -n "$PIP_FAILS" ] && exit 1
exit 0
PY
printf '#!/bin/sh\\necho "Lecture 5: the computation graph"\\n' > "$3/bin/tinygrad-edu"
chmod +x "$3/bin/python" "$3/bin/tinygrad-edu"
"""


@pytest.mark.parametrize("pip_fails", [False, True])
def test_make_demo_starts_with_the_lecture_not_the_installers_output(tmp_path, pip_fails):
    for name in ("Makefile", "setup.cfg", "pyproject.toml"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    python = tmp_path / "fake-python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", **({"PIP_FAILS": "1"} if pip_fails else {})}
    run = subprocess.run(["make", "--no-print-directory", "demo", f"PYTHON={python}"],
                         cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    if pip_fails:  # then everything pip said is shown, and where it is kept
        assert run.returncode != 0
        assert run.stderr.count("pip warns line") == 13 and "pip failed" in run.stderr
        return
    assert run.returncode == 0, run.stderr
    assert run.stdout == ("Installing into .venv (pip's output: .venv/install.log)\n"
                          "Lecture 5: the computation graph\n")
    assert run.stderr == ""
    assert (tmp_path / ".venv" / "install.log").read_text().count("pip warns line") == 26
