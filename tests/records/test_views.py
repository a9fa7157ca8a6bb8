"""The archivists' pages: intake and filing batches, returns to the office, the catalogue, a record with
its files, checks, audits and legal hold, and access requests — each route against each kind of user.

Pages are read through their data-* attributes and test ids, so the tests hold whatever the UI language."""

import hashlib
import re
from types import SimpleNamespace
from urllib.parse import quote

import bagit
import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from app.cases.models import Case, CaseEvent, CaseParty, EventKind, Material
from app.extensions import db
from app.template_helpers import local_time
from app.records import access, filing
from app.records.models import (
    AccessRequest,
    AccessState,
    ArchiveEvent,
    ArchiveFile,
    ArchiveRecord,
    ArchiveReturn,
    CheckReport,
    FilingBatch,
    FilingItem,
    FixityResult,
    FixityRun,
    ItemState,
)
from archive.checks import ITEMS
from archive.package import export_package, read_package
from tests.archive.conftest import overwrite_raw
from tests.test_routes import LOGIN, OK, Browser, check, flash_errors, path_of, state

ARCHIVIST = "city_archivist"  # the city: every case
OTHER_ARCHIVIST = "nongan_archivist"  # 农安县 only
CLERK = "nanling_clerk"  # the window of 南岭街道, where the test cases are
REVIEWER = "nanguan_reviewer"  # another role of the cases' district
APPLICANT = "zhangsan"
NANLING, NONGAN_TOWN = "220102001", "220122100"
CODE = re.compile(r"Z109-WS·\d{4}-(Y|D30|D10)-[A-Z]+-\d{4}")
REFUSED = "refused"  # redirected with an error message, and nothing changed
MOVED = "moved"  # the action was taken: redirected onwards, without an error
SENT_BACK = "The case was sent back to its office and waits for it to resubmit."  # filing's refusal


@pytest.fixture
def browser(ctx):
    return lambda username=None: Browser(ctx, username)


def archive_state() -> dict:
    """Everything an archive request could change, read fresh."""
    db.session.rollback()
    rows = {
        "batches": [(b.id, b.total, b.done) for b in db.session.scalars(select(FilingBatch).order_by(FilingBatch.id))],
        "items": [(i.id, i.state) for i in db.session.scalars(select(FilingItem).order_by(FilingItem.id))],
        "returns": [(r.id, r.resolved_at)
                    for r in db.session.scalars(select(ArchiveReturn).order_by(ArchiveReturn.id))],
        "records": [(r.id, r.legal_hold_reason, r.checked_at, r.audited_at)
                    for r in db.session.scalars(select(ArchiveRecord).order_by(ArchiveRecord.id))],
        "requests": [(r.id, r.state, r.expires_at)
                     for r in db.session.scalars(select(AccessRequest).order_by(AccessRequest.id))],
        "events": db.session.scalars(select(ArchiveEvent.id).order_by(ArchiveEvent.id)).all(),
        "checks": db.session.scalars(select(CheckReport.id).order_by(CheckReport.id)).all(),
        "fixity": db.session.scalars(select(FixityResult.id).order_by(FixityResult.id)).all(),
        "runs": db.session.scalars(select(FixityRun.id).order_by(FixityRun.id)).all(),
    }
    db.session.rollback()
    return rows


def zh(message: str, **values) -> str:
    """A message as the pages show it by default (Simplified Chinese, once translated)."""
    with force_locale("zh_Hans_CN"):
        return gettext(message, **values)


def snapshot() -> tuple[dict, dict]:
    return state(), archive_state()


def page(response) -> str:
    assert response.status_code == 200, f"{response.status_code} -> {response.location}"
    return response.get_data(as_text=True)


def listed(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]*)"', html)


def record_of(case: Case) -> ArchiveRecord:
    db.session.rollback()
    return db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.case_id == case.id))


def events_of(record_id: int, kind: str) -> list[ArchiveEvent]:
    db.session.rollback()
    return db.session.scalars(select(ArchiveEvent).where(ArchiveEvent.record_id == record_id,
                                                         ArchiveEvent.kind == kind).order_by(ArchiveEvent.id)).all()


def batch_id_of(response) -> int:
    match = re.fullmatch(r"/records/batches/(\d+)", path_of(response))
    assert response.status_code == 302, f"{response.status_code} -> {response.location}"
    assert match, response.location
    return int(match.group(1))


# --------------------------------------------------------------------------- who may use each page


@pytest.fixture
def world(closed_transfer, closed_case, file_now, users):
    """A filed transfer (its record, files and filing check), a closed case waiting to be filed, one sent back
    to 南岭街道, and a pending request of the district reviewer to read the record (committed)."""
    batch = file_now(closed_transfer)
    record = record_of(closed_transfer)
    waiting = closed_case(title="待归档宗地")
    sent_back = closed_case(title="退回宗地")
    returned = filing.send_back(sent_back, users[ARCHIVIST], "缺少宗地图")
    wanted = access.request_access(record, users[REVIEWER], "核对抵押情况")
    db.session.commit()
    check_id = db.session.scalar(select(CheckReport.id).where(CheckReport.record_id == record.id))
    return SimpleNamespace(record_id=record.id, file_id=record.files[0].id, batch_id=batch.id, check_id=check_id,
                           waiting_id=waiting.id, return_id=returned.id, request_id=wanted.id,
                           case_id=closed_transfer.id)


