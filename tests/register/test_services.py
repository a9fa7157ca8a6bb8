"""The four registration services end to end through the engine: submission, joint confirmation,
correction, acceptance, review across the tiers, the tax gate, entry in the register, delivery."""

import uuid
from decimal import Decimal

from sqlalchemy import select

from app.cases import corrections, parties
from app.cases.models import Case, CaseStatus, Service, Visit
from app.core.models import OutboxMessage
from app.engine import runtime
from app.engine.models import HumanTask, MessageSubscription
from app.extensions import db
from app.register import history
from app.register.applications import Application, PartyInput, submit


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
    complete(case, registrar, "issue", decision="issue", channel="online")
    db.session.refresh(case)
    assert case.status == CaseStatus.COMPLETED
    assert case.outcome == "registered"
    visits = db.session.scalars(select(Visit).where(Visit.case_id == case.id)).all()
    assert {(v.purpose.value, v.channel.value) for v in visits} == {("submission", "online"), ("pickup", "online")}

