"""Fixity audits: every stored package read back and compared with the checksums recorded when it
was filed; every result kept (FixityResult), good or bad, as Archivematica's FixityLog does.

Run on a schedule (Celery beat), from the command line (`flask archive verify`), or by an archivist.
"""

import logging
from dataclasses import asdict

from sqlalchemy import select

from app.core.clock import now_utc
from app.extensions import db
from app.records.checking import read_package
from app.records.models import ArchiveEvent, ArchiveRecord, FixityResult, FixityRun
from archive import fixity

log = logging.getLogger(__name__)


def audit_record(record: ArchiveRecord, run_id: int | None = None) -> FixityResult:
    """Audit one package (flushed)."""
    package = record.package
    try:
        data = read_package(record)
    except OSError as exc:  # the store did not answer: recorded as a failure to read, not as tampering
        log.warning("package of %s could not be read: %s", record.archival_code, exc)
        data = None
    # SHA-256 of the whole package is the audit's measure (it is what the upload was verified by); the
    # SHA-512 manifests inside are checked by the four-property check and whenever a package differs.
    outcome = fixity.audit(data, sha256=package.sha256, size=package.size)
    at = now_utc()
    result = FixityResult(run_id=run_id, record_id=record.id, at=at, ok=outcome.ok, bytes_read=outcome.bytes_read,
                          problems=[asdict(p) for p in outcome.problems])
    db.session.add(result)
    record.audited_at, record.audit_ok = at, outcome.ok
    if not outcome.ok:
        db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="fixity_failed",
                                    detail={"problems": result.problems[:50]}))
    db.session.flush()
    return result


def run_audit(trigger: str, record_ids: list[int] | None = None) -> FixityRun:
    """Audit the given records (all when None), committing after each package."""
    run = FixityRun(trigger=trigger)
    db.session.add(run)
    db.session.commit()
    query = select(ArchiveRecord.id).order_by(ArchiveRecord.id)
    if record_ids is not None:
        query = query.where(ArchiveRecord.id.in_(record_ids))
    for record_id in db.session.scalars(query).all():
        result = audit_record(db.session.get(ArchiveRecord, record_id), run.id)
        run.packages += 1
        run.failures += not result.ok
        run.bytes_read += result.bytes_read
        db.session.commit()
    run.finished_at = now_utc()
    db.session.commit()
    return run


def run_if_due() -> int:
    """The in-process sweeper's schedule (no Celery beat): a full audit once every ARCHIVE_AUDIT_HOURS."""
    from datetime import timedelta

    from flask import current_app

    last = db.session.scalar(select(FixityRun.started_at).where(FixityRun.trigger == "schedule")
                             .order_by(FixityRun.started_at.desc()).limit(1))
    db.session.rollback()
    if last is not None and now_utc() - last < timedelta(hours=current_app.config["ARCHIVE_AUDIT_HOURS"]):
        return 0
    return run_audit("schedule").packages


def latest_problems(record: ArchiveRecord, locale: str = "en") -> list[str]:
    """The problems the record's latest audit found, as sentences."""
    from archive.package import Problem

    result = db.session.scalar(select(FixityResult).where(FixityResult.record_id == record.id)
                               .order_by(FixityResult.id.desc()).limit(1))
    return [Problem(**p).describe(locale) for p in result.problems] if result else []
