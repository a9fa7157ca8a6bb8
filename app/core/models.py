"""Models of app/core: the hash-chained audit log and the admin-entered holiday schedules."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db


class AuditEntry(db.Model):
    """One append-only audit record; `entry_hash` covers its content and the previous entry's hash."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(db.Model):
    """The chain's newest hash and length, in one row. Appending locks this row first (an UPDATE,
    which under READ COMMITTED returns the latest committed values even after waiting), so appends
    are serialised; and `verify` compares it with the last entry, so cutting off the newest entries
    is found too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    entries: Mapped[int] = mapped_column(Integer, default=0)
    entry_hash: Mapped[str] = mapped_column(String(64))


class HolidaySchedule(db.Model):
    """A year's published holiday and make-up-workday schedule, entered by an admin (国务院办公厅通知)."""

    __tablename__ = "holiday_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list] = mapped_column(JSON)  # ISO dates
    workdays: Mapped[list] = mapped_column(JSON)  # ISO dates
    source: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class OutboxMessage(db.Model):
    """A message to another agency, written in the transaction that decided to send it and
    delivered after commit by `app.core.outbox`. `message_id` travels with every attempt, so the
    receiver can drop repeats; `state` is what clerks see."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    destination: Mapped[str] = mapped_column(String(32))  # a key of OUTBOX_DESTINATIONS in the config
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
