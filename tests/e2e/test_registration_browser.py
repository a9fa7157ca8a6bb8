"""Browser test of an online transfer registration (转移登记) with one correction (补正): 王伟 applies to
sell his flat to 张三, 张三 confirms online, the township clerk asks for a new contract, 王伟 uploads it,
the clerk accepts, the county reviewer does 初审 and 复审, the tax bureau's result arrives through the
partner API, the registrar enters it in the register and issues the certificate, and 王伟 sees the case
completed. The real app is served by werkzeug in a thread and driven by Debian's Chromium through
Playwright (sync API). Selectors use data-testid / data-* attributes / form field names and values only,
and expected texts are said in the page's own language, so the test passes whatever the UI language."""

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.support import (
    CHROMIUM,
    NANLING,
    SCREENSHOT_DIR,
    login,
    login_applicant,
    open_task_id,
    queue_row,
    said,
    settle,
)
from tests.samples import pdf

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}")
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PRICE, CONTRACT_NO, VOUCHER_NO = "1200000", "长房网签2026-0815", "契税2026-0815"
STEPS_DONE = [("pre_review", "correct"), ("pre_review", "accept"), ("first_review", "approve"),
              ("second_review", "approve"), ("register_entry", "enter"), ("issue", "issue")]


# ----------------------------------------------------------------------------------------------- helpers


def _case_of(applicant_id: int):
    """(id, case number) of the applicant's one case."""
    from app.cases.models import Case
    from app.extensions import db

    row = db.session.execute(select(Case.id, Case.case_no).where(Case.applicant_id == applicant_id)).one()
    settle()
    return row


def _progress(page, message) -> None:
    expect(page.get_by_test_id("progress")).to_contain_text(said(page, message))


def work_task(page, case_id: int, case_no: str, bpmn_id: str, decision: str, *, opinion: str = "",
              ticks: dict | None = None, screenshot: str = "") -> int:
    """Claim the case's open `bpmn_id` task from the workbench and complete it with `decision`;
    `ticks` maps a field of the step's form to the values to check (checkboxes or radio buttons)."""
    task_id = open_task_id(case_id, bpmn_id)
    page.goto("/workbench?view=unclaimed")
    row = queue_row(page, case_no)
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-task-id", str(task_id))
    row.locator("form[action$='/claim'] button[type='submit']").click()
    page.wait_for_url(re.compile(rf"/tasks/{task_id}$"))
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.get_by_test_id("case-no")).to_have_text(case_no)

    form = page.get_by_test_id("task-form")
    form.locator(f"input[name='task-decision'][value='{decision}']").check()
    for field, values in (ticks or {}).items():
        for value in values:
            form.locator(f"input[name='task-{field}'][value='{value}']").check()
    if opinion:
        form.locator("textarea[name='task-opinion']").fill(opinion)
    if screenshot:
        page.screenshot(path=str(SCREENSHOT_DIR / screenshot), full_page=True)
    form.locator("button[type='submit']").click()
    page.wait_for_url(re.compile(r"/workbench(\?|$)"))
    expect(page.locator(".flash.success")).to_be_visible()
    # Not by the queue row of `task_id`: on SQLite the next step's task can reuse a finished task's id
    # (human_task is a plain INTEGER PRIMARY KEY, rows are deleted on completion).
    assert _open_steps(case_id).count(bpmn_id) == 0, f"{bpmn_id} still open"
    return task_id


def _open_steps(case_id: int) -> list[str]:
    from app.engine.models import HumanTask
    from app.extensions import db

    steps = db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.case_id == case_id)).all()
    settle()
    return steps


def _pdf_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(pdf(name))
    return path


# ----------------------------------------------------------------------------------------------- test