GET, POST = "GET", "POST"
# route -> (method, url, form, [(who, expected)]). The one who succeeds comes last: success changes things.
MATRIX = {
    "intake": (GET, "/records/intake", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, OK), (ARCHIVIST, OK)]),
    "batch_page": (GET, "/records/batches/{batch_id}", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, 404), (ARCHIVIST, OK)]),
    "batch_json": (GET, "/records/batches/{batch_id}.json", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, 404), (ARCHIVIST, OK)]),
    "catalogue": (GET, "/records/", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, OK), (REVIEWER, OK), (OTHER_ARCHIVIST, OK), (ARCHIVIST, OK)]),
    "record_page": (GET, "/records/{record_id}", None, [
        (None, LOGIN), (APPLICANT, 403), ("ziqiang_clerk", 404), (OTHER_ARCHIVIST, 404), (CLERK, OK), (REVIEWER, OK),
        (ARCHIVIST, OK)]),
    "check_page": (GET, "/records/{record_id}/checks/{check_id}", None, [
        (None, LOGIN), (APPLICANT, 403), ("ziqiang_clerk", 404), (OTHER_ARCHIVIST, 404), (CLERK, OK), (REVIEWER, OK),
        (ARCHIVIST, OK)]),
    "access_page": (GET, "/records/access", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, OK), (REVIEWER, OK), (OTHER_ARCHIVIST, OK), (ARCHIVIST, OK)]),
    "returns": (GET, "/records/returns", None, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 403), (ARCHIVIST, 403), (CLERK, OK), (REVIEWER, OK)]),
    "audits": (GET, "/records/audits", None, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, OK), (ARCHIVIST, OK)]),
    "file_cases": (POST, "/records/intake/file", {"case_id": "{waiting_id}"}, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, REFUSED),
        (ARCHIVIST, MOVED)]),
    "send_back": (POST, "/records/intake/{waiting_id}/return", {"reason": "缺少身份证明"}, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, 404), (ARCHIVIST, MOVED)]),
    "download_file": (POST, "/records/{record_id}/files/{file_id}", {"reason": "核对"}, [
        (None, LOGIN), (APPLICANT, 403), ("ziqiang_clerk", 404), (OTHER_ARCHIVIST, 404), (CLERK, 403),
        (REVIEWER, 403), (ARCHIVIST, OK)]),
    "download_package": (POST, "/records/{record_id}/package", {"reason": "移交"}, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 404), (CLERK, 403), (REVIEWER, 403), (ARCHIVIST, OK)]),
    "check_now": (POST, "/records/{record_id}/check", {}, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 404), (CLERK, 403), (REVIEWER, 403), (ARCHIVIST, MOVED)]),
    "audit_now": (POST, "/records/{record_id}/audit", {}, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 404), (CLERK, 403), (REVIEWER, 403), (ARCHIVIST, MOVED)]),
    "legal_hold": (POST, "/records/{record_id}/hold", {"action": "on", "reason": "（2026）吉0102民初1号"}, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 404), (CLERK, 403), (REVIEWER, 403), (ARCHIVIST, MOVED)]),
    "request_access": (POST, "/records/{record_id}/access", {"reason": "办理更正登记"}, [
        (None, LOGIN), (APPLICANT, 403), ("ziqiang_clerk", 404), (OTHER_ARCHIVIST, 404), (ARCHIVIST, REFUSED),
        (CLERK, MOVED)]),
    "decide": (POST, "/records/access/{request_id}/decide", {"decision": "approve"}, [
        (None, LOGIN), (APPLICANT, 403), (CLERK, 403), (REVIEWER, 403), (OTHER_ARCHIVIST, 404), (ARCHIVIST, MOVED)]),
    "resubmit": (POST, "/records/returns/{return_id}/resubmit", {"note": "已补交宗地图"}, [
        (None, LOGIN), (APPLICANT, 403), (OTHER_ARCHIVIST, 403), (ARCHIVIST, 403), ("ziqiang_clerk", 404),
        ("nongan_reviewer", 404), (CLERK, MOVED)]),
}


@pytest.mark.parametrize("route", list(MATRIX))
def test_who_may_use_each_page(world, browser, route):
    method, url, form, expectations = MATRIX[route]
    url = url.format(**vars(world))
    form = {key: value.format(**vars(world)) for key, value in (form or {}).items()}
    for who, expected in expectations:
        b = browser(who)
        before = snapshot()
        response = b.post(url, form) if method == POST else b.get(url)
        where = f"{who} {method} {url}: {response.status_code} -> {response.location}"
        if expected in (REFUSED, MOVED):
            assert response.status_code == 302, where
            assert path_of(response) != "/login", where
        if expected == REFUSED:
            assert snapshot() == before, where
            assert flash_errors(b, response), where
        elif expected == MOVED:
            assert not flash_errors(b, response), where
        else:
            check(response, expected)
            if method == GET or expected != OK:
                assert snapshot() == before, where


