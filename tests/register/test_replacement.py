"""Certificate replacement (换证、补证) end to end: a damaged certificate is exchanged at once, a lost
one re-issued only after its loss notice has run 15 working days; bad applications name the problem
and store nothing."""

import io
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseParty, CaseStatus, Material, Service
from app.certificates import replacement
from app.certificates.models import Certificate, CertificateStatus
from app.core.clock import LOCAL
from app.engine import jobs, runtime
from app.engine.errors import NotAllowed
from app.engine.models import HumanTask, InstanceTimer, ProcessInstance
from app.extensions import db
from app.register.applications import Application, ApplicationRefused, PartyInput, submit
from app.register.models import Notation, PendingChange, RegisterEntry, SourceDocument
from tests import samples
from tests.register.test_services import accept_all_the_way, complete, confirmed_transfer
from tests.test_routes import Browser

SERVICE = replacement.SERVICE_CODE
UNKNOWN = "吉(2026)长春市不动产权第9999999号"


def tasks(case: Case) -> list[str]:
    return [t.bpmn_id for t in db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id))]


def sold_flat(users, units, register_units, pdf_upload) -> Certificate:
    """王伟's flat sold to 张三: the transfer's entry gives 张三 a title certificate."""
    case = confirmed_transfer(users, units, register_units, pdf_upload)
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared"},
                            f"tax-{case.case_no}", "test")
    db.session.commit()
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    complete(case, users["nanguan_registrar"], "issue", decision="issue", channel="online")
    return db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)).one()


def apply(users, units, pdf_upload, unit_no: str, number: str, reason: str = "damaged", who: str = "zhangsan",
          materials: tuple[str, ...] | None = None) -> Case:
    app = Application(unit_no=unit_no, office_id=units["220102001"].id, certificate_no=number, reason=reason)
    codes = materials if materials is not None else ("id_proof", replacement.MATERIAL_FOR_REASON[reason])
    uploads = {code: pdf_upload(f"{code}.pdf") for code in codes}
    case = submit(users[who], db.session.get(Service, SERVICE), app, uploads, str(uuid.uuid4()))
    db.session.commit()
    return case


def test_a_damaged_certificate_is_exchanged(users, units, register_units, pdf_upload):
    old = sold_flat(users, units, register_units, pdf_upload)
    assert (old.status, old.holders[0]["name"]) == (CertificateStatus.ISSUED, "张三")
    # Typed as applicants do, with full-width brackets and spaces.
    typed = old.number.replace("(", "（").replace(")", "）").replace("长春市", " 长春市 ")
    case = apply(users, units, pdf_upload, register_units["owned"], typed)
    parties = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id)).all()
    assert [(p.role.value, p.name, p.confirmed_at is not None) for p in parties] == [("holder", "张三", True)]
    assert tasks(case) == ["pre_review"]

    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    assert tasks(case) == ["register_entry"]  # no notice for a damaged certificate
    # Accepted: the unit shows a case pending on it, so a sale cannot be accepted meanwhile.
    assert [c.item for c in db.session.scalars(select(PendingChange).where(PendingChange.case_id == case.id))] == [
        "notation"]
    registrar = users["nanguan_registrar"]
    complete(case, registrar, "register_entry", decision="enter")

    done = db.session.scalars(select(RegisterEntry).where(RegisterEntry.case_id == case.id)).one()
    assert (done.registrar_id, done.registration_type.value) == (registrar.id, "900")
    notation = db.session.scalars(select(Notation).where(Notation.entry_id == done.id)).one()
    assert notation.unit_no == register_units["owned"]
    assert "换发" in notation.text
    assert old.number in notation.text
    assert {d.kind for d in db.session.scalars(select(SourceDocument).where(SourceDocument.entry_id == done.id))} == {
        "id_proof", "damaged_cert"}

    db.session.refresh(old)
    new = db.session.get(Certificate, old.replaced_by_id)
    assert old.status == CertificateStatus.REPLACED
    assert (old.status_case_id, old.status_entry_id, old.status_note) == (case.id, done.id, "换发")
    assert new.status == CertificateStatus.ISSUED
    assert new.number != old.number
    assert (new.replaces_id, new.case_id, new.entry_id) == (old.id, case.id, done.id)
    assert (new.unit_no, new.item_key, new.kind) == (old.unit_no, old.item_key, old.kind)
    assert new.holders == old.holders
    assert new.face["notes"] == f"换发，原证号{old.number}作废。"

    assert tasks(case) == ["issue"]
    complete(case, registrar, "issue", decision="issue", channel="window")
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.COMPLETED, "registered")
    assert case.paused_days == 0


