"""The service tasks of the registration models (processes/registration/): acceptance, corrections,
refusals, the tax push, entry in the register (登簿), delivery of the certificate, court orders.

Each runs inside the operation that advanced the workflow, so what it writes commits or rolls back
with the workflow's state. A handler that refuses raises an EngineError whose message the clerk sees.
"""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases import corrections, documents, materials
from app.cases.models import (
    Case,
    CaseParty,
    Channel,
    EventKind,
    Material,
    PartyRole,
    Visit,
    VisitPurpose,
)
from app.core.clock import LOCAL, now_utc
from app.engine.errors import NotAllowed
from app.engine.runtime import event
from app.engine.scripts import current_actor, emit, handler
from app.extensions import db
from app.orgs.models import IdType, User
from app.certificates import issuing, replacement
from app.register import entry, history, rules, tax
from app.register.models import RegistrationType, RestrictionKind, SourceDocument


def _application(case: Case) -> dict:
    return case.applicant_data.get("application", {})


def _parties(case: Case, role: PartyRole) -> list[CaseParty]:
    return db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id, CaseParty.role == role)
                              .order_by(CaseParty.id)).all()


def _register_party(p: CaseParty):
    return entry.party(p.name, p.id_type, p.id_number)


def _refuse_if_blocked(findings) -> None:
    blocked = rules.blocking(findings)
    if blocked:
        raise NotAllowed(_l("Registration rules forbid this now: %(rules)s",
                            rules="；".join(f.message for f in blocked)))


@handler("registration.accept")
def accept(case: Case, data: dict) -> dict:
    """受理: the rules are checked again (the register may have changed since submission), the case's
    changes are proposed, so other applications on the unit see a case pending on it."""
    _refuse_if_blocked(rules.for_case(case, stage="acceptance"))
    case.accepted_at = now_utc()
    app = _application(case)
    unit_no = case.unit_no
    record = history.record(unit_no)
    extra: dict = {}  # what a model's later steps need from acceptance
    if case.service_code == "reg_transfer":
        buyers = _parties(case, PartyRole.HOLDER)
        holders = [{"party_id": _register_party(p).id, "share": str(p.share) if p.share is not None else None}
                   for p in buyers]
        for right in record.rights:
            entry.propose(case, "right", right.key, unit_no, {
                "right_type": right.right_type.value, "holding": app.get("holding", "sole"), "certificate_no": "",
                "holders": holders})
    elif case.service_code == "reg_mortgage":
        bank = _register_party(_parties(case, PartyRole.HOLDER)[0])
        entry.propose(case, "restriction", f"MC{case.id:08d}", unit_no, {
            "kind": RestrictionKind.MORTGAGE.value, "holder_party_id": bank.id, "rank": len(record.mortgages) + 1,
            "amount": app.get("amount_yuan"), "document_no": app.get("contract_no", "")})
    elif case.service_code == "reg_mortgage_cancellation":
        entry.propose(case, "restriction", app["mortgage_key"], unit_no, ends=True)
    elif case.service_code == "reg_change":
        old = {p.id_number for p in _parties(case, PartyRole.OBLIGOR)}
        new = _register_party(_parties(case, PartyRole.HOLDER)[0])
        for right in record.rights:
            if not any(h.party.id_number in old for h in right.holders):
                continue
            entry.propose(case, "right", right.key, unit_no, {
                "right_type": right.right_type.value, "holding": right.holding.value,
                "certificate_no": right.certificate_no,
                "holders": [{"party_id": new.id if h.party.id_number in old else h.party_id,
                             "share": str(h.share) if h.share is not None else None} for h in right.holders]})
    elif case.service_code == replacement.SERVICE_CODE:  # before the notice: a loss notice moves the deadline
        extra = replacement.accept(case, app)
    received = [f"{item.name}（{len(item.files)}份）" for item in materials.checklist(case) if item.files]
    _notice(case, "acceptance", {"accepted_on": _local_day(case.accepted_at), "materials": received,
                                 "deadline": _local_day(case.due_at or case.accepted_at)})
    return {"accepted_at": case.accepted_at.isoformat(), **extra}


def _local_day(at: datetime):
    return at.astimezone(LOCAL).date()


def _notice(case: Case, kind: str, context: dict) -> None:
    """The Word notice recording the step's decision, stored with the case and put on its timeline."""
    _document, timeline = documents.notice(case, kind, context, current_actor())
    emit(timeline)