@pytest.mark.parametrize("route", [r for r, spec in MATRIX.items() if spec[0] == POST])
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_posts_without_a_csrf_token_are_refused(world, browser, route, token):
    _method, url, form, expectations = MATRIX[route]
    who = expectations[-1][0]
    form = {key: value.format(**vars(world)) for key, value in form.items()}
    if token == "forged":
        form["csrf_token"] = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.forged.token"
    b = browser(who)
    b.get("/login")
    before = snapshot()
    response = b.post(url.format(**vars(world)), form, csrf=False)
    assert response.status_code == 400
    assert snapshot() == before


# --------------------------------------------------------------------------- intake, batches, returns


def test_the_intake_queue_lists_closed_cases_of_the_archivists_jurisdiction(closed_transfer, closed_case, make_case,
                                                                              browser):
    nanling, nongan = closed_case(NANLING), closed_case(NONGAN_TOWN)
    still_open = make_case(NANLING)
    city = page(browser(ARCHIVIST).get("/records/intake"))
    assert set(listed(city, "data-case-no")) == {closed_transfer.case_no, nanling.case_no, nongan.case_no}
    assert still_open.case_no not in city
    county = page(browser(OTHER_ARCHIVIST).get("/records/intake"))
    assert listed(county, "data-case-no") == [nongan.case_no]
    # The transfer's files are counted: three materials, its notices, one signed certificate.
    row = re.search(rf'<tr data-case-no="{closed_transfer.case_no}".*?</tr>', city, re.S).group(0)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts["materials"] == "3"
    assert counts["certificates"] == "1"
    assert int(counts["documents"]) >= 1
    check(browser(CLERK).get("/records/intake"), 403)
    check(browser(APPLICANT).get("/records/intake"), 403)
    check(browser().get("/records/intake"), LOGIN)


def test_the_intake_queue_is_paginated(ctx, closed_case, browser):
    ctx.config["QUEUE_PAGE_SIZE"] = 2
    try:
        cases = [closed_case(title=f"宗地{n}") for n in range(3)]
        first = listed(page(browser(ARCHIVIST).get("/records/intake")), "data-case-no")
        second = listed(page(browser(ARCHIVIST).get("/records/intake?page=2")), "data-case-no")
    finally:
        ctx.config["QUEUE_PAGE_SIZE"] = 25
    assert first == [c.case_no for c in cases[:2]]  # oldest first
    assert second == [cases[2].case_no]


def test_filing_one_and_then_many_runs_in_a_batch_and_reports_each_code(closed_transfer, closed_case, browser):
    others = [closed_case(title="宗地甲"), closed_case(title="宗地乙")]
    archivist = browser(ARCHIVIST)
    response = archivist.post("/records/intake/file", {"case_id": str(closed_transfer.id)})
    batch_id = batch_id_of(response)
    # The request only queued the work.
    assert archivist.get(f"/records/batches/{batch_id}.json").get_json()["done"] == 0
    assert record_of(closed_transfer) is None
    assert filing.run_jobs() == 1
    state_ = archivist.get(f"/records/batches/{batch_id}.json").get_json()
    assert (state_["total"], state_["done"], state_["failed"], state_["finished"]) == (1, 1, 0, True)
    item = state_["items"][0]
    assert item["case_no"] == closed_transfer.case_no
    assert item["state"] == "filed"
    assert item["archival_code"] == record_of(closed_transfer).archival_code == "Z109-WS·2026-Y-BDC-0001"
    assert item["record_url"] == f"/records/{record_of(closed_transfer).id}"

    response = archivist.post("/records/intake/file", {"case_id": [str(c.id) for c in others]})
    batch_id = batch_id_of(response)
    html = page(archivist.get(f"/records/batches/{batch_id}"))
    assert sorted(listed(html, "data-state")) == ["pending", "pending"]
    assert filing.run_jobs() == 2
    state_ = archivist.get(f"/records/batches/{batch_id}.json").get_json()
    assert (state_["done"], state_["finished"]) == (2, True)
    assert [i["archival_code"] for i in state_["items"]] == ["Z109-WS·2026-D30-ZH-0001", "Z109-WS·2026-D30-ZH-0002"]
    html = page(archivist.get(f"/records/batches/{batch_id}"))
    assert listed(html, "data-state") == ["filed", "filed"]
    assert "Z109-WS·2026-D30-ZH-0002" in html
    # Filed cases leave the queue; the batches are listed there.
    intake = page(archivist.get("/records/intake"))
    assert listed(intake, "data-case-no") == []
    assert set(listed(intake, "data-batch")) == {str(batch_id), str(batch_id - 1)}


@pytest.mark.parametrize("chosen", ["nothing", "not-a-number", "foreign", "open", "filed", "mixed"])
def test_a_bad_or_foreign_case_is_refused_and_nothing_queued(closed_case, make_case, file_now, browser, chosen):
    nanling, nongan = closed_case(NANLING), closed_case(NONGAN_TOWN)
    filed = closed_case(NONGAN_TOWN, title="已归档宗地")
    file_now(filed)
    still_open = make_case(NONGAN_TOWN)
    ids = {"nothing": [], "not-a-number": ["x1"], "foreign": [str(nanling.id)], "open": [str(still_open.id)],
           "filed": [str(filed.id)], "mixed": [str(nongan.id), str(nanling.id)]}[chosen]
    b = browser(OTHER_ARCHIVIST)
    before = snapshot()
    response = b.post("/records/intake/file", {"case_id": ids})
    check(response, OK, redirect_to="/records/intake")
    assert snapshot() == before
    assert flash_errors(b, response)
    # The case of the archivist's own county is still waiting.
    assert nongan.case_no in listed(page(b.get("/records/intake")), "data-case-no")


