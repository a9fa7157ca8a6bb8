"""Who may do what in the archive. Archivists file, check and read records of their jurisdiction;
other staff find records of theirs in the catalogue and read files through an approved request.
Every read of a file is logged with who and why."""

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.clock import now_utc
from app.extensions import db
from app.orgs.models import Role, User
from app.orgs.permissions import descendants_and_self, scope_unit_ids
from app.records.models import AccessRequest, AccessState, ArchiveEvent, ArchiveRecord, ArchiveReturn

OFFICE_ROLES = {Role.CLERK, Role.REVIEWER, Role.REGISTRAR, Role.APPROVER, Role.ENFORCEMENT_OFFICER,
                Role.LEGAL_REVIEWER, Role.SUPERVISOR}


class AccessError(Exception):
    """A request that cannot be made or decided; the message says why."""


def archivist_scope(user: User) -> set[int]:
    """Units whose cases USER files and reads as an archivist: where they hold the role, and below."""
    if not user.is_authenticated or not user.is_staff:
        return set()
    scope: set[int] = set()
    for r in user.roles:
        if r.role == Role.ARCHIVIST:
            scope |= descendants_and_self(r.org_unit_id)
    return scope


def is_archivist(user: User) -> bool:
    return bool(archivist_scope(user))


def may_see_record(user: User, record: ArchiveRecord) -> bool:
    """The catalogue entry and metadata: staff whose jurisdiction covers the case."""
    return record.case.jurisdiction_id in scope_unit_ids(user)


def may_manage(user: User, record: ArchiveRecord) -> bool:
    return record.case.jurisdiction_id in archivist_scope(user)


def granted(user: User, record: ArchiveRecord) -> AccessRequest | None:
    return db.session.scalar(select(AccessRequest).where(
        AccessRequest.record_id == record.id, AccessRequest.requester_id == user.id,
        AccessRequest.state == AccessState.APPROVED, AccessRequest.expires_at > now_utc())
        .order_by(AccessRequest.expires_at.desc()).limit(1))


def may_read_files(user: User, record: ArchiveRecord) -> bool:
    return may_manage(user, record) or (may_see_record(user, record) and granted(user, record) is not None)


def may_resubmit(user: User, returned: ArchiveReturn) -> bool:
    """The office that handled the case: staff with a case-working role whose jurisdiction covers it."""
    return any(r.role in OFFICE_ROLES and returned.case.jurisdiction_id in descendants_and_self(r.org_unit_id)
               for r in user.roles)


def request_access(record: ArchiveRecord, user: User, reason: str) -> AccessRequest:
    if may_manage(user, record):
        raise AccessError(_l("Archivists read the records of their jurisdiction without asking."))
    pending = db.session.scalar(select(AccessRequest.id).where(
        AccessRequest.record_id == record.id, AccessRequest.requester_id == user.id,
        AccessRequest.state == AccessState.PENDING))
    if pending:
        raise AccessError(_l("You already have a request waiting for approval."))
    request = AccessRequest(record_id=record.id, requester_id=user.id, reason=reason)
    db.session.add(request)
    db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="access_requested",
                                actor_id=user.id, reason=reason))
    db.session.flush()
    return request


def decide(request: AccessRequest, archivist: User, approve: bool, note: str) -> None:
    if request.state != AccessState.PENDING:
        raise AccessError(_l("This request has already been decided."))
    if request.requester_id == archivist.id:
        raise AccessError(_l("You cannot decide your own request."))
    now = now_utc()
    request.state = AccessState.APPROVED if approve else AccessState.REFUSED
    request.decided_by_id, request.decided_at, request.decision_note = archivist.id, now, note
    if approve:
        request.expires_at = now + timedelta(days=current_app.config["ARCHIVE_ACCESS_DAYS"])
    db.session.add(ArchiveEvent(record_id=request.record_id, case_id=request.record.case_id,
                                kind="access_approved" if approve else "access_refused", actor_id=archivist.id,
                                reason=note, detail={"request_id": request.id, "requester": request.requester_id}))
    db.session.flush()


def pending_for(user: User):
    """Requests waiting on an archivist of USER's jurisdiction."""
    from app.cases.models import Case

    return (select(AccessRequest).join(ArchiveRecord, ArchiveRecord.id == AccessRequest.record_id)
            .join(Case, Case.id == ArchiveRecord.case_id)
            .where(AccessRequest.state == AccessState.PENDING, Case.jurisdiction_id.in_(archivist_scope(user)))
            .order_by(AccessRequest.requested_at))


def log_read(record: ArchiveRecord, user: User, what: str, reason: str) -> None:
    """A file or the package handed out: who, what and why (flushed with the response's commit)."""
    db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="downloaded", actor_id=user.id,
                                reason=reason, detail={"path": what}))
    db.session.flush()
