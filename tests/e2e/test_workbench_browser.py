"""Browser tests of the clerk workbench and task page: the real app served by werkzeug in a thread, driven by
Debian's Chromium through Playwright (sync API). Selectors use data-testid / data-* attributes / form field names
and values only, so the tests pass whatever the UI language."""

import os
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
SCREENSHOT_DIR = Path(os.environ.get("E2E_SCREENSHOT_DIR", "/tmp/smartland-e2e"))
VENDOR_BUNDLE = (Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "bpmn-js"
                 / "bpmn-navigated-viewer.production.min.js")
NANLING, ZIQIANG = "220102001", "220102002"
VIEWS = ("mine", "unclaimed", "due_soon", "overdue", "all")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


# ----------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def live_server(app):
    """The real app on 127.0.0.1:<free port>, one thread per request, as long as this module runs."""
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
        page.on("console", lambda msg: _console_problem(page, msg))
        page.on("response", lambda r: _response_problem(page, r))
        page.on("requestfailed", lambda r: page.problems.append(f"request failed: {r.url} {r.failure}"))
        return page

    yield make
    for context in contexts:
        context.close()


def _console_problem(page, msg) -> None:
    # A failed load is also logged to the console without its URL; _response_problem reports it with the URL.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        page.problems.append(f"console error: {msg.text}")


def _response_problem(page, response) -> None:
    # Expected 404s are asserted on where they happen; the browser's own favicon probe is not the app's concern.
    if response.status >= 400 and not response.url.endswith("/favicon.ico") and not getattr(page, "expect_404", False):
        page.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def _settle():
    """End the test thread's transaction so the server threads see (and may lock) everything."""
    from app.extensions import db

    db.session.commit()


def _open_task_id(case_id: int, bpmn_id: str) -> int:
    from app.engine.models import HumanTask
    from app.extensions import db

    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id,
                                                           HumanTask.bpmn_id == bpmn_id))
    db.session.commit()
    assert task_id is not None, f"no open {bpmn_id} task for case {case_id}"
    return task_id


def login(page, username: str):
    from app.demo_data import DEMO_PASSWORD

    page.goto("/login")
    form = page.locator("main form:has(input[name='username'])")
    form.locator("input[name='username']").fill(username)
    form.locator("input[name='password']").fill(DEMO_PASSWORD)
    form.locator("button[type='submit']").click()
    page.wait_for_url(re.compile(r"/workbench(\?|$)"))
    expect(page.get_by_test_id("who")).to_be_visible()


def queue_row(page, case_no: str):
    return page.locator(f"table.queue tbody tr[data-case-no='{case_no}']")


# ----------------------------------------------------------------------------------------------- tests