def test_a_case_sent_back_goes_to_its_office_and_returns_when_resubmitted(closed_case, users, browser):
    case = closed_case(NANLING, title="缺图宗地")
    archivist = browser(ARCHIVIST)
    before = snapshot()
    for reason in ("", "   ", "很" * 1001):
        response = archivist.post(f"/records/intake/{case.id}/return", {"reason": reason})
        check(response, OK, redirect_to="/records/intake")
        assert flash_errors(archivist, response)
    assert snapshot() == before
    response = archivist.post(f"/records/intake/{case.id}/return", {"reason": "缺少宗地图，请补充后重新提交"})
    check(response, OK, redirect_to="/records/intake")
    assert case.case_no not in listed(page(archivist.get("/records/intake")), "data-case-no")
    # A second return of the same case is refused with the operation's reason.
    response = archivist.post(f"/records/intake/{case.id}/return", {"reason": "再次退回"})
    assert flash_errors(archivist, response) == [zh(SENT_BACK)]

    for office in (CLERK, "nanguan_registrar", REVIEWER):
        html = page(browser(office).get("/records/returns"))
        assert listed(html, "data-case-no") == [case.case_no], office
        assert "缺少宗地图，请补充后重新提交" in html
    for outsider in ("ziqiang_clerk", "nongan_reviewer"):
        html = page(browser(outsider).get("/records/returns"))
        assert listed(html, "data-case-no") == [], outsider
        assert 'data-testid="nav-returns"' not in html
    assert 'data-testid="nav-returns">' in page(browser(CLERK).get("/workbench"))  # the menu points the office there
    # The timeline says what happened.
    timeline = page(browser(CLERK).get(f"/cases/{case.id}"))
    assert "缺少宗地图，请补充后重新提交" in timeline

    returned = db.session.scalar(select(ArchiveReturn).where(ArchiveReturn.case_id == case.id))
    clerk = browser(CLERK)
    before = snapshot()
    response = clerk.post(f"/records/returns/{returned.id}/resubmit", {"note": ""})
    check(response, OK, redirect_to="/records/returns")
    assert flash_errors(clerk, response)
    assert snapshot() == before
    response = clerk.post(f"/records/returns/{returned.id}/resubmit", {"note": "已补交宗地图"})
    check(response, OK, redirect_to="/records/returns")
    assert not flash_errors(clerk, response)
    html = page(clerk.get("/records/returns"))
    assert listed(html, "data-case-no") == []
    assert 'data-testid="nav-returns"' not in html
    assert case.case_no in listed(page(archivist.get("/records/intake")), "data-case-no")
    db.session.rollback()
    returned = db.session.get(ArchiveReturn, returned.id)
    assert (returned.resolution, returned.resolved_by_id) == ("已补交宗地图", users[CLERK].id)
    # Resubmitting again is refused: the return is dealt with.
    response = clerk.post(f"/records/returns/{returned.id}/resubmit", {"note": "再提交"})
    assert flash_errors(clerk, response) == [zh("This return has already been dealt with.")]
    kinds = db.session.scalars(select(ArchiveEvent.kind).where(ArchiveEvent.case_id == case.id)
                               .order_by(ArchiveEvent.id)).all()
    assert kinds == ["returned", "resubmitted"]


def test_a_case_waiting_in_a_batch_cannot_be_sent_back(closed_case, users, browser):
    case = closed_case()
    filing.start_batch([case], users[ARCHIVIST])
    db.session.commit()
    archivist = browser(ARCHIVIST)
    before = snapshot()
    response = archivist.post(f"/records/intake/{case.id}/return", {"reason": "缺少宗地图"})
    check(response, OK, redirect_to="/records/intake")
    assert snapshot() == before
    assert flash_errors(archivist, response)


# --------------------------------------------------------------------------- catalogue


@pytest.fixture
def catalogue(closed_transfer, closed_case, file_now):
    """The transfer (南岭街道, registration: permanent) and two withdrawn demo cases, in 南岭街道 and 农安镇
    (common: 30 years), all filed."""
    nanling, nongan = closed_case(NANLING, title="南岭宗地"), closed_case(NONGAN_TOWN, title="农安宗地")
    file_now(closed_transfer, nanling, nongan)
    return SimpleNamespace(transfer=record_of(closed_transfer), nanling=record_of(nanling),
                           nongan=record_of(nongan))


def found(b: Browser, query: str = "") -> set[str]:
    return set(listed(page(b.get(f"/records/?{query}")), "data-code"))


