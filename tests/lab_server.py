"""A real JupyterLab for the browser tests: one server per test module, on 127.0.0.1 with a token.

The server runs in a scratch folder with its own Jupyter config and data folders, so
it neither reads nor writes the user's settings or the list of trusted notebooks.
Importing this skips the test module where JupyterLab is not installed (it is in
the dev extra).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# (This file is not named jupyterlab.py: it would hide the package it looks for.)
if importlib.util.find_spec("jupyterlab") is None:
    pytest.skip("needs JupyterLab: pip install -e '.[dev]'", allow_module_level=True)

START_SECONDS = 60  # JupyterLab starts in a few seconds; a busy machine may take longer

# The settings a student's first JupyterLab would show, less the one-time pop-ups
# (news, the "what's new" notice) that would cover the notebook in a screenshot.
SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


class Lab:
    """A running JupyterLab: its folder, its address and how to open a notebook in it."""

    def __init__(self, root: Path, port: int, token: str, env: dict) -> None:
        self.root, self.port, self.token, self.env = root, port, token, env

    def url(self, notebook: str) -> str:
        return f"http://127.0.0.1:{self.port}/lab/tree/{notebook}?token={self.token}&reset"

    def trust(self, notebook: Path) -> None:
        """Sign the notebook, as `jupyter trust` does: its outputs are shown as they were made."""
        subprocess.run([sys.executable, "-m", "jupyter", "trust", str(notebook)], env=self.env,
                       check=True, capture_output=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_lab(root: Path) -> Iterator[Lab]:
    """Start JupyterLab on 127.0.0.1 serving `root`; stop it (and its kernels) at the end."""
    home = root.parent / f"{root.name}-jupyter"
    settings = home / "config" / "lab" / "user-settings"
    for plugin, values in SETTINGS.items():
        package, name = plugin.split(":")
        path = settings / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--ServerApp.port_retries=0",
         "--allow-root"],  # root in CI's containers; harmless for anyone else
        env=env, stdout=subprocess.DEVNULL, stderr=(home / "server.log").open("w"))
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (home / "server.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"JupyterLab did not start:\n{log}") from None
                time.sleep(0.3)
        yield Lab(root, port, token, env)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


__all__ = ["Lab", "running_lab"]
