"""The applicants' portal over HTTP: guide, online applications with drafts, joint confirmation,
online corrections, sign-up; and the clerks' visit log and outbox retry. Bad input is answered with
a message and stores nothing."""

import io
import re
import uuid

import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseDocument, CaseEvent, CaseParty, Correction, Draft, EventKind, Material, Visit
from app.core import outbox
from app.core.models import OutboxMessage
from app.engine.models import HumanTask
from app.extensions import db
from app.orgs.models import User
from tests import samples
from tests.test_routes import LOGIN, OK, Browser, check, path_of, state


@pytest.fixture
def browser(ctx):
    return lambda username=None: Browser(ctx, username)


def transfer_form(users, units, unit, **overrides) -> dict:
    form = {"submission_key": str(uuid.uuid4()), "unit_no": unit, "office": str(units["220102001"].id),
            "sellers-0-name": "王伟", "sellers-0-id_number": users["wangwei"].id_number,
            "buyers-0-name": "张三", "buyers-0-id_number": users["zhangsan"].id_number,
            "holding": "sole", "price_yuan": "1200000", "contract_no": "长房网签2026-0001", "submit": "1"}
    return {**form, **overrides}


def files(**names) -> dict:
    """Material files by code; a code given as None or "" is left out."""
    chosen = {"id_proof": "身份证.pdf", "title_cert": "产权证.pdf", "contract": "合同.pdf", **names}
    return {code: (io.BytesIO(samples.pdf(code)), name) for code, name in chosen.items() if name}


def counts() -> tuple:
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Case, CaseParty, Material, Visit))


def test_services_and_guide_are_public(ctx, browser):
    anonymous = browser()
    page = anonymous.get("/services").get_data(as_text=True)
    for code in ("reg_transfer", "reg_mortgage", "reg_mortgage_cancellation", "reg_change",
                 "reg_certificate_replacement"):
        assert f'data-testid="service-{code}"' in page
    guide = anonymous.get("/services/reg_transfer")
    assert guide.status_code == 200
    html = guide.get_data(as_text=True)
    assert "存量房买卖合同" in html
    assert "户口簿" in html  # an alternative document for the proof of identity
    assert "5 个工作日" in html
    assert anonymous.get("/services/demo_review").status_code == 404
    assert anonymous.get("/services/no_such_service").status_code == 404


@pytest.mark.parametrize(("who", "expected"), [(None, LOGIN), ("zhangsan", OK), ("nanling_clerk", 403)])
def test_apply_page_by_user(ctx, browser, who, expected):
    check(browser(who).get("/services/reg_transfer/apply"), expected)


@pytest.mark.parametrize(("who", "expected"), [(None, LOGIN), ("nanling_clerk", 403), ("wangwei", OK)])
def test_apply_by_user(users, units, register_units, browser, who, expected):
    b = browser(who)
    before = counts()
    response = b.post("/services/reg_transfer/apply", {**transfer_form(users, units, register_units["owned"]),
                                                       **files()})
    if expected != OK:
        check(response, expected)
        assert counts() == before
        return
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    case = db.session.scalars(select(Case).where(Case.service_code == "reg_transfer")).one()
    assert path_of(response) == f"/cases/{case.id}"
    assert case.unit_no == register_units["owned"]
    parties = {(p.role.value, p.name, p.confirmed_at is not None) for p in
               db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id))}
    assert parties == {("obligor", "王伟", True), ("holder", "张三", False)}
    page = b.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "等待其他当事人网上确认" in page or "等待" in page