def test_the_catalogue_finds_records_by_each_filter(catalogue, users, browser):
    transfer, nanling, nongan = catalogue.transfer, catalogue.nanling, catalogue.nongan
    b = browser(ARCHIVIST)
    every = {transfer.archival_code, nanling.archival_code, nongan.archival_code}
    assert found(b) == every
    assert found(b, f"code={quote(transfer.archival_code)}") == {transfer.archival_code}
    typed = transfer.archival_code.replace("·", ".")
    assert found(b, f"code={quote(typed)}") == {transfer.archival_code}
    assert found(b, "code=D30-ZH") == {nanling.archival_code, nongan.archival_code}
    assert found(b, f"case_no={nongan.case.case_no}") == {nongan.archival_code}
    assert found(b, f"unit_no={transfer.case.unit_no[:12]}") == {transfer.archival_code}
    assert found(b, f"party={quote('张三')}") == {transfer.archival_code}
    seller = db.session.scalar(select(CaseParty.id_number).where(CaseParty.case_id == transfer.case_id,
                                                                CaseParty.name == "王伟"))
    assert found(b, f"party={seller.lower()}") == {transfer.archival_code}
    assert found(b, "service=reg_transfer") == {transfer.archival_code}
    assert found(b, "service=demo_review") == {nanling.archival_code, nongan.archival_code}
    assert found(b, "year=2026") == every
    assert found(b, "year=2025") == set()
    assert found(b, "retention=Y") == {transfer.archival_code}
    assert found(b, "retention=D30") == {nanling.archival_code, nongan.archival_code}
    assert found(b, "retention=D10") == set()
    assert found(b, "retention=D30&case_no=220102") == {nanling.archival_code}
    html = page(b.get("/records/?code=Z999"))
    assert 'data-testid="catalogue-empty"' in html
    # The chart counts records by year and retention.
    chart = page(b.get("/records/"))
    assert re.search(r'data-year="2026" data-total="3"', chart)
    assert 'data-retention="Y" data-count="1"' in chart
    assert 'data-retention="D30" data-count="2"' in chart


def test_the_catalogue_shows_only_the_users_jurisdiction(catalogue, browser):
    transfer, nanling, nongan = catalogue.transfer, catalogue.nanling, catalogue.nongan
    assert found(browser(CLERK)) == {transfer.archival_code, nanling.archival_code}
    assert found(browser(REVIEWER), f"code={quote(transfer.archival_code)}") == {transfer.archival_code}
    assert found(browser("nongan_reviewer")) == {nongan.archival_code}
    assert found(browser(OTHER_ARCHIVIST), f"code={quote(transfer.archival_code)}") == set()
    assert found(browser("ziqiang_clerk")) == set()
    assert 'data-testid="catalogue-empty"' in page(browser("ziqiang_clerk").get("/records/"))
    check(browser(APPLICANT).get("/records/"), 403)
    check(browser().get("/records/"), LOGIN)


def test_the_catalogue_shows_the_last_check_and_audit(catalogue, browser):
    html = page(browser(CLERK).get(f"/records/?code={quote(catalogue.transfer.archival_code)}"))
    assert re.search(r'data-result="pass" data-testid="check-badge"', html)
    assert re.search(r'data-result="none" data-testid="audit-badge"', html)


# --------------------------------------------------------------------------- the record


@pytest.fixture
def filed(closed_transfer, file_now):
    file_now(closed_transfer)
    return record_of(closed_transfer)


def test_the_record_page_describes_the_record_its_package_and_files(each_store, filed, browser):
    html = page(browser(ARCHIVIST).get(f"/records/{filed.id}"))
    assert filed.archival_code in html
    assert re.search(r'data-testid="dat13">Z109-WS·2026·Y·BDC-0001<', html)
    assert filed.package.sha256 in html
    assert f'href="/cases/{filed.case_id}"' in html
    assert sorted(listed(html, "data-path")) == sorted(f.path for f in filed.files)
    assert html.count('data-testid="download-file"') == len(filed.files)
    assert 'data-testid="manage"' in html
    assert 'data-testid="report-link"' in html
    lock = re.search(r'data-testid="lock-state">(.*?)</dd>', html, re.S).group(1).strip()
    if each_store.supports_lock:  # locked after the filing's commit, until 100 years after the year of the files
        db.session.rollback()
        package = db.session.get(ArchiveRecord, filed.id).package
        assert package.locked_at is not None
        assert local_time(package.retain_until, "%Y-%m-%d") == f"{filed.year + 1 + 100}-01-01"
        assert lock == zh("Locked (compliance mode) until %(until)s, since %(since)s",
                          until=local_time(package.retain_until, "%Y-%m-%d"), since=local_time(package.locked_at))
        assert package.version_id in html
    else:
        assert lock == zh("This store has no object lock.")
    # Staff of the district see the record, but not the files, the log or the archivist's buttons.
    html = page(browser(REVIEWER).get(f"/records/{filed.id}"))
    assert filed.archival_code in html
    assert 'data-testid="download-file"' not in html
    assert 'data-testid="request-access"' in html
    assert 'data-testid="manage"' not in html
    assert 'data-testid="events"' not in html


