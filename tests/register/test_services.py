"""The four registration services end to end through the engine: submission, joint confirmation,
correction, acceptance, review across the tiers, the tax gate, entry in the register, delivery."""

import threading
import uuid
from decimal import Decimal

import pytest

from sqlalchemy import func, select

from app.cases import corrections, parties
from app.cases.models import Case, CaseEvent, CaseStatus, Correction, Service, Visit
from app.core import outbox
from app.core.models import OutboxMessage
from app.engine import runtime
from app.engine.errors import NotAllowed
from app.engine.models import HumanTask, MessageSubscription
from app.extensions import db
from app.orgs.models import IdType
from app.register import demo, entry, history, rules
from app.register.applications import Application, ApplicationRefused, PartyInput, submit
from app.register.models import RegisterEntry, RegistrationType, SourceDocument


def _task(case: Case) -> HumanTask:
    rows = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    assert len(rows) == 1, [r.bpmn_id for r in rows]
    return rows[0]


def complete(case: Case, user, bpmn_id: str, **data) -> None:
    task = _task(case)
    assert task.bpmn_id == bpmn_id
    runtime.complete_task(task.id, user, data, note=data.get("opinion", ""))
    db.session.commit()


def waiting_for(case: Case) -> set[str]:
    return set(db.session.scalars(select(MessageSubscription.message_name).where(
        MessageSubscription.instance_id == runtime._instance_id(case))))


def transfer(users, units, register_units, uploads, unit="owned", sellers=None) -> Case:
    wang = users["wangwei"]
    app = Application(unit_no=register_units[unit], office_id=units["220102001"].id,
                      obligors=sellers or [PartyInput("王伟", wang.id_number)],
                      holders=[PartyInput("张三", users["zhangsan"].id_number)], holding="sole",
                      price_yuan=Decimal("1200000"), contract_no="长房网签2026-001")
    case = submit(wang, db.session.get(Service, "reg_transfer"), app, uploads, str(uuid.uuid4()))
    db.session.commit()
    return case


def test_transfer_end_to_end(users, units, register_units, pdf_upload):
    files = {code: pdf_upload(f"{code}.pdf") for code in ("id_proof", "title_cert", "contract")}
    case = transfer(users, units, register_units, files)
    assert waiting_for(case) == {"parties_confirmed"}
    assert parties.confirm(case, users["zhangsan"]) is True
    db.session.commit()

    clerk, reviewer, registrar = users["nanling_clerk"], users["nanguan_reviewer"], users["nanguan_registrar"]
    complete(case, clerk, "pre_review", decision="correct", items=["contract"], opinion="合同缺少签字页")
    assert waiting_for(case) == {"correction_fixed"}
    assert case.waiting_since is not None
    corrections.fix(case, users["wangwei"], {"contract": pdf_upload("合同.pdf")})
    db.session.commit()
    complete(case, clerk, "pre_review", decision="accept")
    assert case.accepted_at is not None
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
    assert message.destination == "tax"
    assert message.payload["buyers"][0]["name"] == "张三"
    assert message.payload["price_yuan"] == "1200000"

    complete(case, reviewer, "first_review", decision="approve")
    complete(case, reviewer, "second_review", decision="approve")
    # Both reviews done, but the tax gate holds the case: no registrar task yet.
    assert db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all() == []
    assert waiting_for(case) == {"tax_result"}
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared",
                                                                      "voucher_no": "契税2026-1"}, "tax-1", "test")
    db.session.commit()
    complete(case, registrar, "register_entry", decision="enter")
    holders = [h.party.name for r in history.rights(register_units["owned"]) for h in r.holders]
    assert holders == ["张三"]
    done = db.session.scalars(select(RegisterEntry).where(RegisterEntry.case_id == case.id)).one()
    assert done.registrar_id == registrar.id
    sources = {(d.kind, d.number) for d in db.session.scalars(select(SourceDocument).where(
        SourceDocument.entry_id == done.id))}
    assert sources == {("id_proof", ""), ("title_cert", ""), ("contract", "长房网签2026-001"),
                       ("tax_voucher", "契税2026-1")}
    complete(case, registrar, "issue", decision="issue", channel="online")
    db.session.refresh(case)
    assert case.status == CaseStatus.COMPLETED
    assert case.outcome == "registered"
    visits = db.session.scalars(select(Visit).where(Visit.case_id == case.id)).all()
    assert {(v.purpose.value, v.channel.value) for v in visits} == {("submission", "online"), ("pickup", "online")}



