"""Browser test of the archive (数字档案室): the city archivist opens the intake queue, ticks a closed case,
files it, watches the batch page until the background filing thread reports it done, reads the 档号 off the
page, finds the record in the catalogue by it and opens it. The real app is served by werkzeug in a thread
and driven by Debian's Chromium through Playwright; selectors are test ids, data-* attributes and form
field names, so the test passes whatever the UI language."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.support import CHROMIUM, NANLING, SCREENSHOT_DIR, login, queue_row, settle
from tests.records.conftest import closed_case, store  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CODE = re.compile(r"^Z109-WS·\d{4}-D30-ZH-\d{4}$")


@pytest.fixture
def filing_thread(ctx):
    """Filing runs in the web process's background thread, woken by the commit that queues a batch, as
    in the embedded default; stopped and put back to manual afterwards."""
    from app.records import filing

    ctx.config["ARCHIVE_FILING"] = "thread"
    try:
        yield
    finally:
        ctx.config["ARCHIVE_FILING"] = "manual"
        filing.stop_thread()


def test_an_archivist_files_a_case_and_finds_its_record(ctx, closed_case, filing_thread, new_page):  # noqa: F811
    from app.extensions import db
    from app.records.models import ArchiveRecord

    case = closed_case(NANLING, title="浏览器归档宗地")
    other = closed_case(NANLING, title="留待下次归档")  # stays in the queue: only the ticked case is filed
    case_id, case_no, other_no = case.id, case.case_no, other.case_no
    settle()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    page = new_page()
    login(page, "city_archivist")
    page.get_by_test_id("nav-intake").click()
    page.wait_for_url(re.compile(r"/records/intake$"))
    row = queue_row(page, case_no)
    expect(row).to_have_count(1)
    expect(queue_row(page, other_no)).to_have_count(1)
    row.locator("input[type=checkbox][name=case_id]").check()
    page.screenshot(path=str(SCREENSHOT_DIR / "archive-intake.png"), full_page=True)
    page.get_by_test_id("file-chosen").click()

    page.wait_for_url(re.compile(r"/records/batches/\d+$"))
    batch = page.get_by_test_id("filing-batch")
    item = batch.locator(f"tr[data-case-no='{case_no}']")
    # The page polls the batch's JSON; the background thread files the case and the row turns to filed.
    expect(item).to_have_attribute("data-state", "filed", timeout=60_000)
    expect(batch).to_have_attribute("data-finished", "true")
    expect(page.get_by_test_id("batch-progress")).to_have_attribute("value", "1")
    code = item.get_by_test_id("archival-code").inner_text().strip()
    assert CODE.match(code), code
    page.screenshot(path=str(SCREENSHOT_DIR / "archive-batch.png"), full_page=True)

    db.session.rollback()
    record_id = db.session.scalar(select(ArchiveRecord.id).where(ArchiveRecord.case_id == case_id))
    settle()
    assert record_id is not None

    page.get_by_test_id("nav-archive").click()
    page.wait_for_url(re.compile(r"/records/$"))
    filters = page.get_by_test_id("catalogue-filters")
    filters.locator("input[name=code]").fill(code)
    page.get_by_test_id("catalogue-search").click()
    page.wait_for_url(re.compile(r"/records/\?"))
    rows = page.get_by_test_id("catalogue").locator("tbody tr[data-code]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-code", code)
    rows.first.get_by_test_id("record-link").click()

    page.wait_for_url(re.compile(rf"/records/{record_id}$"))
    expect(page.get_by_test_id("archival-code")).to_have_text(code)
    expect(page.get_by_test_id("case-link")).to_have_text(case_no)
    expect(page.get_by_test_id("manage")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT_DIR / "archive-record.png"), full_page=True)

    # The case that was not ticked is still waiting.
    page.get_by_test_id("nav-intake").click()
    expect(queue_row(page, other_no)).to_have_count(1)
    expect(queue_row(page, case_no)).to_have_count(0)
    assert page.problems == []