def test_a_lost_certificate_is_reissued_only_after_the_notice(users, units, register_units, pdf_upload, clock):
    old = sold_flat(users, units, register_units, pdf_upload)
    case = apply(users, units, pdf_upload, register_units["owned"], old.number, reason="lost")
    committed = case.due_at
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")  # Monday 2 November 2026

    # Waiting for the notice: no registrar task, one timer at the end of the 15th working day.
    assert tasks(case) == []
    timer = db.session.scalars(select(InstanceTimer).where(InstanceTimer.bpmn_id == "loss_notice")).one()
    assert timer.fire_at.astimezone(LOCAL).date() == date(2026, 11, 23)
    db.session.refresh(case)
    assert case.paused_days == replacement.LOSS_NOTICE_WORKING_DAYS  # the notice is not the bureau's time
    assert case.due_at.astimezone(LOCAL).date() == date(2026, 11, 30)
    assert case.due_at > committed
    # The applicant may still withdraw while the notice runs (before entry).
    instance = db.session.get(ProcessInstance, runtime._instance_id(case))
    assert runtime.withdrawable(runtime.load(instance))
    db.session.rollback()

    clock.advance(days=16)  # 15 calendar days have passed, but only 12 working days
    assert jobs.sweep_timers() == 0
    assert tasks(case) == []

    clock.advance(days=6)  # Tuesday 24 November: the 15th working day has ended
    assert jobs.sweep_timers() == 1
    assert tasks(case) == ["register_entry"]
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    db.session.refresh(old)
    new = db.session.get(Certificate, old.replaced_by_id)
    assert (old.status, old.status_case_id, old.status_note) == (CertificateStatus.REPLACED, case.id, "补发")
    assert new.status == CertificateStatus.ISSUED
    assert "补发" in new.face["notes"]
    notation = db.session.scalars(select(Notation).where(Notation.unit_no == register_units["owned"])).one()
    assert notation.text.startswith("补发不动产权证书")
    assert old.number in notation.text


def test_a_certificate_superseded_while_the_notice_runs_is_not_reissued(users, units, register_units, pdf_upload,
                                                                       clock):
    """The check runs again at entry: the registrar sees why, and refuses."""
    old = sold_flat(users, units, register_units, pdf_upload)
    case = apply(users, units, pdf_upload, register_units["owned"], old.number, reason="lost")
    complete(case, users["nanling_clerk"], "pre_review", decision="accept")
    _superseded(users, units, register_units, pdf_upload, old)  # a change of name is not blocked meanwhile
    clock.advance(days=30)
    jobs.sweep_timers()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    with pytest.raises(NotAllowed, match=old.number.replace("(", r"\(").replace(")", r"\)")):
        runtime.complete_task(task.id, users["nanguan_registrar"], {"decision": "enter"})
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(RegisterEntry).where(
        RegisterEntry.case_id == case.id)) == 0
    complete(case, users["nanguan_registrar"], "register_entry", decision="refuse", opinion="原证书已注销")
    db.session.refresh(case)
    assert case.outcome == "not_registered"


def test_a_second_replacement_of_the_same_certificate_is_refused(users, units, register_units, pdf_upload):
    old = sold_flat(users, units, register_units, pdf_upload)
    first = apply(users, units, pdf_upload, register_units["owned"], old.number)
    complete(first, users["nanling_clerk"], "pre_review", decision="accept")
    with pytest.raises(ApplicationRefused) as refused:
        apply(users, units, pdf_upload, register_units["owned"], old.number, reason="lost")
    assert refused.value.reasons == [str(r) for r in replacement.problems(
        old, old.number, register_units["owned"], users["zhangsan"].id_number)]
    assert first.case_no in refused.value.reasons[0]


