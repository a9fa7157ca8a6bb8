"""Joint applications: every party other than the one who submitted confirms online, logged in
with the ID number the application names, before the case reaches a clerk."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.models import Case, CaseEvent, CaseParty, EventKind
from app.core.clock import now_utc
from app.engine import runtime
from app.engine.errors import Conflict, NotAllowed
from app.extensions import db


def awaiting(user) -> list[CaseParty]:
    """Parties the user has yet to confirm, in open cases."""
    if not user.id_number:
        return []
    return db.session.scalars(select(CaseParty).join(Case, Case.id == CaseParty.case_id).where(
        CaseParty.id_number == user.id_number, CaseParty.confirmed_at.is_(None), Case.closed_at.is_(None))
        .order_by(CaseParty.id)).all()


def confirm(case: Case, user) -> bool:
    """Confirm every party row of `user` in the case; returns True when that was the last one and the
    case moved on to the clerk."""
    if case.closed_at is not None:
        raise Conflict(_l("This case is already closed."))
    rows = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id).with_for_update()).all()
    mine = [p for p in rows if user.id_number and p.id_number == user.id_number]
    if not mine:
        raise NotAllowed(_l("You are not a party to this application."))
    if all(p.confirmed_at for p in mine):
        raise Conflict(_l("You have already confirmed this application."))
    now = now_utc()
    for p in mine:
        p.confirmed_at, p.confirmed_by_id = now, user.id
    db.session.add(CaseEvent(case_id=case.id, kind=EventKind.CONFIRMED, actor_id=user.id,
                             detail={"name": user.display_name}))
    db.session.flush()
    if any(p.confirmed_at is None for p in rows):
        return False
    runtime.deliver_message("parties_confirmed", {"case_no": case.case_no}, {"case_no": case.case_no},
                            f"parties-{case.id}", sender="portal", actor_id=user.id)
    return True
