"""Filing closed cases (归档): the intake queue, batches filed in the background, sending cases back.

Filing one case takes the next 档号 of its series, builds its package, writes it to the object
store (content-addressed, read back), records the object, the record and its files, and runs the
four-property check of the filing stage. A package that fails the check is not filed: the
transaction rolls back, the item number is returned, and the upload is left for the orphan sweep.
Object lock is applied after the commit (see `locking`), so a rollback never leaves a locked orphan.

Batches run like certificate rendering: a thread of the web process by default, a Celery task in
production (`ARCHIVE_FILING=celery`), or only when called (tests).
"""

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from app.cases.materials import object_store
from app.cases.models import Case, EventKind
from app.core.background import BackgroundJob, count_progress
from app.core.clock import now_utc
from app.engine.runtime import event as timeline_event
from app.engine.runtime import record_change
from app.extensions import db
from app.orgs.models import User
from app.records import checking, coding, packaging
from app.records.models import (
    ArchiveEvent,
    ArchiveFile,
    ArchiveRecord,
    ArchiveReturn,
    FilingBatch,
    FilingItem,
    ItemState,
    StoredObject,
)
from archive.package import build_package

log = logging.getLogger(__name__)
TAR = "application/x-tar"


class FilingError(Exception):
    """Filing refused; the message says why (shown to the archivist, kept on the batch item)."""


def intake_query(scope: set[int]):
    """Closed cases in SCOPE not yet filed, not sent back, and not waiting in a batch: oldest first."""
    open_return = exists().where(ArchiveReturn.case_id == Case.id, ArchiveReturn.resolved_at.is_(None))
    filed = exists().where(ArchiveRecord.case_id == Case.id)
    queued = exists().where(FilingItem.case_id == Case.id, FilingItem.state == ItemState.PENDING)
    return (select(Case).where(Case.closed_at.is_not(None), Case.jurisdiction_id.in_(scope),
                               ~filed, ~open_return, ~queued)
            .order_by(Case.closed_at, Case.id))


def _refusal(case: Case) -> str | None:
    if case.closed_at is None:
        return _l("The case is not closed yet and cannot be filed.")
    if db.session.scalar(select(ArchiveRecord.archival_code).where(ArchiveRecord.case_id == case.id)):
        return _l("The case is already filed.")
    if db.session.scalar(select(ArchiveReturn.id).where(ArchiveReturn.case_id == case.id,
                                                        ArchiveReturn.resolved_at.is_(None))):
        return _l("The case was sent back to its office and waits for it to resubmit.")
    return None


def file_case(case: Case, actor: User | None) -> ArchiveRecord:
    """File CASE: everything above, flushed. Raises FilingError (or packaging.NotReady) without writing."""
    refusal = _refusal(case)
    if refusal:
        raise FilingError(refusal)
    filed_at = now_utc()
    code = coding.next_code(case)
    contents = packaging.contents(case, code, filed_at, actor)
    package = build_package(contents.files, contents.metadata, contents.bag_info, filed_at.date())
    store = object_store()
    stored = store.put_content(package.data, prefix="archive", content_type=TAR)
    obj = StoredObject(backend=stored.backend, bucket=stored.bucket, key=stored.key,
                       version_id=stored.version_id or "", size=stored.size, sha256=stored.sha256,
                       sha512=stored.sha512, content_type=TAR)
    db.session.add(obj)
    db.session.flush()
    record = ArchiveRecord(archival_code=str(code), fonds=code.fonds, category=code.category, year=code.year,
                           retention=code.retention, org_code=code.org, item_no=code.item, title=case.title[:300],
                           case_id=case.id, package_id=obj.id, file_count=len(package.files),
                           byte_count=sum(f.size for f in package.files), filed_at=filed_at,
                           filed_by_id=actor.id if actor else None)
    db.session.add(record)
    db.session.flush()
    for f in package.files:
        db.session.add(ArchiveFile(record_id=record.id, path=f.path, kind=f.kind, title=f.title[:200],
                                   original_name=f.original_name[:200], media_type=f.media_type, size=f.size,
                                   sha256=f.sha256, sha512=f.sha512))
    db.session.add(ArchiveEvent(
        record_id=record.id, case_id=case.id, kind="filed", actor_id=actor.id if actor else None,
        detail={"archival_code": str(code), "key": stored.key, "version_id": stored.version_id,
                "sha256": stored.sha256, "size": stored.size, "files": len(package.files)}))
    db.session.flush()
    expected = {f.path: f.sha256 for f in package.files}
    report = checking.run(record, package.data, actor, stage="GD", expected_files=expected, read_back_verified=True)
    if not report.passed:
        reasons = "；".join(f"{item.code} {item.name}：{item.reason}" for item in report.failures())
        raise FilingError(_l("The four-property check failed; the case was not filed: %(reasons)s", reasons=reasons))
    record_change(case, actor.id if actor else None,
                  [timeline_event(case, EventKind.ARCHIVE, actor.id if actor else None,
                                  detail={"action": "filed", "archival_code": str(code)})],
                  "case.archive", {"archival_code": str(code), "package_sha256": stored.sha256})
    return record