def accept_all_the_way(case, users, *, reviews=("first_review",)):
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    for review in reviews:
        complete(case, users["nanguan_reviewer"], review, decision="approve")


def test_mortgage_joint_with_the_bank_ranks_after_the_existing_one(users, units, register_units, pdf_upload):
    wang, bank = users["wangwei"], users["ccb_changchun"]
    app = Application(unit_no=register_units["mortgaged"], office_id=units["220102001"].id,
                      obligors=[PartyInput("王伟", wang.id_number)],
                      holders=[PartyInput(bank.display_name, bank.id_number)], amount_yuan=Decimal("300000"),
                      contract_no="借抵字第00002号")
    uploads = {code: pdf_upload() for code in ("id_proof", "title_cert", "loan_contract")}
    case = submit(wang, db.session.get(Service, "reg_mortgage"), app, uploads, str(uuid.uuid4()))
    db.session.commit()
    assert waiting_for(case) == {"parties_confirmed"}
    assert parties.confirm(case, bank) is True
    db.session.commit()
    accept_all_the_way(case, users)
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    complete(case, users["nanguan_registrar"], "issue", decision="issue", channel="post")
    record = history.record(register_units["mortgaged"])
    assert [(m.rank, m.holder.name, m.amount) for m in record.mortgages] == [
        (1, bank.display_name, Decimal("500000.00")), (2, bank.display_name, Decimal("300000.00"))]
    assert db.session.get(Case, case.id).outcome == "registered"


def test_mortgage_cancellation_by_the_bank_alone(users, units, register_units, pdf_upload):
    bank = users["ccb_changchun"]
    app = Application(unit_no=register_units["mortgaged"], office_id=units["220102001"].id, mortgage_key="TM0000001")
    case = submit(bank, db.session.get(Service, "reg_mortgage_cancellation"), app,
                  {"id_proof": pdf_upload(), "release_proof": pdf_upload()}, str(uuid.uuid4()))
    db.session.commit()
    assert waiting_for(case) == set()  # no one else to confirm: straight to the clerk
    accept_all_the_way(case, users)
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.COMPLETED, "registered")  # no certificate step
    assert history.record(register_units["mortgaged"]).mortgages == []


def test_mortgage_cancellation_by_someone_else_is_refused(users, units, register_units, pdf_upload):
    app = Application(unit_no=register_units["mortgaged"], office_id=units["220102001"].id, mortgage_key="TM0000001")
    with pytest.raises(ApplicationRefused) as refused:
        submit(users["zhangsan"], db.session.get(Service, "reg_mortgage_cancellation"), app,
               {"id_proof": pdf_upload(), "release_proof": pdf_upload()}, str(uuid.uuid4()))
    assert any("当事人" in r for r in refused.value.reasons)


def test_change_of_the_holders_name(users, units, register_units, pdf_upload):
    wang = users["wangwei"]
    app = Application(unit_no=register_units["co_owned"], office_id=units["220102001"].id,
                      obligors=[PartyInput("王伟", wang.id_number)], holders=[PartyInput("王炜", wang.id_number)])
    uploads = {code: pdf_upload() for code in ("id_proof", "title_cert", "change_proof")}
    case = submit(wang, db.session.get(Service, "reg_change"), app, uploads, str(uuid.uuid4()))
    db.session.commit()
    accept_all_the_way(case, users)
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    complete(case, users["nanguan_registrar"], "issue", decision="issue", channel="window")
    holders = sorted((h.party.name, h.share) for r in history.rights(register_units["co_owned"]) for h in r.holders)
    assert holders == [("李娜", Decimal("0.5000")), ("王炜", Decimal("0.5000"))]
    trips = db.session.scalars(select(Visit).where(Visit.case_id == case.id, Visit.channel == "window")).all()
    assert [v.purpose.value for v in trips] == ["pickup"]


def test_city_escalation_and_send_back_in_the_transfer(users, units, register_units, pdf_upload):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    complete(case, users["nanguan_reviewer"], "first_review", decision="approve")
    complete(case, users["nanguan_reviewer"], "second_review", decision="send_back", opinion="合同价格需核实")
    complete(case, users["nanguan_reviewer"], "first_review", decision="approve")
    complete(case, users["nanguan_reviewer"], "second_review", decision="escalate", opinion="报市局")
    assert _task(case).candidate_org_id == units["220100"].id
    complete(case, users["city_approver"], "city_review", decision="approve")
    assert waiting_for(case) == {"tax_result"}


