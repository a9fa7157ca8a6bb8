"""Browser tests of the clerk workbench and task page: the real app served by werkzeug in a thread, driven by
Debian's Chromium through Playwright (sync API). Selectors use data-testid / data-* attributes / form field names
and values only, so the tests pass whatever the UI language."""

import re
from pathlib import Path

import pytest

from tests.e2e.support import CHROMIUM, NANLING, SCREENSHOT_DIR, ZIQIANG, login, open_task_id, queue_row, settle

VENDOR_BUNDLE = (Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "bpmn-js"
                 / "bpmn-navigated-viewer.production.min.js")
VIEWS = ("mine", "unclaimed", "due_soon", "overdue", "all")

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


# ----------------------------------------------------------------------------------------------- tests


def test_clerk_accepts_and_county_reviewer_sees_progress(ctx, users, make_case, new_page):
    assert VENDOR_BUNDLE.exists(), "bpmn-js viewer assets missing: run `npm ci && npm run vendor`"
    case = make_case(NANLING)
    case_id, case_no = case.id, case.case_no
    accept_task = open_task_id(case_id, "accept")
    clerk_name = users["nanling_clerk"].display_name
    settle()
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
    review_task = open_task_id(case_id, "county_review")
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
    task_id = open_task_id(case_id, "accept")
    settle()

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