@pytest.mark.parametrize(("unit", "overrides", "names", "message"), [
    ("owned", {"unit_no": "220102001003XB00012F00010001"}, {}, "第 13 位应为 G、J 或 Z"),
    ("owned", {"buyers-0-id_number": "11010519491231002Y"}, {}, "校验码"),
    ("seized", {}, {}, "查封"),
    ("co_owned", {}, {}, "须全体权利人共同申请，缺少：李娜"),
    ("owned", {"unit_no": "220102001003GB09999F00010001"}, {}, "不在登记簿中"),
    ("owned", {"office": "__nanguan_county__"}, {}, "办理点"),
    ("owned", {}, {"contract": ""}, "请附上此材料"),
    ("owned", {}, {"contract": "合同.pdf", "title_cert": None}, "请附上此材料"),
])
def test_bad_input_is_refused_with_a_message_and_stores_nothing(users, units, register_units, browser, unit,
                                                                 overrides, names, message):
    b = browser("wangwei")
    before, objects = counts(), state()["materials"]
    form = transfer_form(users, units, register_units[unit], **overrides)
    if form["office"] == "__nanguan_county__":
        form["office"] = str(units["220122100"].id)  # a township of another county
    chosen = files(**{k: v for k, v in names.items() if v is not None})
    if names.get("title_cert", "x") is None:
        chosen.pop("title_cert")
    response = b.post("/services/reg_transfer/apply", {**form, **chosen})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts() == before
    assert state()["materials"] == objects