def test_a_download_needs_a_purpose_and_returns_the_file_logged(filed, users, browser):
    archivist = browser(ARCHIVIST)
    material = next(f for f in filed.files if f.kind == "material")
    url = f"/records/{filed.id}/files/{material.id}"
    before = snapshot()
    for reason in ("", "  ", "很" * 1001):
        response = archivist.post(url, {"reason": reason})
        check(response, OK, redirect_to=f"/records/{filed.id}")
        assert flash_errors(archivist, response)
    assert snapshot() == before
    response = archivist.post(url, {"reason": "核对原件"})
    check(response, OK)
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert material.original_name in response.headers["Content-Disposition"]
    assert hashlib.sha256(response.data).hexdigest() == material.sha256
    stored = db.session.scalar(select(Material).where(Material.case_id == filed.case_id,
                                                      Material.filename == material.original_name))
    assert hashlib.sha256(response.data).hexdigest() == stored.sha256
    [logged] = events_of(filed.id, "downloaded")
    assert (logged.actor_id, logged.reason, logged.detail) == (users[ARCHIVIST].id, "核对原件", {"path": material.path})
    # A Chinese file name reaches the browser intact.
    certificate = next(f for f in filed.files if f.kind == "certificate")
    response = archivist.post(f"/records/{filed.id}/files/{certificate.id}", {"reason": "核对证书"})
    check(response, OK)
    assert quote(certificate.original_name) in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF-")
    # The events are the access log the archivist reads on the record.
    html = page(archivist.get(f"/records/{filed.id}"))
    assert listed(html, "data-kind")[:2] == ["downloaded", "downloaded"]
    assert "核对原件" in html
    # A file of another record is not this record's.
    check(archivist.post(f"/records/{filed.id}/files/{material.id + 1000}", {"reason": "x"}), 404)


def test_staff_read_files_only_through_an_approved_request(filed, users, clock, browser):
    material = filed.files[0]
    url = f"/records/{filed.id}/files/{material.id}"
    reviewer = browser(REVIEWER)
    check(reviewer.post(url, {"reason": "核对"}), 403)
    before = snapshot()
    response = reviewer.post(f"/records/{filed.id}/access", {"reason": ""})
    check(response, OK, redirect_to=f"/records/{filed.id}")
    assert flash_errors(reviewer, response)
    assert snapshot() == before
    response = reviewer.post(f"/records/{filed.id}/access", {"reason": "办理更正登记需核对合同"})
    check(response, OK, redirect_to=f"/records/{filed.id}")
    assert not flash_errors(reviewer, response)
    response = reviewer.post(f"/records/{filed.id}/access", {"reason": "再申请一次"})
    assert flash_errors(reviewer, response) == [zh("You already have a request waiting for approval.")]
    wanted = db.session.scalar(select(AccessRequest).where(AccessRequest.requester_id == users[REVIEWER].id))
    check(reviewer.post(url, {"reason": "核对"}), 403)  # pending does not grant
    assert 'data-state="pending"' in page(reviewer.get("/records/access"))

    archivist = browser(ARCHIVIST)
    assert listed(page(archivist.get("/records/access")), "data-request") == [str(wanted.id)]
    assert listed(page(browser(OTHER_ARCHIVIST).get("/records/access")), "data-request") == []
    before = snapshot()
    response = archivist.post(f"/records/access/{wanted.id}/decide", {"decision": "maybe"})
    assert flash_errors(archivist, response)
    assert snapshot() == before
    response = archivist.post(f"/records/access/{wanted.id}/decide", {"decision": "approve", "note": "限七日"})
    check(response, OK, redirect_to="/records/access")
    assert not flash_errors(archivist, response)
    response = archivist.post(f"/records/access/{wanted.id}/decide", {"decision": "refuse"})
    assert flash_errors(archivist, response) == [zh("This request has already been decided.")]

    response = reviewer.post(url, {"reason": "核对合同"})
    check(response, OK)
    assert hashlib.sha256(response.data).hexdigest() == material.sha256
    [logged] = events_of(filed.id, "downloaded")
    assert (logged.actor_id, logged.reason) == (users[REVIEWER].id, "核对合同")
    html = page(reviewer.get(f"/records/{filed.id}"))
    assert 'data-testid="download-file"' in html
    assert 'data-testid="manage"' not in html
    check(reviewer.post(f"/records/{filed.id}/package", {"reason": "x"}), 403)  # the package is the archivists'
    assert 'data-state="approved"' in page(reviewer.get("/records/access"))

    # The approval runs out.
    clock.advance(days=8)
    check(reviewer.post(url, {"reason": "再核对"}), 403)
    assert 'data-state="expired"' in page(reviewer.get("/records/access"))
    assert len(events_of(filed.id, "downloaded")) == 1


def test_a_refused_request_does_not_grant(filed, users, browser):
    clerk = browser(CLERK)
    clerk.post(f"/records/{filed.id}/access", {"reason": "想看看"})
    wanted = db.session.scalar(select(AccessRequest).where(AccessRequest.requester_id == users[CLERK].id))
    archivist = browser(ARCHIVIST)
    check(archivist.post(f"/records/access/{wanted.id}/decide", {"decision": "refuse", "note": "理由不充分"}), OK,
          redirect_to="/records/access")
    db.session.rollback()
    assert db.session.get(AccessRequest, wanted.id).state == AccessState.REFUSED
    check(clerk.post(f"/records/{filed.id}/files/{filed.files[0].id}", {"reason": "核对"}), 403)
    html = page(clerk.get("/records/access"))
    assert 'data-state="refused"' in html
    assert "理由不充分" in html
    assert events_of(filed.id, "downloaded") == []
    assert [e.reason for e in events_of(filed.id, "access_refused")] == ["理由不充分"]