def test_clerk_accepts_and_county_reviewer_sees_progress(ctx, users, make_case, new_page):
    assert VENDOR_BUNDLE.exists(), "bpmn-js viewer assets missing: run `npm ci && npm run vendor`"
    case = make_case(NANLING)
    case_id, case_no = case.id, case.case_no
    accept_task = _open_task_id(case_id, "accept")
    clerk_name = users["nanling_clerk"].display_name
    _settle()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    # --- A: the township clerk claims and accepts -------------------------------------------------
    clerk = new_page()
    login(clerk, "nanling_clerk")
    clerk.goto("/workbench?view=unclaimed")  # explicit: the default tab is a policy of its own
    expect(clerk.locator("nav.tabs a.active")).to_have_attribute("data-view", "unclaimed")
    expect(clerk.get_by_test_id("count-unclaimed")).to_have_text("1")
    row = queue_row(clerk, case_no)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-task-id", str(accept_task))
    clerk.screenshot(path=str(SCREENSHOT_DIR / "workbench.png"), full_page=True)

    row.locator("form[action$='/claim'] button[type='submit']").click()
    clerk.wait_for_url(re.compile(rf"/tasks/{accept_task}$"))
    expect(clerk.locator(".flash.success")).to_be_visible()
    expect(clerk.get_by_test_id("assignee")).to_have_text(clerk_name)
    expect(clerk.get_by_test_id("case-no")).to_have_text(case_no)

    form = clerk.get_by_test_id("task-form")
    form.locator("input[name='task-decision'][value='accept']").check()
    form.locator("button[type='submit']").click()
    clerk.wait_for_url(re.compile(r"/workbench(\?|$)"))
    expect(clerk.locator(".flash.success")).to_be_visible()
    expect(queue_row(clerk, case_no)).to_have_count(0)
    expect(clerk.locator(f"tr[data-task-id='{accept_task}']")).to_have_count(0)
    expect(clerk.get_by_test_id("count-unclaimed")).to_have_text("0")
    expect(clerk.get_by_test_id("count-mine")).to_have_text("0")
    for view in ("unclaimed", "mine"):
        clerk.goto(f"/workbench?view={view}")
        expect(clerk.locator("nav.tabs a.active")).to_have_attribute("data-view", view)
        expect(queue_row(clerk, case_no)).to_have_count(0)
    assert clerk.problems == []

    # --- B: the county reviewer, in a separate session, sees the next step ------------------------
    review_task = _open_task_id(case_id, "county_review")
    reviewer = new_page()
    login(reviewer, "nanguan_reviewer")
    reviewer.goto("/workbench?view=unclaimed")
    expect(reviewer.get_by_test_id("count-unclaimed")).to_have_text("1")
    row = queue_row(reviewer, case_no)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-task-id", str(review_task))
    row.locator(f"a[href$='/tasks/{review_task}']").click()
    reviewer.wait_for_url(re.compile(rf"/tasks/{review_task}$"))

    expect(reviewer.get_by_test_id("case-no")).to_have_text(case_no)
    due = reviewer.get_by_test_id("due-state")
    expect(due).to_be_visible()
    expect(due).to_have_attribute("data-state", re.compile(r"^(green|amber|red)$"))
    expect(due.locator(".due")).to_be_visible()

    diagram = reviewer.locator(".bpmn-diagram")
    expect(diagram).to_have_attribute("data-state", "ready")
    expect(diagram.locator("svg").first).to_be_visible()
    expect(diagram.locator("g.djs-element[data-element-id='accept']")).to_have_class(re.compile(r"\bbpmn-completed\b"))
    expect(diagram.locator("g.djs-element[data-element-id='county_review']")).to_have_class(
        re.compile(r"\bbpmn-current\b"))
    expect(diagram.locator("g.djs-element[data-element-id='city_approve']")).not_to_have_class(
        re.compile(r"\bbpmn-(completed|current)\b"))
    reviewer.screenshot(path=str(SCREENSHOT_DIR / "task.png"), full_page=True)
    assert reviewer.problems == []


def test_other_township_clerk_cannot_see_the_task(ctx, make_case, new_page):
    case = make_case(NANLING)
    own = make_case(ZIQIANG, title="自强街道测试宗地")  # a control: the clerk does see their own township's work
    case_no, case_id, own_no = case.case_no, case.id, own.case_no
    task_id = _open_task_id(case_id, "accept")
    _settle()

    page = new_page()
    login(page, "ziqiang_clerk")
    page.goto("/workbench?view=unclaimed")
    expect(queue_row(page, own_no)).to_have_count(1)
    for view in VIEWS:
        page.goto(f"/workbench?view={view}")
        expect(page.locator("nav.tabs a.active")).to_have_attribute("data-view", view)
        expect(queue_row(page, case_no)).to_have_count(0)
        expect(page.locator(f"tr[data-task-id='{task_id}']")).to_have_count(0)

    assert page.problems == []

    page.expect_404 = True
    for path in (f"/tasks/{task_id}", f"/cases/{case_id}", f"/cases/{case_id}/diagram.bpmn"):
        response = page.goto(path)
        assert response is not None, path
        assert response.status == 404, path