@handler("registration.request_correction")
def request_correction(case: Case, data: dict, items, note) -> dict:
    correction = corrections.request(case, list(items or []), note or "", current_actor())
    reason = "未提交或不符合要求，请按办事指南的要求提交"
    if correction.second:
        reason += "（首次告知未列明的补充事项）"
    _notice(case, "correction", {"items": [{"name": case.service.material(code)["name"], "reason": reason}
                                           for code in correction.items], "note": note or ""})
    return {"round": correction.round, "items": correction.items, "second": correction.second}


@handler("registration.refuse")
def refuse(case: Case, data: dict, stage, reasons) -> dict:
    """不予受理 / 不予登记 with the reasons in writing; the end event closes the case."""
    emit(event(case, EventKind.TASK_COMPLETED, current_actor(), name=str(_l("Refusal notice")),
               detail={"stage": stage}, note=reasons or ""))
    context = {"reasons": (reasons or "").strip() or "不符合不动产登记的法定条件"}
    if stage == "registration":
        context["accepted_on"] = _local_day(case.accepted_at or now_utc())
    _notice(case, "refusal_registration" if stage == "registration" else "refusal_acceptance", context)
    return {"stage": stage, "reasons": reasons or ""}


@handler("tax.push")
def tax_push(case: Case, data: dict) -> dict:
    message = tax.push(case)
    return {"message_id": message.message_id}


@handler("registration.enter")
def enter(case: Case, data: dict) -> dict:
    """登簿: the rules once more, the deed tax for a transfer, then every pending change at once."""
    _refuse_if_blocked(rules.for_case(case, stage="entry", tax_result=data.get("tax_result")))
    if case.service_code == "reg_mortgage":  # the rank is the one at entry, after any mortgage entered meanwhile
        record = history.record(case.unit_no)
        for change in entry.pending(case):
            if change.item == "restriction":
                change.data = {**change.data, "rank": len(record.mortgages) + 1}
    registrar = db.session.get(User, current_actor()) if current_actor() else None
    done = entry.enter(case, registrar, RegistrationType(data["registration_type"]), summary=case.title)
    _record_sources(case, done, data)
    issuing.end_for_entry(case, done)  # the certificates of what this entry changed or ended are no longer current
    return {"entry_id": done.id, "entered_at": done.entered_at.isoformat()}


def _record_sources(case: Case, done, data: dict) -> None:
    """The documents the entry rests on (权属来源): the case's current materials, and for a transfer
    the tax bureau's voucher."""
    app = _application(case)
    for material in db.session.scalars(select(Material).where(Material.case_id == case.id,
                                                              Material.replaced_by_id.is_(None))):
        number = app.get("contract_no", "") if material.code in ("contract", "loan_contract") else ""
        db.session.add(SourceDocument(entry_id=done.id, kind=material.code, number=number, material_id=material.id))
    voucher = (data.get("tax_result") or {}).get("voucher_no")
    if voucher:
        db.session.add(SourceDocument(entry_id=done.id, kind="tax_voucher", number=str(voucher)[:100]))
    db.session.flush()


@handler("registration.deliver")
def deliver(case: Case, data: dict, channel) -> dict:
    """How the applicant received the certificate: online (zero visits), by post, or at the window."""
    channel = Channel(channel)
    db.session.add(Visit(case_id=case.id, purpose=VisitPurpose.PICKUP, channel=channel, at=now_utc(),
                         org_unit_id=case.jurisdiction_id, recorded_by_id=current_actor()))
    emit(event(case, EventKind.VISIT, current_actor(),
               detail={"purpose": VisitPurpose.PICKUP.value, "channel": channel.value}))
    return {"channel": channel.value}


@handler("registration.court_order")
def court_order(case: Case, data: dict) -> dict:
    """A court's seizure or release, entered at once and effective from its time of receipt."""
    received_at = datetime.fromisoformat(data["received_at"])
    done = entry.enter_now(case.id, None, RegistrationType.SEIZURE, data.get("document_no", ""), at=received_at)
    if data["order"] == "seize":
        court = entry.party(data["court_name"], IdType.USCC, data["court_id_number"])
        seizure = entry.lodge_seizure(done, f"SC{case.id:08d}", data["unit_no"], court, data["document_no"],
                                      received_at)
        return {"seizure_key": seizure.key, "state": seizure.state.value, "unit_no": seizure.unit_no}
    promoted = entry.release_seizure(done, data["seizure_key"])
    return {"seizure_key": data["seizure_key"], "state": "released",
            "took_effect": promoted.key if promoted is not None else None}
