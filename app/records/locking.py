"""Object lock on archived packages: compliance-mode retention matching the record's retention
period, and legal hold while a record is under litigation.

Locks are applied after the commit that recorded the package, never before: a package whose
transaction rolled back must stay deletable by the orphan sweep. `apply_pending` is safe to repeat
(the filing job runs it after each record; the CLI and the periodic job catch any it missed).
"""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import or_, select

from app.cases.materials import object_store
from app.core.clock import LOCAL, now_utc
from app.extensions import db
from app.records.models import ArchiveEvent, ArchiveRecord, StoredObject
from archive.codes import RETENTION_YEARS

log = logging.getLogger(__name__)


def retain_until(record: ArchiveRecord) -> datetime:
    """Retention counts from 1 January after the year of the files (DA/T 22); a permanent record is
    locked for ARCHIVE_PERMANENT_LOCK_YEARS, to be extended before that ends."""
    years = RETENTION_YEARS[record.retention] or current_app.config["ARCHIVE_PERMANENT_LOCK_YEARS"]
    return datetime(record.year + 1 + years, 1, 1, tzinfo=LOCAL)


def apply_pending() -> int:
    """Bring the store's locks in line with the records; commits per record. Returns how many changed."""
    store = object_store()
    if not store.supports_lock:
        return 0
    wanted_hold = ArchiveRecord.legal_hold_reason != ""
    rows = db.session.execute(
        select(ArchiveRecord.id, StoredObject.id).join(StoredObject, StoredObject.id == ArchiveRecord.package_id)
        .where(StoredObject.backend == store.backend, StoredObject.bucket == store.bucket,
               or_(StoredObject.locked_at.is_(None), wanted_hold != StoredObject.legal_hold))).all()
    changed = 0
    for record_id, object_id in rows:
        record = db.session.get(ArchiveRecord, record_id)
        obj = db.session.get(StoredObject, object_id, with_for_update=True)
        detail = {}
        try:
            if obj.locked_at is None:
                until = retain_until(record)
                store.set_retention(obj.key, obj.version_id or None, until)
                obj.retain_until, obj.locked_at = until, now_utc()
                detail["retain_until"] = until.isoformat()
            hold = bool(record.legal_hold_reason)
            if hold != obj.legal_hold:
                store.set_legal_hold(obj.key, obj.version_id or None, hold)
                obj.legal_hold = hold
                detail["legal_hold"] = hold
        except Exception:  # the store refused or is down: logged, and the next run tries again
            db.session.rollback()
            log.exception("could not lock the package of record %s", record_id)
            continue
        db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="locked", detail=detail))
        db.session.commit()
        changed += 1
    return changed


def set_hold(record: ArchiveRecord, actor, on: bool, reason: str) -> None:
    """Put the record under legal hold or lift it, for REASON (the litigation, or its end). Flushed;
    the store follows after the commit."""
    record.legal_hold_reason = reason if on else ""
    db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, actor_id=actor.id, reason=reason,
                                kind="hold_on" if on else "hold_off"))
    from app.records.filing import job

    job.queue()
    db.session.flush()
