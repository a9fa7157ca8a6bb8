"""Helpers shared by the browser tests (the fixtures are in conftest.py): logging in, reading the
database from the test thread without holding locks the server threads need, and saying what a page
says in the page's own language. Playwright is imported where used, so a machine without it only
skips the browser tests."""

import os
import re
from pathlib import Path

from sqlalchemy import select

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync"]
SCREENSHOT_DIR = Path(os.environ.get("E2E_SCREENSHOT_DIR", "/tmp/smartland-e2e"))
NANLING, ZIQIANG = "220102001", "220102002"


def console_problem(page, msg) -> None:
    # A failed load is also logged to the console without its URL; response_problem reports it with the URL.
    if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
        page.problems.append(f"console error: {msg.text}")


def response_problem(page, response) -> None:
    # Expected 404s are asserted on where they happen; the browser's own favicon probe is not the app's concern.
    if response.status >= 400 and not response.url.endswith("/favicon.ico") and not getattr(page, "expect_404", False):
        page.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")


def settle():
    """End the test thread's transaction so the server threads see (and may lock) everything."""
    from app.extensions import db

    db.session.commit()


def open_task_id(case_id: int, bpmn_id: str) -> int:
    from app.engine.models import HumanTask
    from app.extensions import db

    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id,
                                                           HumanTask.bpmn_id == bpmn_id))
    db.session.commit()
    assert task_id is not None, f"no open {bpmn_id} task for case {case_id}"
    return task_id


def _submit_login(page, username: str) -> None:
    from app.demo_data import DEMO_PASSWORD

    page.goto("/login")
    form = page.locator("main form:has(input[name='username'])")
    form.locator("input[name='username']").fill(username)
    form.locator("input[name='password']").fill(DEMO_PASSWORD)
    form.locator("button[type='submit']").click()


def login(page, username: str):
    """Log a member of staff in: they land on their workbench."""
    from playwright.sync_api import expect

    _submit_login(page, username)
    page.wait_for_url(re.compile(r"/workbench(\?|$)"))
    expect(page.get_by_test_id("who")).to_be_visible()


def login_applicant(page, username: str):
    """Log an applicant in: they land on their applications (/my/cases)."""
    from playwright.sync_api import expect

    _submit_login(page, username)
    page.wait_for_url(re.compile(r"/my/cases(\?|$)"))
    expect(page.get_by_test_id("who")).to_be_visible()


def queue_row(page, case_no: str):
    return page.locator(f"table.queue tbody tr[data-case-no='{case_no}']")


def said(page, message, **values) -> str:
    """`message` (a lazy gettext string, or a msgid with %(name)s values) in the language the page is
    shown in, so tests compare texts whatever the UI language."""
    from flask_babel import force_locale, gettext

    locale = "en" if page.locator("html").get_attribute("lang") == "en" else "zh_Hans_CN"
    with force_locale(locale):
        return gettext(message, **values) if isinstance(message, str) else str(message)
