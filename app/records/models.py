"""The electronic archive (数字档案室): filed records, their stored packages, checks and audits.

A closed case is filed as one record (一件一卷) with an archival reference code (档号) and one
package in the object store: a BagIt bag holding every material, document and certificate of the
case with its timeline and metadata. Records are only ever added; what happens to them (filing,
checks, downloads, holds) is appended to the record's events.
"""

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.cases.models import Case
from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import User, _enum


class StoredObject(db.Model):
    """One object version in the object store, addressed by its SHA-256 and never rewritten."""

    __tablename__ = "stored_object"
    __table_args__ = (UniqueConstraint("backend", "bucket", "key", "version_id", name="uq_stored_object_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    backend: Mapped[str] = mapped_column(String(8))  # local | s3
    bucket: Mapped[str] = mapped_column(String(63), default="")
    key: Mapped[str] = mapped_column(String(200))
    version_id: Mapped[str] = mapped_column(String(128), default="")  # "" where the store keeps no versions
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sha512: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Object lock, applied after the commit that recorded the object (see records.locking).
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    legal_hold: Mapped[bool] = mapped_column(default=False)


class ArchiveSequence(db.Model):
    """The last item number (件号) given in one series of 档号: fonds, category, year, retention,
    organisation. Taken under a row lock, so numbers run without gaps (see records.coding)."""

    __tablename__ = "archive_sequence"

    fonds: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    retention: Mapped[str] = mapped_column(String(4), primary_key=True)
    org: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ArchiveRecord(db.Model):
    """A filed case: its 档号, where its package is, and what the last checks found."""

    __tablename__ = "archive_record"
    __table_args__ = (Index("ix_archive_record_series", "fonds", "category", "year", "retention", "org_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    archival_code: Mapped[str] = mapped_column(String(64), unique=True)
    fonds: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(4))
    year: Mapped[int] = mapped_column(Integer, index=True)
    retention: Mapped[str] = mapped_column(String(4), index=True)
    org_code: Mapped[str] = mapped_column(String(16))
    item_no: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("stored_object.id"))
    file_count: Mapped[int] = mapped_column(Integer)  # content files, the 归档登记 totals the checks compare
    byte_count: Mapped[int] = mapped_column(BigInteger)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    legal_hold_reason: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_passed: Mapped[bool | None] = mapped_column()
    audited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audit_ok: Mapped[bool | None] = mapped_column()

    case: Mapped[Case] = relationship()
    package: Mapped[StoredObject] = relationship()
    filed_by: Mapped[User | None] = relationship()
    files: Mapped[list["ArchiveFile"]] = relationship(order_by="ArchiveFile.path", back_populates="record")


class ArchiveFile(db.Model):
    """One content file of a record's package, as its metadata describes it."""

    __tablename__ = "archive_file"
    __table_args__ = (UniqueConstraint("record_id", "path", name="uq_archive_file_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"))
    path: Mapped[str] = mapped_column(String(200))  # bag path, data/…
    kind: Mapped[str] = mapped_column(String(16))  # material | document | certificate
    title: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha512: Mapped[str] = mapped_column(String(128))

    record: Mapped[ArchiveRecord] = relationship(back_populates="files")


class ItemState(enum.StrEnum):
    PENDING = "pending"
    FILED = "filed"
    FAILED = "failed"


class FilingBatch(db.Model):
    """Cases an archivist chose to file together, with the batch's progress."""

    __tablename__ = "archive_filing_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list["FilingItem"]] = relationship(order_by="FilingItem.id", back_populates="batch")


class FilingItem(db.Model):
    """One case of a batch; pending items are taken by the filing job (FOR UPDATE SKIP LOCKED)."""

    __tablename__ = "archive_filing_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("archive_filing_batch.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    state: Mapped[ItemState] = mapped_column(_enum(ItemState), default=ItemState.PENDING, index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    record_id: Mapped[int | None] = mapped_column(ForeignKey("archive_record.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch: Mapped[FilingBatch] = relationship(back_populates="items")
    case: Mapped[Case] = relationship()
    record: Mapped[ArchiveRecord | None] = relationship()


class ArchiveReturn(db.Model):
    """A closed case sent back to its office before filing, with the archivist's reason. It stays
    off the intake queue until the office resubmits it."""

    __tablename__ = "archive_return"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship()
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])


class CheckReport(db.Model):
    """A four-property check (四性检测) of one record: at filing (GD) or on demand (BC)."""

    __tablename__ = "archive_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), index=True)
    stage: Mapped[str] = mapped_column(String(4))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    passed: Mapped[bool] = mapped_column()
    report: Mapped[dict] = mapped_column(JSON)  # archive.checks.Report.to_dict()

    by: Mapped[User | None] = relationship()


class FixityRun(db.Model):
    """One fixity audit over stored packages (scheduled, from the command line, or asked for)."""

    __tablename__ = "archive_fixity_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | cli | user
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    packages: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)


class FixityResult(db.Model):
    """What one audit found for one package; every result is kept, good or bad."""

    __tablename__ = "archive_fixity_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("archive_fixity_run.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    ok: Mapped[bool] = mapped_column()
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{"kind", "path", "algorithm", "expected", "actual"}]: the archive.package.Problem fields
    problems: Mapped[list] = mapped_column(JSON, default=list)


class AccessState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class AccessRequest(db.Model):
    """Staff other than archivists read a record's files only through an approved request."""

    __tablename__ = "archive_access_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    state: Mapped[AccessState] = mapped_column(_enum(AccessState), default=AccessState.PENDING, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    record: Mapped[ArchiveRecord] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class ArchiveEvent(db.Model):
    """The record's own trail (PREMIS-style): filed, checked, audited, downloaded, exported, held.
    Rows are only ever added."""

    __tablename__ = "archive_event"
    __table_args__ = (Index("ix_archive_event_record_id_id", "record_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("archive_record.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text, default="")  # why (a download's purpose, a return's reason)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()
