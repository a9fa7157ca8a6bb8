"""The orphan sweep: objects under the archive prefix that no StoredObject row refers to.

They come from a filing whose transaction rolled back after its upload (a failed check, a lost
database connection). They are removed once older than ARCHIVE_ORPHAN_GRACE_HOURS, so an upload
whose commit is still on its way is never taken.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.cases.materials import object_store
from app.extensions import db
from app.records.models import StoredObject
from archive import storage

PREFIX = "archive/"


@dataclass(frozen=True)
class SweepResult:
    removed: list[str]
    kept_locked: list[str]
    referenced: int


def sweep(grace: timedelta | None = None) -> SweepResult:
    store = object_store()
    grace = timedelta(hours=current_app.config["ARCHIVE_ORPHAN_GRACE_HOURS"]) if grace is None else grace
    known = set(db.session.execute(select(StoredObject.key, StoredObject.version_id).where(
        StoredObject.backend == store.backend, StoredObject.bucket == store.bucket)).all())
    # Compared with the store's own timestamps, so with the wall clock, not the application's clock
    # (which tests and replays may move).
    cutoff = datetime.now(UTC) - grace
    removed, locked, referenced = [], [], 0
    for listed in store.list_objects(PREFIX):
        version = listed.version_id or ""
        # A row without a version (a store that keeps none) refers to the key itself, whatever its versions.
        if (listed.key, version) in known or (listed.key, "") in known:
            referenced += 1
            continue
        if listed.modified > cutoff:
            continue
        try:
            store.delete(listed.key, listed.version_id)
            removed.append(f"{listed.key}@{version}" if version else listed.key)
        except storage.ObjectLocked:
            locked.append(listed.key)
    return SweepResult(removed, locked, referenced)