def test_transfer_with_an_online_correction_to_entry_in_the_register(ctx, clock, users, units, register_units,
                                                                     new_page, tmp_path):
    from app.api.auth import new_token
    from app.api.models import PartnerClient
    from app.cases.models import Case, CaseStatus, Material
    from app.cases.progress import OUTCOMES, STEPS, WAITS
    from app.extensions import db
    from app.register import history
    from app.certificates import rendering
    from app.certificates.models import Certificate

    unit_no = register_units["owned"]
    wang, zhang = users["wangwei"], users["zhangsan"]
    wang_user_id, wang_id_number, zhang_id_number = wang.id, wang.id_number, zhang.id_number
    office_id = units[NANLING].id
    token, digest = new_token()
    db.session.add(PartnerClient(name="国家税务总局长春市税务局", token_sha256=digest, scopes="messages:send"))
    settle()
    files = {code: _pdf_file(tmp_path, name) for code, name in (
        ("id_proof", "身份证明.pdf"), ("title_cert", "不动产权证书.pdf"), ("contract", "买卖合同.pdf"))}
    new_contract = _pdf_file(tmp_path, "买卖合同-补正.pdf")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    # --- 1: 王伟 finds the service, fills the application and submits it ---------------------------
    seller = new_page()
    login_applicant(seller, "wangwei")
    seller.goto("/services")
    seller.get_by_test_id("service-reg_transfer").click()
    seller.wait_for_url(re.compile(r"/services/reg_transfer$"))
    seller.get_by_test_id("apply").click()
    seller.wait_for_url(re.compile(r"/services/reg_transfer/apply$"))
    form = seller.locator("main form[enctype='multipart/form-data']")
    form.locator("input[name='unit_no']").fill(unit_no)
    form.locator("select[name='office']").select_option(value=str(office_id))
    form.locator("input[name='sellers-0-name']").fill("王伟")
    form.locator("input[name='sellers-0-id_number']").fill(wang_id_number)
    form.locator("input[name='buyers-0-name']").fill("张三")
    form.locator("input[name='buyers-0-id_number']").fill(zhang_id_number)
    form.locator("select[name='holding']").select_option(value="sole")
    form.locator("input[name='price_yuan']").fill(PRICE)
    form.locator("input[name='contract_no']").fill(CONTRACT_NO)
    for code, path in files.items():
        form.locator(f"input[type='file'][name='{code}']").set_input_files(str(path))
    seller.screenshot(path=str(SCREENSHOT_DIR / "registration-apply.png"), full_page=True)
    form.locator("input[type='submit'][name='submit']").click()
    seller.wait_for_url(re.compile(r"/cases/\d+$"))
    expect(seller.locator(".flash.success")).to_be_visible()

    case_id, case_no = _case_of(wang_user_id)
    assert seller.url.endswith(f"/cases/{case_id}")
    expect(seller.get_by_test_id("case-no")).to_have_text(case_no)
    expect(seller.get_by_test_id("case-status")).to_have_attribute("data-status", "running")
    _progress(seller, WAITS["parties_confirmed"][0])
    expect(seller.get_by_test_id("progress")).to_have_class(re.compile(r"\bwaits-on-you\b"))
    expect(seller.get_by_test_id("parties").locator("tbody tr")).to_have_count(2)
    expect(seller.get_by_test_id("confirm")).to_have_count(0)  # the applicant confirmed by submitting
    materials = seller.get_by_test_id("materials")
    for path in files.values():
        expect(materials.locator("a", has_text=path.name)).to_have_count(1)
    seller.screenshot(path=str(SCREENSHOT_DIR / "registration-submitted.png"), full_page=True)

    # --- 2: 张三, the buyer, confirms online --------------------------------------------------------
    buyer = new_page()
    login_applicant(buyer, "zhangsan")
    to_confirm = buyer.get_by_test_id("to-confirm")
    expect(to_confirm).to_be_visible()
    to_confirm.locator(f"a[href$='/cases/{case_id}']").click()
    buyer.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    expect(buyer.get_by_test_id("case-no")).to_have_text(case_no)
    buyer.get_by_test_id("confirm").click()
    buyer.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    expect(buyer.locator(".flash.success")).to_be_visible()
    expect(buyer.get_by_test_id("confirm")).to_have_count(0)
    _progress(buyer, STEPS["reg_pre_review"])
    buyer.goto("/my/cases")
    expect(buyer.get_by_test_id("to-confirm")).to_have_count(0)

    # --- 3: the township clerk asks for a new contract (one-time notice) -------------------------
    clerk = new_page()
    login(clerk, "nanling_clerk")
    note = "买卖合同缺少签字页，请上传双方签字的完整合同。"
    work_task(clerk, case_id, case_no, "pre_review", "correct", opinion=note, ticks={"items": ["contract"]},
              screenshot="registration-pre-review.png")

    # --- 4: 王伟 uploads the new contract online, a working day later -----------------------------
    clock.advance(days=1)
    seller.goto(f"/cases/{case_id}")
    _progress(seller, WAITS["correction_fixed"][0])
    expect(seller.get_by_test_id("progress")).to_have_class(re.compile(r"\bwaits-on-you\b"))
    corrections = seller.get_by_test_id("corrections")
    expect(corrections).to_contain_text(note)
    correction_form = seller.get_by_test_id("correction-form")
    expect(correction_form).to_be_visible()
    expect(correction_form.locator("input[type='file']")).to_have_count(1)  # only what the clerk listed
    correction_form.locator("input[type='file'][name='file_contract']").set_input_files(str(new_contract))
    expect(seller.get_by_test_id("notices").locator("a[data-kind='correction']")).to_have_count(1)
    seller.screenshot(path=str(SCREENSHOT_DIR / "registration-correction.png"), full_page=True)
    correction_form.locator("button[type='submit']").click()
    seller.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    expect(seller.locator(".flash.success")).to_be_visible()
    expect(seller.get_by_test_id("correction-form")).to_have_count(0)
    _progress(seller, STEPS["reg_pre_review"])
    expect(seller.get_by_test_id("progress")).not_to_have_class(re.compile(r"\bwaits-on-you\b"))
    materials = seller.get_by_test_id("materials")
    expect(materials.locator("a", has_text=new_contract.name)).to_have_count(1)
    expect(materials.locator("a", has_text=re.compile(rf"^{re.escape(files['contract'].name)}$"))).to_have_count(0)

    # --- 5: the clerk accepts; the county reviewer does 初审 and 复审 ------------------------------
    clock.advance(hours=2)
    work_task(clerk, case_id, case_no, "pre_review", "accept")
    reviewer = new_page()
    login(reviewer, "nanguan_reviewer")
    work_task(reviewer, case_id, case_no, "first_review", "approve")
    work_task(reviewer, case_id, case_no, "second_review", "approve")
    seller.goto(f"/cases/{case_id}")
    _progress(seller, WAITS["tax_result"][0])
    expect(seller.get_by_test_id("progress")).not_to_have_class(re.compile(r"\bwaits-on-you\b"))
    expect(seller.get_by_test_id("notices").locator("a[data-kind='acceptance']")).to_have_count(1)

    # --- 6: the tax bureau's result arrives through the partner API -------------------------------
    partner = new_page()  # a context without any session cookie: the bearer token is the only credential
    body = {"message_id": f"tax-{uuid.uuid4()}", "name": "tax_result", "correlation": {"case_no": case_no},
            "payload": {"case_no": case_no, "status": "cleared", "voucher_no": VOUCHER_NO}}
    response = partner.request.post("/api/v1/messages", data=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200, response.text()
    assert response.json() == {"message_id": body["message_id"], "delivered": True, "duplicate": False}

    # --- 7: the registrar enters it in the register and issues the certificate online -------------
    registrar = new_page()
    login(registrar, "nanguan_registrar")
    work_task(registrar, case_id, case_no, "register_entry", "enter")
    work_task(registrar, case_id, case_no, "issue", "issue", ticks={"channel": ["online"]})

    # --- 8: 王伟 sees the case completed, with every step on the timeline --------------------------
    seller.goto(f"/cases/{case_id}")
    expect(seller.get_by_test_id("case-status")).to_have_attribute("data-status", "completed")
    expect(seller.get_by_test_id("progress")).to_contain_text(said(seller, OUTCOMES["registered"]))
    expect(seller.get_by_test_id("current-step")).to_have_count(0)
    expect(seller.get_by_test_id("correction-form")).to_have_count(0)
    timeline = seller.locator("ol.timeline")
    expect(timeline.locator("li.ev-submitted")).to_have_count(1)
    expect(timeline.locator("li.ev-confirmed")).to_have_count(1)
    requested = timeline.locator("li.ev-correction_requested")
    expect(requested).to_have_count(1)
    expect(requested).to_contain_text(note)
    fixed = timeline.locator("li.ev-correction_fixed")
    expect(fixed).to_have_count(1)
    expect(fixed).to_contain_text(said(seller, "deadlines moved by %(days)d working days", days=1))
    steps = timeline.locator("li.ev-task_completed")
    expect(steps).to_have_count(len(STEPS_DONE))
    done = [(li.get_attribute("data-task"), li.get_attribute("data-decision")) for li in steps.all()]
    assert done == STEPS_DONE
    expect(timeline.locator("li.ev-message_received")).to_have_count(3)  # confirmed, corrected, tax cleared
    expect(timeline.locator("li.ev-completed")).to_have_count(1)
    seller.screenshot(path=str(SCREENSHOT_DIR / "registration-completed.png"), full_page=True)
    seller.goto("/my/cases")
    expect(seller.locator(f"table.queue a[href$='/cases/{case_id}']")).to_have_count(1)

    # --- 9: 张三 downloads his e-certificate (no visit), and anyone can check it by its QR link -----
    assert rendering.render_pending() == 1  # the background job, run here by hand
    buyer.goto(f"/cases/{case_id}")
    link = buyer.get_by_test_id("certificates").get_by_test_id("certificate-download")
    expect(link).to_have_count(1)
    # Fetched with the page's own session: a click would start a download, which the page reports as
    # an aborted navigation.
    response = buyer.request.get(link.get_attribute("href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    copy = tmp_path / "certificate.pdf"
    copy.write_bytes(response.body())
    certificate = db.session.scalars(select(Certificate).where(Certificate.case_id == case_id)).one()
    public = new_page()
    public.goto(f"/v/{certificate.token}")
    expect(public.get_by_test_id("certificate-status")).to_have_attribute("data-status", "issued")
    expect(public.get_by_test_id("certificate-facts")).to_contain_text(certificate.number)
    public.locator("input[name='pdf']").set_input_files(str(copy))
    public.locator("[data-testid=verify-upload] button[type='submit']").click()
    expect(public.get_by_test_id("upload-result")).to_have_attribute("data-outcome", "intact")

    # ... and so does the register: 张三 holds the flat now, on the corrected contract.
    case = db.session.get(Case, case_id)
    assert (case.status, case.outcome, case.paused_days) == (CaseStatus.COMPLETED, "registered", 1)
    assert [h.party.name for r in history.rights(unit_no) for h in r.holders] == ["张三"]
    contracts = db.session.execute(select(Material.filename, Material.replaced_by_id).where(
        Material.case_id == case_id, Material.code == "contract").order_by(Material.id)).all()
    assert [name for name, _ in contracts] == [files["contract"].name, new_contract.name]
    assert contracts[0].replaced_by_id is not None
    assert contracts[1].replaced_by_id is None
    settle()

    for page in (seller, buyer, clerk, reviewer, registrar, partner, public):
        assert page.problems == [], page.url