def send_back(case: Case, actor: User, reason: str) -> ArchiveReturn:
    """Return CASE to its office before filing, with the archivist's REASON (flushed)."""
    refusal = _refusal(case)
    if refusal:
        raise FilingError(refusal)
    returned = ArchiveReturn(case_id=case.id, reason=reason, returned_by_id=actor.id)
    db.session.add(returned)
    db.session.add(ArchiveEvent(case_id=case.id, kind="returned", actor_id=actor.id, reason=reason))
    record_change(case, actor.id, [timeline_event(case, EventKind.ARCHIVE, actor.id, detail={"action": "returned"},
                                                  note=reason)],
                  "case.archive_return", {"reason": reason})
    db.session.flush()
    return returned


def resubmit(returned: ArchiveReturn, actor: User, note: str) -> None:
    """The office has dealt with a return: the case goes back on the intake queue (flushed)."""
    if returned.resolved_at is not None:
        raise FilingError(_l("This return has already been dealt with."))
    returned.resolved_at, returned.resolved_by_id, returned.resolution = now_utc(), actor.id, note
    db.session.add(ArchiveEvent(case_id=returned.case_id, kind="resubmitted", actor_id=actor.id, reason=note))
    record_change(returned.case, actor.id,
                  [timeline_event(returned.case, EventKind.ARCHIVE, actor.id, detail={"action": "resubmitted"},
                                  note=note)],
                  "case.archive_resubmit", {"note": note})
    db.session.flush()


def open_returns(scope: set[int]):
    return (select(ArchiveReturn).join(Case, Case.id == ArchiveReturn.case_id)
            .where(ArchiveReturn.resolved_at.is_(None), Case.jurisdiction_id.in_(scope))
            .order_by(ArchiveReturn.returned_at))


# Batches ---------------------------------------------------------------------------------------

def start_batch(cases: list[Case], actor: User) -> FilingBatch:
    """Queue CASES for filing (flushed); the job is woken after the commit."""
    batch = FilingBatch(created_by_id=actor.id, total=len(cases))
    db.session.add(batch)
    db.session.flush()
    for case in cases:
        db.session.add(FilingItem(batch_id=batch.id, case_id=case.id))
    db.session.flush()
    job.queue()
    return batch


def file_pending(limit: int | None = None) -> int:
    """File pending batch items one transaction each; returns how many were filed."""
    from app.records import locking

    filed = 0
    handled = 0
    while limit is None or handled < limit:
        item = db.session.scalar(select(FilingItem).where(FilingItem.state == ItemState.PENDING)
                                 .order_by(FilingItem.id).limit(1).with_for_update(skip_locked=True))
        if item is None:
            db.session.rollback()
            break
        handled += 1
        actor = db.session.get(User, item.batch.created_by_id) if item.batch.created_by_id else None
        try:
            record = file_case(item.case, actor)
            item.state, item.record_id, item.finished_at = ItemState.FILED, record.id, now_utc()
            ok = True
        except (FilingError, packaging.NotReady) as exc:
            ok = _fail(item.id, str(exc))
        except Exception as exc:  # the store is down, a file is damaged: recorded, and the batch goes on
            log.exception("filing case %s failed", item.case_id)
            ok = _fail(item.id, f"{type(exc).__name__}: {exc}")
        count_progress(FilingBatch, item.batch_id, ok)
        db.session.commit()
        filed += ok
        if ok:
            locking.apply_pending()
    return filed


def run_jobs() -> int:
    """What the filing thread or Celery task does when woken: file what is queued, then apply object
    locks and legal holds the database asks for but the store does not have yet."""
    from app.records import locking

    filed = file_pending()
    locking.apply_pending()
    return filed


def _fail(item_id: int, reason: str) -> bool:
    db.session.rollback()
    item = db.session.get(FilingItem, item_id, with_for_update=True)
    item.state, item.error, item.finished_at = ItemState.FAILED, reason[:4000], now_utc()
    return False


def batch_state(batch: FilingBatch) -> dict:
    return {"id": batch.id, "total": batch.total, "done": batch.done, "failed": batch.failed,
            "finished": batch.finished_at is not None,
            "items": [{"case_no": i.case.case_no, "state": i.state.value, "error": i.error,
                       "archival_code": i.record.archival_code if i.record else None,
                       "record_id": i.record_id} for i in batch.items]}


def filed_for(case_ids: list[int]) -> dict[int, str]:
    """档号 of the given cases that are filed."""
    if not case_ids:
        return {}
    return dict(db.session.execute(select(ArchiveRecord.case_id, ArchiveRecord.archival_code)
                                   .where(ArchiveRecord.case_id.in_(case_ids))).all())


# Woken after the commit that queued a batch or a hold (app.core.background).
job = BackgroundJob("archive-filer", "ARCHIVE_FILING", "smartland.file_archive", run_jobs)
stop_thread, kick, init_app = job.stop_thread, job.kick, job.init_app
