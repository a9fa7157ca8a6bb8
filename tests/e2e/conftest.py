"""Fixtures of the browser tests: the real app served by werkzeug in a thread, and Debian's Chromium
driven through Playwright (sync API); and the small register of tests/register for the registration
services. Helpers are in support.py."""

import threading

import pytest

from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, console_problem, response_problem
from tests.register.conftest import pdf_upload, register_units  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def live_server(app):
    """The real app on 127.0.0.1:<free port>, one thread per request, as long as the test module runs."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Opens a page in a fresh browser context (its own cookie jar, hence its own session)."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.problems = []  # uncaught script errors, console errors and failed requests, for asserting on
        page.on("pageerror", lambda exc: page.problems.append(f"script error: {exc}"))
        page.on("console", lambda msg: console_problem(page, msg))
        page.on("response", lambda r: response_problem(page, r))
        page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url} {r.failure}"))
        return page

    yield make
    for context in contexts:
        context.close()