def test_the_package_download_is_a_bag_that_validates(filed, users, browser, tmp_path):
    archivist = browser(ARCHIVIST)
    url = f"/records/{filed.id}/package"
    before = snapshot()
    response = archivist.post(url, {"reason": ""})
    check(response, OK, redirect_to=f"/records/{filed.id}")
    assert flash_errors(archivist, response)
    assert snapshot() == before
    response = archivist.post(url, {"reason": "移交市档案馆"})
    check(response, OK)
    assert response.mimetype == "application/x-tar"
    assert quote(f"{filed.archival_code}.tar") in response.headers["Content-Disposition"]
    assert hashlib.sha256(response.data).hexdigest() == filed.package.sha256
    bag = bagit.Bag(str(export_package(response.data, tmp_path / "bag")))
    bag.validate()
    assert bag.info["External-Identifier"] == filed.archival_code
    [logged] = events_of(filed.id, "downloaded")
    assert (logged.actor_id, logged.reason, logged.detail) == (users[ARCHIVIST].id, "移交市档案馆", {"path": "package"})


def test_check_now_writes_a_report_listing_the_four_properties(filed, users, browser):
    archivist = browser(ARCHIVIST)
    response = archivist.post(f"/records/{filed.id}/check")
    match = re.fullmatch(rf"/records/{filed.id}/checks/(\d+)", path_of(response))
    assert response.status_code == 302
    assert match, response.location
    db.session.rollback()
    report = db.session.get(CheckReport, int(match.group(1)))
    assert (report.stage, report.by_id, report.record_id) == ("BC", users[ARCHIVIST].id, filed.id)
    html = page(archivist.follow(response))
    assert 'data-stage="BC"' in html
    assert f'data-passed="{"true" if report.passed else "false"}"' in html
    assert listed(html, "data-property") == ["authenticity", "integrity", "usability", "security"]
    codes = listed(html, "data-code")
    assert codes == [item["code"] for prop in ("authenticity", "integrity", "usability", "security")
                     for item in report.report["items"] if item["property"] == prop]
    assert set(codes) <= set(ITEMS)
    first = report.report["items"][0]
    assert str(escape(first["reason"])) in html
    # In English, the English reasons and item names.
    archivist.post("/language/en", {"next": "/"})
    english = page(archivist.get(path_of(response)))
    assert str(escape(first["reason_en"])) in english
    assert ITEMS[first["code"]][2] in english
    # The record page links to the newest report; the filing-stage one is still there.
    html = page(archivist.get(f"/records/{filed.id}"))
    assert f'/records/{filed.id}/checks/{report.id}" data-testid="report-link"' in html
    assert len(db.session.scalars(select(CheckReport.id).where(CheckReport.record_id == filed.id)).all()) == 2


def test_a_report_of_another_record_is_not_found_under_this_one(catalogue, browser):
    other = db.session.scalar(select(CheckReport.id).where(CheckReport.record_id == catalogue.nongan.id))
    check(browser(ARCHIVIST).get(f"/records/{catalogue.transfer.id}/checks/{other}"), 404)


def _tamper(store, record: ArchiveRecord, member: ArchiveFile) -> None:
    """Flip one byte inside MEMBER's content in the stored package, behind the store's back."""
    data = bytearray(store.read(record.package.key, record.package.version_id or None))
    at = bytes(data).find(read_package(bytes(data))[member.path])
    assert at > 0
    data[at + 200] ^= 0x01
    overwrite_raw(store, record.package.key, bytes(data))


def test_an_audit_after_tampering_shows_the_failure_and_nothing_damaged_is_handed_out(each_store, filed, browser):
    archivist = browser(ARCHIVIST)
    response = archivist.post(f"/records/{filed.id}/audit")
    check(response, OK, redirect_to=f"/records/{filed.id}")
    assert not flash_errors(archivist, response)
    db.session.rollback()
    assert db.session.get(ArchiveRecord, filed.id).audit_ok is True
    material = next(f for f in filed.files if f.kind == "material")
    _tamper(each_store, filed, material)
    response = archivist.post(f"/records/{filed.id}/audit")
    db.session.rollback()
    record = db.session.get(ArchiveRecord, filed.id)
    if record.package.version_id:
        # A versioned store: the record reads the version it pinned at filing, which a later write cannot change.
        assert record.audit_ok is True
        assert not flash_errors(archivist, response)
        return
    assert record.audit_ok is False
    [message] = flash_errors(archivist, response)
    assert material.path in message
    runs = db.session.scalars(select(FixityRun).where(FixityRun.trigger == "user")).all()
    assert [(r.packages, r.failures) for r in runs] == [(1, 0), (1, 1)]
    html = page(archivist.get("/records/audits"))
    assert listed(html, "data-code") == [filed.archival_code]
    assert material.path in html
    assert listed(page(browser(OTHER_ARCHIVIST).get("/records/audits")), "data-code") == []
    assert re.search(r'data-result="fail" data-testid="audit-badge"', page(archivist.get(f"/records/{filed.id}")))
    # Neither the damaged file nor the package is handed out; an untouched file still is.
    before = snapshot()
    for url in (f"/records/{filed.id}/files/{material.id}", f"/records/{filed.id}/package"):
        response = archivist.post(url, {"reason": "核对"})
        check(response, OK, redirect_to=f"/records/{filed.id}")
        assert flash_errors(archivist, response)
    assert snapshot() == before
    intact = next(f for f in filed.files if f.kind == "certificate")
    response = archivist.post(f"/records/{filed.id}/files/{intact.id}", {"reason": "核对"})
    check(response, OK)
    assert hashlib.sha256(response.data).hexdigest() == intact.sha256


