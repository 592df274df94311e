"""Headless Chromium for the browser tests, through Playwright; importing this skips the test
module where either is missing. Playwright never downloads a browser here: it is pointed at an
installed Chromium (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)."""

from __future__ import annotations

import os
import shutil

import pytest

try:
    from playwright import sync_api
except ImportError:  # not installed, or installed without what it needs
    pytest.skip("needs the browser extra: pip install -e '.[browser]'", allow_module_level=True)
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (found for name in ("chromium", "chromium-browser", "google-chrome")
     if (found := shutil.which(name))), None)
if CHROMIUM is None:
    pytest.skip("no Chromium installed (Debian: apt-get install chromium)",
                allow_module_level=True)

# Headless, and quiet on the network: this machine has none, and the pages need none.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]



@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


__all__ = ["sync_api", "browser", "CHROMIUM", "CHROMIUM_ARGS"]