def confirmed_transfer(users, units, register_units, pdf_upload, unit="owned") -> Case:
    files = {code: pdf_upload() for code in ("id_proof", "title_cert", "contract")}
    case = transfer(users, units, register_units, files, unit=unit)
    parties.confirm(case, users["zhangsan"])
    db.session.commit()
    return case


# --------------------------------------------------------------------------- rules


def test_a_seized_unit_blocks_a_transfer_and_nothing_is_stored(users, units, register_units, pdf_upload):
    before = db.session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(ApplicationRefused) as refused:
        transfer(users, units, register_units, {code: pdf_upload() for code in ("id_proof", "title_cert", "contract")},
                 unit="seized")
    assert any("查封" in r for r in refused.value.reasons)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_every_holder_must_sell(users, units, register_units, pdf_upload):
    with pytest.raises(ApplicationRefused) as refused:
        transfer(users, units, register_units, {code: pdf_upload() for code in ("id_proof", "title_cert", "contract")},
                 unit="co_owned")
    assert any("李娜" in r for r in refused.value.reasons)


def test_a_seizure_after_acceptance_blocks_entry_and_the_registrar_refuses(users, units, register_units,
                                                                          pdf_upload, clock):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared"},
                            "tax-seized", "test")
    db.session.commit()
    court = entry.party("长春市南关区人民法院", IdType.USCC, demo.org_id("112201000"))
    order = entry.enter_now(None, None, RegistrationType.SEIZURE, "查封", at=clock.now)
    entry.lodge_seizure(order, "TS0000009", register_units["owned"], court, "(2026)吉0102执9号", clock.now)
    db.session.commit()
    task = _task(case)
    findings = rules.for_case(case, stage="entry", tax_result={"status": "cleared"})
    assert "seized" in {f.rule for f in rules.blocking(findings)}
    with pytest.raises(NotAllowed, match="查封"):
        runtime.complete_task(task.id, users["nanguan_registrar"], {"decision": "enter"})
    db.session.rollback()
    assert [h.party.name for r in history.rights(register_units["owned"]) for h in r.holders] == ["王伟"]
    complete(case, users["nanguan_registrar"], "register_entry", decision="refuse", opinion="已被法院查封")
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.COMPLETED, "not_registered")
    assert waiting_for(case) == set()  # the terminate end took the other branch with it


def test_a_transfer_cannot_be_entered_before_the_tax_result(users, units, register_units, pdf_upload):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    assert db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all() == []
    assert "tax_unpaid" in {f.rule for f in rules.for_case(case, stage="entry")}
    # An 'unpaid' result keeps the gate closed; the case waits for the next result.
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "unpaid"},
                            "tax-unpaid", "test")
    db.session.commit()
    assert waiting_for(case) == {"tax_result"}
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared"},
                            "tax-paid", "test")
    db.session.commit()
    assert _task(case).bpmn_id == "register_entry"


def test_another_accepted_case_on_the_unit_blocks_acceptance(users, units, register_units, pdf_upload):
    first = confirmed_transfer(users, units, register_units, pdf_upload)
    second = confirmed_transfer(users, units, register_units, pdf_upload)
    complete(first, users["nanling_clerk"], "pre_review", decision="accept")
    with pytest.raises(NotAllowed, match=first.case_no):
        runtime.complete_task(_task(second).id, users["nanling_clerk"], {"decision": "accept"})
    db.session.rollback()


def test_a_withdrawn_case_leaves_the_register_untouched(users, units, register_units, pdf_upload):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    assert entry.pending(case)  # proposed at acceptance
    runtime.withdraw(case, users["wangwei"], "买方放弃购买")
    db.session.commit()
    db.session.refresh(case)
    assert case.status == CaseStatus.WITHDRAWN
    assert [h.party.name for r in history.rights(register_units["owned"]) for h in r.holders] == ["王伟"]
    assert rules.pending_cases(register_units["owned"]) == []
    # The unit is free for a new application, which can be accepted.
    again = confirmed_transfer(users, units, register_units, pdf_upload)
    complete(again, users["nanling_clerk"], "pre_review", decision="accept")


