"""Playwright in Debian's Chromium against pytest-django's live server."""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium not found: scripts/test installs Debian's chromium package.")
    return path


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, closed when they are done.

    Playwright's sync API keeps an event loop running in the test thread while it is open,
    so Django's async-safety check would refuse the tests' own ORM calls; it is turned off
    for exactly that long, and stays on for the rest of the suite.
    """
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=_chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
