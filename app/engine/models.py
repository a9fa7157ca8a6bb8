"""Engine tables: deployed definitions, instance state, and the rows derived from it on every save."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import OrgUnit, Role, Tier, User, _enum


class InstanceStatus(enum.StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ProcessDefinition(db.Model):
    """One deployed version of a process: the parsed spec, stored once per content hash."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("process_id", "sha256", name="uq_process_definition_process_id_sha256"),
        UniqueConstraint("process_id", "version", name="uq_process_definition_process_id_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(String(255))
    # Large and read rarely (once per worker for the spec, on diagram pages for the XML): deferred.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)  # the file as deployed, drawn by bpmn-js
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # spec and subprocess specs, no instance state
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ProcessInstance(db.Model):
    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    status: Mapped[InstanceStatus] = mapped_column(_enum(InstanceStatus), default=InstanceStatus.RUNNING)
    state: Mapped[str] = mapped_column(Text)  # serialized workflow without the spec
    serializer_version: Mapped[str] = mapped_column(String(16))
    # Bumped by every save, which writes only if the row still has the version it loaded: a save
    # that somehow raced another writer fails instead of overwriting it (runtime.save).
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    definition: Mapped[ProcessDefinition] = relationship()


class HumanTask(db.Model):
    """A READY manual task, derived from the instance on every save. Queues query only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        # Unclaimed work of one office and role, in deadline order: the clerk's main queue.
        Index("ix_human_task_unclaimed_due", "candidate_org_id", "candidate_role", "due_at", "id",
              postgresql_where=text("assignee_id IS NULL"), sqlite_where=text("assignee_id IS NULL")),
        Index("ix_human_task_assignee_due", "assignee_id", "due_at", "id"),
        Index("ix_human_task_due", "due_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(64), default="")
    form_key: Mapped[str] = mapped_column(String(64), default="")
    service_code: Mapped[str] = mapped_column(String(32), index=True)
    tier: Mapped[Tier] = mapped_column(_enum(Tier))
    candidate_org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    candidate_role: Mapped[Role] = mapped_column(_enum(Role))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_estimated: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(Integer, default=50)

    candidate_org: Mapped[OrgUnit] = relationship()
    assignee: Mapped[User | None] = relationship()


class InstanceTimer(db.Model):
    """A timer event an instance waits on; the sweeper fires it when `fire_at` has passed."""

    __tablename__ = "instance_timer"
    __table_args__ = (UniqueConstraint("instance_id", "task_guid", name="uq_instance_timer_instance_id_task_guid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MessageSubscription(db.Model):
    """A message catch event an instance waits on, with the correlation values it expects."""

    __tablename__ = "message_subscription"
    __table_args__ = (Index("ix_message_subscription_lookup", "message_name", "correlation_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(64))
    correlation_key: Mapped[str] = mapped_column(String(255))


class ReceivedMessage(db.Model):
    """Every delivered message id, so that a redelivery is recognised and ignored."""

    __tablename__ = "received_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    message_name: Mapped[str] = mapped_column(String(64))
    correlation_key: Mapped[str] = mapped_column(String(255))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    sender: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
