"""Visits (跑动): every step an applicant did in person or otherwise, with its channel. Only the
window channel is a trip to a counter; "at most one visit" is counted from these rows."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.models import Case, Channel, EventKind, Visit, VisitPurpose
from app.core.clock import now_utc
from app.engine.errors import Conflict
from app.engine.runtime import event, record_change
from app.extensions import db


def record(case: Case, purpose: VisitPurpose, channel: Channel, clerk) -> Visit:
    if case.closed_at is not None and purpose != VisitPurpose.PICKUP:
        raise Conflict(_l("This case is already closed."))
    visit = Visit(case_id=case.id, purpose=purpose, channel=channel, at=now_utc(), org_unit_id=case.jurisdiction_id,
                  recorded_by_id=clerk.id)
    db.session.add(visit)
    db.session.flush()
    detail = {"purpose": purpose.value, "channel": channel.value}
    record_change(case, clerk.id, [event(case, EventKind.VISIT, clerk.id, detail=detail)], "case.visit", detail)
    return visit


def of(case: Case) -> list[Visit]:
    return db.session.scalars(select(Visit).where(Visit.case_id == case.id).order_by(Visit.at, Visit.id)).all()

