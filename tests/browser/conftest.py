"""Playwright (sync API) on Debian's Chromium against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse database access from it
unless ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set; the tests only touch the database to arrange and check data.
When a test fails, a screenshot of the page is saved under ``test-artifacts/``.
"""

from __future__ import annotations

import atexit
import os
import re
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# One Playwright and one Chromium per test process, whichever conftest asks for them: other test packages import
# these fixtures into their own conftest (a separate fixture definition), and Playwright's sync API cannot be
# started twice in one thread.
_shared: dict = {}


def _stop_shared_browser() -> None:
    browser, playwright = _shared.pop("browser", None), _shared.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


def shared_browser():
    if "browser" not in _shared:
        from playwright.sync_api import sync_playwright

        _shared["playwright"] = sync_playwright().start()
        _shared["browser"] = _shared["playwright"].chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        atexit.register(_stop_shared_browser)
    return _shared["browser"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (run `make browser`)")
    return shared_browser()


def browser_page(browser, request, **options):
    """A page in a context of its own (``options`` go to ``browser.new_context``) for a fixture to ``yield from``;
    when the test failed, a full-page picture of it is saved under test-artifacts/."""
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page(browser, request):
    yield from browser_page(browser, request, accept_downloads=True, viewport={"width": 1400, "height": 1000},
                            locale="en-US")
