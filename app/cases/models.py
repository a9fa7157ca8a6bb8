"""The service catalogue, cases and the case timeline (the immutable record of what happened)."""

import enum
from datetime import datetime

from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import IdType, OrgUnit, Tier, User, _enum


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
    CONFIRMED = "confirmed"  # a party to a joint application confirmed it online
    CORRECTION_REQUESTED = "correction_requested"
    CORRECTION_FIXED = "correction_fixed"
    VISIT = "visit"
    OUTBOX = "outbox"  # a message to another agency was queued, delivered or gave up
    DOCUMENT = "document"  # a notice or certificate was produced for the case
    ARCHIVE = "archive"  # filed in the archive, or sent back to the office before filing


class Channel(enum.StrEnum):
    """How an applicant did a step: at a counter (a physical visit), online, or by post."""

    WINDOW = "window"
    ONLINE = "online"
    POST = "post"


class VisitPurpose(enum.StrEnum):
    SUBMISSION = "submission"  # handing in the application
    IDENTITY_CHECK = "identity_check"
    SIGNING = "signing"
    CORRECTION = "correction"  # bringing a missing material
    PAYMENT = "payment"
    PICKUP = "pickup"  # collecting the certificate


class PartyRole(enum.StrEnum):
    HOLDER = "holder"  # 权利人: who gains the right (buyer, lending bank, the holder whose name changed)
    OBLIGOR = "obligor"  # 义务人: who gives it (seller, mortgagor)


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
    # The applicant's form (forms/registry.APPLICATION_FORMS); empty for services applied for elsewhere.
    form_key: Mapped[str] = mapped_column(String(32), default="", server_default="")
    joint: Mapped[bool] = mapped_column(default=False, server_default="0")  # every party must confirm online
    fee_yuan: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0, server_default="0")
    fee_note: Mapped[str] = mapped_column(String(200), default="", server_default="")
    fee_note_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    guide: Mapped[str] = mapped_column(Text, default="", server_default="")  # conditions, in plain words
    guide_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The materials an application carries, in display order: [{"code", "name", "name_en", "required",
    # "alternatives": [documents any one of which will do]}].
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
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.ONLINE, server_default="online")
    unit_no: Mapped[str] = mapped_column(String(28), default="", server_default="", index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 受理
    # While the case waits on the applicant (a correction), its clock stops: the start of the wait,
    # and the working days paused so far (the deadline has already moved by them).
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

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


class CaseParty(db.Model):
    """A party to an application. In a joint application every party other than the one who
    submitted confirms online, logged in with the ID number given here, before a clerk sees the case."""

    __tablename__ = "case_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    role: Mapped[PartyRole] = mapped_column(_enum(PartyRole))
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[IdType] = mapped_column(_enum(IdType))
    id_number: Mapped[str] = mapped_column(String(18), index=True)
    share: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Correction(db.Model):
    """A request to correct an application (补正). The first lists every missing item at once
    (一次性告知); a later request for an item that list did not name is marked `second`."""

    __tablename__ = "case_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    items: Mapped[list] = mapped_column(JSON, default=list)  # material codes
    note: Mapped[str] = mapped_column(Text, default="")
    second: Mapped[bool] = mapped_column(default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User | None] = relationship()


class Visit(db.Model):
    """One step an applicant did in person or otherwise. Only `window` is a trip to a counter."""

    __tablename__ = "case_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    purpose: Mapped[VisitPurpose] = mapped_column(_enum(VisitPurpose))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    org_unit: Mapped[OrgUnit | None] = relationship()


class Draft(db.Model):
    """An application being prepared by an applicant: form fields and the materials already uploaded."""

    __tablename__ = "application_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("service.code"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # {material code: {"filename", "content_type", "size", "sha256", "object_key"}}
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    service: Mapped[Service] = relationship()


class CaseDocument(db.Model):
    """A document the bureau produced for a case (a notice as a Word file), kept in the object store."""

    __tablename__ = "case_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # documents.notices kind
    title: Mapped[str] = mapped_column(String(200))
    doc_no: Mapped[str] = mapped_column(String(64), default="")  # 文号
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
