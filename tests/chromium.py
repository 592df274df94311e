"""Headless Chromium for the browser tests, through Playwright; importing this skips the test
module where either is missing. Playwright never downloads a browser here: it is pointed at an
installed Chromium (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

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


@contextlib.contextmanager
def page_opener(browser, width: int, height: int) -> Iterator:
    """A function that opens a local file in a page of this size, offline (a request that
    would leave the machine is refused at once); any script error in the page fails the test."""
    errors: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/*", lambda route: route.continue_()
               if route.request.url.startswith(("file:", "data:", "about:")) else route.abort())

    def open_(path):
        page.goto(path.as_uri())
        return page

    yield open_
    page.close()
    assert errors == []


__all__ = ["sync_api", "browser", "page_opener", "CHROMIUM", "CHROMIUM_ARGS"]