def test_legal_hold_is_placed_and_lifted_with_reasons(filed, users, browser):
    archivist = browser(ARCHIVIST)
    url = f"/records/{filed.id}/hold"
    before = snapshot()
    for form in ({"action": "on", "reason": ""}, {"action": "sideways", "reason": "诉讼"}, {"reason": "诉讼"},
                 {"action": "off", "reason": "结案"}):
        response = archivist.post(url, form)
        check(response, OK, redirect_to=f"/records/{filed.id}")
        assert flash_errors(archivist, response), form
    assert snapshot() == before
    check(archivist.post(url, {"action": "on", "reason": "（2026）吉0102民初1号 诉讼保全"}), OK,
          redirect_to=f"/records/{filed.id}")
    db.session.rollback()
    assert db.session.get(ArchiveRecord, filed.id).legal_hold_reason == "（2026）吉0102民初1号 诉讼保全"
    assert 'data-on="true"' in page(archivist.get(f"/records/{filed.id}"))
    assert flash_errors(archivist, archivist.post(url, {"action": "on", "reason": "再次"}))
    check(archivist.post(url, {"action": "off", "reason": "判决生效，解除"}), OK, redirect_to=f"/records/{filed.id}")
    db.session.rollback()
    assert db.session.get(ArchiveRecord, filed.id).legal_hold_reason == ""
    assert 'data-on="false"' in page(archivist.get(f"/records/{filed.id}"))
    logged = [(e.kind, e.actor_id, e.reason) for e in db.session.scalars(
        select(ArchiveEvent).where(ArchiveEvent.record_id == filed.id, ArchiveEvent.kind.in_(("hold_on", "hold_off")))
        .order_by(ArchiveEvent.id))]
    assert logged == [("hold_on", users[ARCHIVIST].id, "（2026）吉0102民初1号 诉讼保全"),
                      ("hold_off", users[ARCHIVIST].id, "判决生效，解除")]


def test_the_case_page_shows_the_archival_code_to_those_who_may_see_the_record(filed, browser):
    for who in (CLERK, ARCHIVIST):
        html = page(browser(who).get(f"/cases/{filed.case_id}"))
        assert re.search(rf'data-testid="case-archive">[^<]*<a href="/records/{filed.id}">{filed.archival_code}</a>',
                         html), who
        assert f'data-testid="archival-code">{filed.archival_code}<' in html  # the timeline's archive event
    applicant = page(browser(APPLICANT).get(f"/cases/{filed.case_id}"))
    assert 'data-testid="case-archive"' not in applicant
    assert f'href="/records/{filed.id}"' not in applicant
    db.session.rollback()
    assert db.session.scalar(select(CaseEvent.detail).where(CaseEvent.case_id == filed.case_id,
                                                            CaseEvent.kind == EventKind.ARCHIVE)) == {
        "action": "filed", "archival_code": filed.archival_code}


def test_archivists_see_the_navigation_to_their_pages(ctx, browser):
    archivist = page(browser(ARCHIVIST).get("/records/"))
    assert 'data-testid="nav-intake"' in archivist
    clerk = page(browser(CLERK).get("/records/"))
    assert 'data-testid="nav-archive"' in clerk
    assert 'data-testid="nav-intake"' not in clerk


def test_a_failed_filing_is_shown_on_the_batch_page(closed_case, users, browser):
    case = closed_case()
    filing.start_batch([case], users[ARCHIVIST])
    db.session.commit()
    # The case is sent back behind the batch's back: filing it is then refused, and the batch says why.
    db.session.add(ArchiveReturn(case_id=case.id, reason="补图", returned_by_id=users[ARCHIVIST].id))
    db.session.commit()
    filing.run_jobs()
    batch = db.session.scalar(select(FilingBatch))
    state_ = browser(ARCHIVIST).get(f"/records/batches/{batch.id}.json").get_json()
    assert (state_["done"], state_["failed"], state_["finished"]) == (0, 1, True)
    assert state_["items"][0]["state"] == ItemState.FAILED.value
    assert state_["items"][0]["record_url"] is None
    html = page(browser(ARCHIVIST).get(f"/records/batches/{batch.id}"))
    assert zh(SENT_BACK) in html
