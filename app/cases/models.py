"""The service catalogue, cases and the case timeline (the immutable record of what happened)."""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import OrgUnit, Tier, User, _enum


class Family(enum.StrEnum):
    REGISTRATION = "registration"
    ENFORCEMENT = "enforcement"
    MARKET = "market"
    COMMON = "common"


class CaseStatus(enum.StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class EventKind(enum.StrEnum):
    SUBMITTED = "submitted"
    TASK_COMPLETED = "task_completed"
    SENT_BACK = "sent_back"
    CLAIMED = "claimed"
    UNCLAIMED = "unclaimed"
    REASSIGNED = "reassigned"
    TIMER_FIRED = "timer_fired"
    MESSAGE_RECEIVED = "message_received"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    MATERIAL_ADDED = "material_added"


class Service(db.Model):
    """A catalogue entry: which process runs it, its time limits and which tier accepts it."""

    __tablename__ = "service"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    family: Mapped[Family] = mapped_column(_enum(Family))
    process_id: Mapped[str] = mapped_column(String(64))
    statutory_days: Mapped[int]  # working days allowed by law
    committed_days: Mapped[int]  # working days the bureau promises (承诺时限)
    accepting_tier: Mapped[Tier] = mapped_column(_enum(Tier))
    active: Mapped[bool] = mapped_column(default=True)
    # The materials an application carries: [{"code", "name", "name_en", "required"}], in display order.
    materials: Mapped[list] = mapped_column(JSON, default=list)

    def material(self, code: str) -> dict | None:
        return next((m for m in self.materials if m["code"] == code), None)


class Case(db.Model):
    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.RUNNING, index=True)
    # The applicant's personal data as submitted; shown only to those who may see the case, and logged.
    applicant_data: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_estimated: Mapped[bool] = mapped_column(default=False)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(64), default="")
    # The one-time key of the form that submitted it: a second post of that form (a double click, a
    # retried request) finds this case instead of making another.
    submission_key: Mapped[str | None] = mapped_column(String(36), unique=True)

    service: Mapped[Service] = relationship()
    jurisdiction: Mapped[OrgUnit] = relationship()
    applicant: Mapped[User | None] = relationship()
    events: Mapped[list["CaseEvent"]] = relationship(back_populates="case", order_by="[CaseEvent.at, CaseEvent.id]")

    def __repr__(self) -> str:
        return f"<Case {self.case_no}>"


class CaseEvent(db.Model):
    """One line of the case timeline. Rows are only ever added."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_id_id", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    task_bpmn_id: Mapped[str] = mapped_column(String(64), default="")
    task_name: Mapped[str] = mapped_column(String(200), default="")
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    org_unit: Mapped[OrgUnit | None] = relationship()


class Material(db.Model):
    """A file submitted with a case, kept in the object store under its SHA-256. Never edited: a
    corrected file is a new row, and the one it replaces points to it."""

    __tablename__ = "case_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # which of the service's materials this is
    filename: Mapped[str] = mapped_column(String(120))  # as the applicant named it, made safe
    content_type: Mapped[str] = mapped_column(String(64))  # as detected from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("case_material.id"))

    uploaded_by: Mapped[User | None] = relationship()
