"""The back office's browser fixtures (Playwright on Debian's Chromium), reused for the Amazon screens."""

from tests.browser.conftest import browser, page, pytest_runtest_makereport  # noqa: F401