@pytest.mark.parametrize(("content", "name", "message"), [
    (samples.exe(), "合同.pdf", "不是 PDF、JPEG 或 PNG 文件"),
    (samples.pdf(), "合同.png", "与其内容类型"),
])
def test_disguised_uploads_are_refused(users, units, register_units, browser, content, name, message):
    b = browser("wangwei")
    before = counts()
    response = b.post("/services/reg_transfer/apply", {**transfer_form(users, units, register_units["owned"]),
                                                       **files(contract=""), "contract": (io.BytesIO(content), name)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts() == before


def test_oversized_upload_is_refused(users, units, register_units, browser, ctx):
    ctx.config["MAX_MATERIAL_BYTES"] = 2**20
    try:
        b = browser("wangwei")
        before = counts()
        big = samples.pdf() + b"\0" * (2 * 2**20)
        form = transfer_form(users, units, register_units["owned"])
        response = b.post("/services/reg_transfer/apply", {**form, **files(contract=""),
                                                           "contract": (io.BytesIO(big), "c.pdf")})
        assert response.status_code == 422
        assert "上限为 1 MB" in response.get_data(as_text=True)
        assert counts() == before
    finally:
        ctx.config["MAX_MATERIAL_BYTES"] = 10 * 2**20


def test_path_traversal_file_names_never_reach_the_store(users, units, register_units, browser):
    b = browser("wangwei")
    response = b.post("/services/reg_transfer/apply", {**transfer_form(users, units, register_units["owned"]),
                                                       **files(contract="../../etc/合同.pdf")})
    assert response.status_code == 302
    material = db.session.scalars(select(Material).where(Material.code == "contract")).one()
    assert material.filename == "合同.pdf"
    assert ".." not in material.object_key
    assert re.fullmatch(r"materials/[0-9-]+/[0-9a-f]{64}\.pdf", material.object_key)


def test_double_submitted_application_makes_one_case(users, units, register_units, browser):
    b = browser("wangwei")
    form = transfer_form(users, units, register_units["owned"])
    first = b.post("/services/reg_transfer/apply", {**form, **files()})
    second = b.post("/services/reg_transfer/apply", {**form, **files()})
    case = db.session.scalars(select(Case)).one()
    assert path_of(first) == path_of(second) == f"/cases/{case.id}"
    assert "已提交" in b.follow(second).get_data(as_text=True)


def test_draft_round_trip(users, units, register_units, browser):
    b = browser("wangwei")
    form = transfer_form(users, units, register_units["owned"], price_yuan="", submit="")
    form.pop("submit")
    response = b.post("/services/reg_transfer/apply", {**form, "save_draft": "1",
                                                       "id_proof": (io.BytesIO(samples.pdf("id")), "身份证.pdf")})
    draft = db.session.scalars(select(Draft)).one()
    assert path_of(response) == "/services/reg_transfer/apply"
    assert draft.data["contract_no"] == "长房网签2026-0001"
    assert set(draft.files) == {"id_proof"}
    page = b.get(f"/services/reg_transfer/apply?draft={draft.id}").get_data(as_text=True)
    assert 'data-testid="draft-file-id_proof"' in page
    assert "长房网签2026-0001" in page
    assert "data-testid=\"drafts\"" in b.get("/my/cases").get_data(as_text=True)
    # Someone else can neither open nor delete it.
    other = browser("zhangsan")
    assert other.post(f"/my/drafts/{draft.id}/delete").status_code == 404
    assert "长房网签2026-0001" not in other.get(f"/services/reg_transfer/apply?draft={draft.id}").get_data(
        as_text=True)
    # Submitting from the draft uses its kept file; the draft is gone afterwards.
    submitted = b.post("/services/reg_transfer/apply", {**transfer_form(users, units, register_units["owned"]),
                                                        "draft_id": str(draft.id), **files(id_proof="")})
    assert submitted.status_code == 302, submitted.get_data(as_text=True)[:2000]
    case = db.session.scalars(select(Case)).one()
    codes = set(db.session.scalars(select(Material.code).where(Material.case_id == case.id)))
    assert codes == {"id_proof", "title_cert", "contract"}
    db.session.rollback()
    assert db.session.scalars(select(Draft)).all() == []
    # Deleting a draft.
    b.post("/services/reg_transfer/apply", {**form, "save_draft": "1"})
    draft = db.session.scalars(select(Draft)).one()
    check(b.post(f"/my/drafts/{draft.id}/delete"), OK, redirect_to="/my/cases")
    db.session.rollback()
    assert db.session.scalars(select(Draft)).all() == []


def _submitted_transfer(users, units, register_units, browser) -> Case:
    response = browser("wangwei").post("/services/reg_transfer/apply", {
        **transfer_form(users, units, register_units["owned"]), **files()})
    assert response.status_code == 302
    return db.session.scalars(select(Case)).one()


def test_joint_party_confirms_online(users, units, register_units, browser):
    case = _submitted_transfer(users, units, register_units, browser)
    assert db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all() == []
    outsider = browser("changchun_dev")
    assert outsider.get(f"/cases/{case.id}").status_code == 404
    assert outsider.post(f"/cases/{case.id}/confirm").status_code == 404
    buyer = browser("zhangsan")
    assert f"/cases/{case.id}" in buyer.get("/my/cases").get_data(as_text=True)
    page = buyer.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="confirm"' in page
    assert users["wangwei"].id_number not in page  # another party's ID number is masked
    check(buyer.post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    [task] = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    assert task.bpmn_id == "pre_review"
    # Confirming twice is answered, not repeated.
    again = buyer.post(f"/cases/{case.id}/confirm")
    assert "已确认过" in buyer.follow(again).get_data(as_text=True)


def test_correction_online(users, units, register_units, browser, clock):
    case = _submitted_transfer(users, units, register_units, browser)
    check(browser("zhangsan").post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    clerk = browser("nanling_clerk")
    # A correction request must list the items.
    bad = clerk.post(f"/tasks/{task.id}", {"task-decision": "correct", "task-opinion": "缺材料"})
    assert bad.status_code == 422
    response = clerk.post(f"/tasks/{task.id}", {"task-decision": "correct", "task-items": ["contract", "title_cert"],
                                                "task-opinion": "合同缺签字页；证书复印件不清晰"})
    assert response.status_code == 302
    db.session.rollback()
    due_before = db.session.get(Case, case.id).due_at
    page = browser("wangwei").get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-testid="correction-form"' in page
    assert "合同缺签字页" in page
    # Only the applicant sends corrections; every listed item is needed.
    assert browser("zhangsan").post(f"/cases/{case.id}/correction").status_code == 403
    applicant = browser("wangwei")
    partial = applicant.post(f"/cases/{case.id}/correction",
                             {"file_contract": (io.BytesIO(samples.pdf("c")), "合同.pdf")})
    assert "请上传告知书列明的全部材料" in applicant.follow(partial).get_data(as_text=True)
    clock.advance(days=3)  # Monday + 3 days: three working days waited
    fixed = applicant.post(f"/cases/{case.id}/correction", {
        "file_contract": (io.BytesIO(samples.pdf("c2")), "合同.pdf"),
        "file_title_cert": (io.BytesIO(samples.pdf("t2")), "产权证.pdf")})
    check(fixed, OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    case = db.session.get(Case, case.id)
    assert case.paused_days == 3
    assert case.due_at > due_before
    correction = db.session.scalars(select(Correction)).one()
    assert correction.fixed_at is not None
    replaced = db.session.scalars(select(Material).where(Material.case_id == case.id,
                                                         Material.replaced_by_id.is_not(None))).all()
    assert {m.code for m in replaced} == {"contract", "title_cert"}
    [task] = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    assert task.bpmn_id == "pre_review"


def test_signup(ctx, browser):
    b = browser()
    assert b.get("/signup").status_code == 200
    form = {"username": "lisi", "display_name": "李四", "id_number": "110101199003070012", "phone": "13800000000",
            "password": "a-long-password", "confirm": "a-long-password"}
    bad = b.post("/signup", form)
    assert bad.status_code == 422
    assert "校验码" in bad.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "lisi")) is None
    check(b.post("/signup", {**form, "id_number": "110101199003070011"}), OK, redirect_to="/services")
    user = db.session.scalar(select(User).where(User.username == "lisi"))
    assert (user.id_type.value, user.is_staff) == ("resident_id", False)
    assert b.get("/services/reg_transfer/apply").status_code == 200  # logged in
    again = browser().post("/signup", {**form, "username": "lisi2", "id_number": "110101199003070011"})
    assert "已存在使用该证件号码的账户" in again.get_data(as_text=True)


@pytest.mark.parametrize(("who", "expected"), [("nanling_clerk", OK), ("zhangsan", 403), ("nongan_reviewer", 404),
                                               (None, LOGIN)])
def test_log_visit(users, units, register_units, browser, who, expected):
    case = _submitted_transfer(users, units, register_units, browser)
    response = browser(who).post(f"/cases/{case.id}/visits", {"purpose": "identity_check", "channel": "window"})
    db.session.rollback()
    rows = db.session.scalars(select(Visit).where(Visit.case_id == case.id, Visit.channel == "window")).all()
    if expected == OK:
        check(response, OK, redirect_to=f"/cases/{case.id}")
        assert [v.purpose.value for v in rows] == ["identity_check"]
    else:
        check(response, expected)
        assert rows == []


@pytest.mark.parametrize(("who", "expected"), [("nanguan_reviewer", OK), ("nongan_reviewer", 404),
                                               ("zhangsan", 403)])
def test_outbox_retry(ctx, users, make_case, browser, who, expected):
    case = make_case()
    message = outbox.queue("tax", "transfer_for_tax", {"case_no": case.case_no}, case_id=case.id)
    message.state, message.attempts = "failed", 8
    db.session.commit()
    response = browser(who).post(f"/cases/{case.id}/outbox/{message.id}/retry")
    db.session.rollback()
    message = db.session.get(OutboxMessage, message.id)
    if expected == OK:
        check(response, OK, redirect_to=f"/cases/{case.id}")
        assert (message.state, message.attempts) == ("pending", 0)
    else:
        check(response, expected)
        assert message.state == "failed"


def test_registration_task_pages_show_parties_rules_and_the_tax_push(users, units, register_units, browser):
    case = _submitted_transfer(users, units, register_units, browser)
    check(browser("zhangsan").post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    clerk = browser("nanling_clerk")
    page = clerk.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="parties"' in page
    assert users["wangwei"].id_number in page  # staff see the parties in full
    assert 'name="task-items" type="checkbox" value="contract"' in page
    check(clerk.post(f"/tasks/{task.id}", {"task-decision": "accept"}), OK, redirect_to="/workbench")
    db.session.rollback()
    review = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    page = browser("nanguan_reviewer").get(f"/tasks/{review.id}").get_data(as_text=True)
    assert 'data-testid="outbox"' in page
    assert "税务部门" in page
    assert "待发送" in page
    # The applicant sees where the case is, in plain words, and no rules panel or outbox.
    mine = browser("wangwei").get(f"/cases/{case.id}").get_data(as_text=True)
    assert "审核中（初审）" in mine
    assert 'data-testid="outbox"' not in mine
    assert 'data-testid="findings"' not in mine


def test_rule_warnings_are_shown_to_the_clerk(users, units, register_units, browser):
    wang, bank = users["wangwei"], users["ccb_changchun"]
    form = {"submission_key": str(uuid.uuid4()), "unit_no": register_units["mortgaged"],
            "office": str(units["220102001"].id), "mortgagors-0-name": "王伟",
            "mortgagors-0-id_number": wang.id_number, "bank_name": bank.display_name,
            "bank_id_number": bank.id_number, "amount_yuan": "200000", "contract_no": "抵2026-7", "submit": "1"}
    response = browser("wangwei").post("/services/reg_mortgage/apply", {
        **form, **files(contract=None, loan_contract="借款合同.pdf")})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case = db.session.scalars(select(Case)).one()
    check(browser("ccb_changchun").post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    page = browser("nanling_clerk").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-testid="findings"' in page
    assert "新抵押权的顺位排在其后" in page or "顺位" in page


def _word_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _notice(client, case, kind: str) -> str:
    """The text of the case's latest notice of KIND, downloaded as its Word file from the case page."""
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    links = re.findall(rf'href="(/cases/{case.id}/documents/\d+)" data-kind="{kind}"', page)
    assert links, f"no {kind} notice listed"
    response = client.get(links[-1])
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return _word_text(response.data)


def test_notices_are_word_documents_listed_with_the_case(users, units, register_units, browser):
    case = _submitted_transfer(users, units, register_units, browser)
    applicant = browser("wangwei")
    assert 'data-testid="notices"' not in applicant.get(f"/cases/{case.id}").get_data(as_text=True)
    check(browser("zhangsan").post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    clerk = browser("nanling_clerk")
    clerk.post(f"/tasks/{task.id}", {"task-decision": "correct", "task-items": ["contract", "id_proof"],
                                     "task-opinion": "合同缺签字页"})
    text = _notice(applicant, case, "correction")
    assert "补正材料通知书" in text
    assert "存量房买卖合同" in text
    assert "申请人身份证明" in text  # every item, at once
    assert "合同缺签字页" in text
    assert case.case_no in text
    document = db.session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id)).one()
    assert browser("changchun_dev").get(f"/cases/{case.id}/documents/{document.id}").status_code == 404
    assert applicant.get(f"/cases/{case.id}/documents/{document.id + 999}").status_code == 404
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.kind == EventKind.DOCUMENT)).all()
    assert [e.detail["document_id"] for e in events] == [document.id]  # listed on the timeline
    applicant.post(f"/cases/{case.id}/correction", {"file_contract": (io.BytesIO(samples.pdf("c")), "合同.pdf"),
                                                    "file_id_proof": (io.BytesIO(samples.pdf("i")), "身份证.pdf")})
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    clerk.post(f"/tasks/{task.id}", {"task-decision": "accept"})
    text = _notice(applicant, case, "acceptance")
    assert "受理通知书" in text
    assert case.case_no in text
    assert "存量房买卖合同" in text  # the materials received
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    browser("nanguan_reviewer").post(f"/tasks/{task.id}", {"task-decision": "refuse", "task-opinion": "权属有争议"})
    text = _notice(applicant, case, "refusal_registration")
    assert "不予登记告知书" in text
    assert "权属有争议" in text
    assert "行政复议" in text
    assert "行政诉讼" in text  # the remedies


def test_a_resent_task_form_never_completes_the_next_step(users, units, register_units, browser):
    """On SQLite the next review task may get the finished one's id; the form names its task."""
    case = _submitted_transfer(users, units, register_units, browser)
    check(browser("zhangsan").post(f"/cases/{case.id}/confirm"), OK, redirect_to=f"/cases/{case.id}")
    db.session.rollback()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    browser("nanling_clerk").post(f"/tasks/{task.id}", {"task-decision": "accept", "task_guid": task.task_guid})
    db.session.rollback()
    first = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    reviewer = browser("nanguan_reviewer")
    form = {"task-decision": "approve", "task_guid": first.task_guid}
    check(reviewer.post(f"/tasks/{first.id}", form), OK, redirect_to="/workbench")
    again = reviewer.post(f"/tasks/{first.id}", form)  # a double click, or the back button
    check(again, OK, redirect_to="/workbench")
    db.session.rollback()
    [second] = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    assert second.bpmn_id == "second_review"  # still open: the resent form did not complete it
    assert reviewer.post(f"/tasks/{second.id}/claim", {"task_guid": form["task_guid"]}).status_code == 404
