"""Corrections (补正): the clerk lists every missing or faulty material at once (一次性告知); the
applicant fixes them online; the case's clock stops while it waits on the applicant.

A later request naming a material the first list did not name is recorded as a second
correction: the one-time notice failed, and the statistics count it.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases import materials
from app.cases.models import Case, CaseEvent, Correction, EventKind, Material
from app.core.clock import now_utc
from app.core.deadlines import current_calendar
from app.engine import runtime, scripts
from app.engine.errors import Conflict, NotAllowed
from app.extensions import db


def request(case: Case, items: list[str], note: str, clerk_id: int | None) -> Correction:
    """Record the request and stop the clock (called by the model's service task, so its timeline
    event follows the clerk's step)."""
    unknown = [code for code in items if case.service.material(code) is None]
    if not items or unknown:
        raise NotAllowed(_l("List at least one of the service's materials to be corrected."))
    earlier = db.session.scalars(select(Correction).where(Correction.case_id == case.id)
                                 .order_by(Correction.round)).all()
    first_items = set(earlier[0].items) if earlier else set(items)
    correction = Correction(case_id=case.id, round=len(earlier) + 1, items=list(items), note=note,
                            second=bool(set(items) - first_items), requested_by_id=clerk_id)
    db.session.add(correction)
    case.waiting_since = now_utc()
    db.session.flush()
    scripts.emit(runtime.event(case, EventKind.CORRECTION_REQUESTED, clerk_id, note=note, detail={
        "round": correction.round, "items": list(items), "second": correction.second}))
    return correction


def open_correction(case: Case) -> Correction | None:
    return db.session.scalar(select(Correction).where(Correction.case_id == case.id, Correction.fixed_at.is_(None))
                             .order_by(Correction.round.desc()).limit(1))


def history(case: Case) -> list[Correction]:
    return db.session.scalars(select(Correction).where(Correction.case_id == case.id)
                              .order_by(Correction.round)).all()


def fix(case: Case, applicant, uploads: dict) -> Correction:
    """The applicant's corrected materials: stored, the older files marked replaced, the clock moved
    on by the working days waited, and the process told (it goes back to the clerk)."""
    correction = open_correction(case)
    if correction is None or case.closed_at is not None:
        raise Conflict(_l("There is no correction waiting for this case."))
    missing = [code for code in correction.items if code not in uploads]
    if missing:
        names = "、".join(case.service.material(code)["name"] for code in missing)
        raise NotAllowed(_l("Attach every listed material: %(names)s.", names=names))
    now = now_utc()
    old = db.session.scalars(select(Material).where(Material.case_id == case.id, Material.code.in_(uploads),
                                                    Material.replaced_by_id.is_(None))).all()
    new = {m.code: m for m in materials.attach(case, uploads, applicant.id)}
    for material in old:
        material.replaced_by_id = new[material.code].id
    paused = current_calendar().working_days_between(case.waiting_since, now) if case.waiting_since else 0
    if paused and case.due_at:
        case.due_at = current_calendar().add_working_days(case.due_at, paused).due_at
    case.paused_days += paused
    case.waiting_since = None
    correction.fixed_at = now
    db.session.add(CaseEvent(case_id=case.id, kind=EventKind.CORRECTION_FIXED, actor_id=applicant.id,
                             detail={"round": correction.round, "paused_working_days": paused}))
    db.session.flush()
    runtime.deliver_message("correction_fixed", {"case_no": case.case_no}, {"case_no": case.case_no,
                            "round": correction.round}, f"correction-{correction.id}", sender="portal",
                            actor_id=applicant.id)
    return correction
