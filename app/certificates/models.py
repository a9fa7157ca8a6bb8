"""The certificate register: every title certificate (不动产权证书) and registration proof
(不动产登记证明) issued, its number and e-certificate identifier, its PDF files and its status.

A certificate is issued after an entry in the register (登簿) and stays tied to that case and entry.
Its status only moves forward, from issued to superseded (the right was transferred or changed),
cancelled (the mortgage was cancelled) or replaced (exchanged 换发 or re-issued 补发), and the case and
entry that moved it are recorded. Every PDF ever produced for it is kept with its SHA-256, so a copy
downloaded before a re-signing still verifies as ours.
"""

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import OrgUnit, User, _enum


class CertificateKind(enum.StrEnum):
    TITLE = "title"  # 不动产权证书: ownership and use rights
    PROOF = "proof"  # 不动产登记证明: mortgages, easements, advance notices, objections


class CertificateStatus(enum.StrEnum):
    ISSUED = "issued"  # 现势
    SUPERSEDED = "superseded"  # the right moved on (transfer, change)
    CANCELLED = "cancelled"  # the right or restriction ended (注销)
    REPLACED = "replaced"  # exchanged (换发) or re-issued (补发) under a new number


class RenderState(enum.StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class CertificateSequence(db.Model):
    """The last number given, per issuing office, year and kind. Taking a number updates this row,
    which holds it locked until the transaction ends: numbers are given in order, and a rolled-back
    issue gives its number back, so there are no gaps."""

    __tablename__ = "certificate_sequence"

    issuer_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[CertificateKind] = mapped_column(_enum(CertificateKind), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class RenderJob(db.Model):
    """A batch of certificates rendered in the background, with its progress."""

    __tablename__ = "certificate_render_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()


class Certificate(db.Model):
    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("issuer_id", "year", "kind", "sequence", name="uq_certificate_issuer_year_kind_sequence"),
        Index("ix_certificate_render_state", "render_state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CertificateKind] = mapped_column(_enum(CertificateKind))
    number: Mapped[str] = mapped_column(String(64), unique=True)  # 吉(2026)长春市不动产权第0000001号
    issuer_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    ecert_id: Mapped[str] = mapped_column(String(96), unique=True)  # 1.2.156.3005.2.…
    # The verification page's address: random, so certificates cannot be enumerated.
    token: Mapped[str] = mapped_column(String(48), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id"))
    unit_no: Mapped[str] = mapped_column(String(28), index=True)
    item_key: Mapped[str] = mapped_column(String(32), index=True)  # the right or restriction certified
    # What the certificate shows, fixed at issue: {"issuer", "issued_on", "rows": [[label, value]], "notes"}.
    face: Mapped[dict] = mapped_column(JSON, default=dict)
    holders: Mapped[list] = mapped_column(JSON, default=list)  # [{"name", "id_number"}]: who may download it
    holder_names: Mapped[str] = mapped_column(String(400), default="")  # for searching the register
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    status: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus), default=CertificateStatus.ISSUED,
                                                      index=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    status_entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id"))
    status_note: Mapped[str] = mapped_column(Text, default="")
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))

    render_state: Mapped[RenderState] = mapped_column(_enum(RenderState), default=RenderState.PENDING)
    render_error: Mapped[str] = mapped_column(Text, default="")
    render_job_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_render_job.id"), index=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_file.id", use_alter=True))

    issuer: Mapped[OrgUnit] = relationship()
    file: Mapped["CertificateFile | None"] = relationship(foreign_keys=[file_id])


class CertificateFile(db.Model):
    """One signed PDF of a certificate, in the object store. Never changed or deleted."""

    __tablename__ = "certificate_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    signer: Mapped[str] = mapped_column(String(400), default="")  # the signing certificate's subject
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class VerificationCheck(db.Model):
    """One look at the public verification page, by its link or by an uploaded PDF."""

    __tablename__ = "certificate_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # link | upload
    outcome: Mapped[str] = mapped_column(String(32))  # the status shown, or what was wrong with the upload
    sha256: Mapped[str] = mapped_column(String(64), default="")  # of an uploaded file
    ip: Mapped[str] = mapped_column(String(64), default="")