def _counts() -> tuple:
    db.session.rollback()
    return tuple(db.session.scalar(select(func.count()).select_from(m))
                 for m in (Case, CaseParty, Material, PendingChange, RegisterEntry))


def _superseded(users, units, register_units, pdf_upload, old: Certificate) -> None:
    """张三 changes his name: the change's entry supersedes his certificate."""
    zhang = users["zhangsan"]
    app = Application(unit_no=register_units["owned"], office_id=units["220102001"].id,
                      obligors=[PartyInput("张三", zhang.id_number)], holders=[PartyInput("张叁", zhang.id_number)])
    case = submit(zhang, db.session.get(Service, "reg_change"), app,
                  {code: pdf_upload() for code in ("id_proof", "title_cert", "change_proof")}, str(uuid.uuid4()))
    db.session.commit()
    accept_all_the_way(case, users)
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    db.session.refresh(old)
    assert old.status == CertificateStatus.SUPERSEDED


# Each application below is wrong in one way; `named` is what the one reason must mention.
BAD = {
    "unknown certificate": {"number": UNKNOWN, "named": "unknown number"},
    "certificate of another unit": {"unit": "co_owned", "named": "unit"},
    "superseded certificate": {"superseded": True, "named": "certificate"},
    "applicant not a holder": {"who": "wangwei", "named": "applicant"},
    "loss statement missing": {"reason": "lost", "materials": ("id_proof",), "named": "material"},
    "damaged certificate missing": {"materials": ("id_proof", "loss_statement"), "named": "material"},
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_applications_name_the_problem_and_store_nothing(users, units, register_units, pdf_upload, bad):
    old = sold_flat(users, units, register_units, pdf_upload)
    if bad.get("superseded"):
        _superseded(users, units, register_units, pdf_upload, old)
    reason, who, unit = bad.get("reason", "damaged"), bad.get("who", "zhangsan"), bad.get("unit", "owned")
    named = {"unknown number": UNKNOWN, "unit": register_units[unit], "certificate": old.number,
             "applicant": users[who].id_number,
             "material": str(replacement.check_materials(reason, ())[0])}[bad["named"]]
    before = _counts()
    with pytest.raises(ApplicationRefused) as refused:
        apply(users, units, pdf_upload, register_units[unit], bad.get("number", old.number), reason=reason, who=who,
              materials=bad.get("materials"))
    db.session.rollback()
    assert len(refused.value.reasons) == 1, refused.value.reasons
    assert named in refused.value.reasons[0]
    assert _counts() == before


def test_the_portal_lists_the_service_and_takes_the_application(ctx, users, units, register_units, pdf_upload):
    old = sold_flat(users, units, register_units, pdf_upload)
    anonymous = Browser(ctx)
    assert f'data-testid="service-{SERVICE}"' in anonymous.get("/services").get_data(as_text=True)
    assert anonymous.get(f"/services/{SERVICE}").status_code == 200
    zhang = Browser(ctx, "zhangsan")
    form = {"submission_key": str(uuid.uuid4()), "unit_no": register_units["owned"],
            "office": str(units["220102001"].id), "certificate_no": old.number, "reason": "lost", "submit": "1",
            "id_proof": (io.BytesIO(samples.pdf("id")), "身份证.pdf")}
    before = _counts()
    refused = zhang.post(f"/services/{SERVICE}/apply", form)
    assert refused.status_code == 422
    assert str(replacement.check_materials("lost", ())[0]) in refused.get_data(as_text=True)
    assert _counts() == before
    form |= {"id_proof": (io.BytesIO(samples.pdf("id")), "身份证.pdf"),
             "loss_statement": (io.BytesIO(samples.pdf("loss")), "遗失声明.pdf")}
    response = zhang.post(f"/services/{SERVICE}/apply", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    case = db.session.scalars(select(Case).where(Case.service_code == SERVICE)).one()
    application = case.applicant_data["application"]
    assert (application["certificate_no"], application["reason"]) == (old.number, "lost")