def test_no_withdrawal_after_entry(users, units, register_units, pdf_upload):
    bank = users["ccb_changchun"]
    app = Application(unit_no=register_units["mortgaged"], office_id=units["220102001"].id, mortgage_key="TM0000001")
    case = submit(bank, db.session.get(Service, "reg_mortgage_cancellation"), app,
                  {"id_proof": pdf_upload(), "release_proof": pdf_upload()}, str(uuid.uuid4()))
    db.session.commit()
    runtime.withdraw(case, bank)  # waiting at pre-review: allowed
    db.session.commit()
    assert db.session.get(Case, case.id).status == CaseStatus.WITHDRAWN
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared"},
                            "tax-x", "test")
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    with pytest.raises(NotAllowed):
        runtime.withdraw(case, users["wangwei"])
    db.session.rollback()


def test_a_later_request_for_an_unlisted_item_is_a_second_correction(users, units, register_units, pdf_upload):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    clerk = users["nanling_clerk"]
    complete(case, clerk, "pre_review", decision="correct", items=["contract"], opinion="合同缺页")
    corrections.fix(case, users["wangwei"], {"contract": pdf_upload()})
    db.session.commit()
    complete(case, clerk, "pre_review", decision="correct", items=["contract", "marriage"], opinion="另需婚姻证明")
    rounds = db.session.scalars(select(Correction).where(Correction.case_id == case.id)
                                .order_by(Correction.round)).all()
    assert [(c.round, c.second) for c in rounds] == [(1, False), (2, True)]


# --------------------------------------------------------------------------- the tax outbox


class TaxBureau:
    """The tax bureau's receiving endpoint: a boundary we do not own, stood in for by a real HTTP
    server on loopback that answers as told and records what it received."""

    def __init__(self):
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        self.answers, self.received = [], []

        @Request.application
        def receive(request):
            self.received.append((request.headers.get("Idempotency-Key"), request.headers.get("Authorization"),
                                  request.get_json()))
            return Response("{}", status=self.answers.pop(0) if self.answers else 200)

        self.server = make_server("127.0.0.1", 0, receive, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.port}/inbox"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tax_bureau(ctx):
    bureau = TaxBureau()
    saved = ctx.config["OUTBOX_DESTINATIONS"]
    ctx.config["OUTBOX_DESTINATIONS"] = {"tax": {"url": bureau.url, "token": "tax-token"}}
    yield bureau
    ctx.config["OUTBOX_DESTINATIONS"] = saved
    bureau.close()


def test_the_tax_push_is_retried_and_delivered_once_accepted(users, units, register_units, pdf_upload,
                                                            tax_bureau, clock):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    assert outbox.deliver_due() == 0  # nothing before acceptance
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    tax_bureau.answers = [503]
    assert outbox.deliver_due() == 0
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.state, message.attempts) == ("pending", 1)
    assert "503" in message.last_error
    assert outbox.deliver_due() == 0  # not due again yet
    clock.advance(seconds=31)
    assert outbox.deliver_due() == 1
    db.session.refresh(message)
    assert message.state == "delivered"
    keys = {key for key, _auth, _body in tax_bureau.received}
    assert keys == {message.message_id}  # the same idempotency key on every attempt
    assert tax_bureau.received[-1][1] == "Bearer tax-token"
    body = tax_bureau.received[-1][2]
    assert body["payload"]["unit_no"] == register_units["owned"]
    assert body["payload"]["sellers"][0]["id_number"] == users["wangwei"].id_number
    kinds = [e.detail.get("state") for e in db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == "outbox"))]
    assert kinds == ["delivered"]


def test_the_tax_push_gives_up_after_its_attempts_and_can_be_sent_again(users, units, register_units, pdf_upload,
                                                                        tax_bureau, clock):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    tax_bureau.answers = [500] * outbox.MAX_ATTEMPTS
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due()
        clock.advance(hours=2)
    message = db.session.scalars(select(OutboxMessage)).one()
    assert (message.state, message.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert outbox.deliver_due() == 0
    outbox.retry(message)
    db.session.commit()
    assert outbox.deliver_due() == 1


def test_tax_result_from_the_command_line(users, units, register_units, pdf_upload, ctx):
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    runner = ctx.test_cli_runner()
    result = runner.invoke(args=["tax-result", case.case_no, "--voucher", "契税2026-9"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    assert _task(case).bpmn_id == "register_entry"
    result = runner.invoke(args=["tax-result", "220102-2026-9999999"])
    assert result.exit_code != 0
