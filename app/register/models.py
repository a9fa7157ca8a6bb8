"""The real-estate register (不动产登记簿), LADM-shaped: units (BAUnit), parties, rights and
restrictions (RRR), source documents and notations (附记).

Append-only. A register row is never updated or deleted: a change adds the item's next version, an
end (cancellation, release) adds a version marked `ended`. Every version belongs to one entry
(登簿) that records the registrar, the time and the case. What was current on any date is, per
item, the highest version entered by then, unless that version ends the item (`history.py`).
A case's proposed changes wait in `PendingChange` until the registrar enters them, all at once.
"""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db
from app.orgs.models import IdType, User, _enum


class RegistrationType(enum.StrEnum):
    """登记类型 (条例 Art 3), with the national DJLX codes."""

    FIRST = "100"  # 首次登记
    TRANSFER = "200"  # 转移登记
    CHANGE = "300"  # 变更登记
    CANCELLATION = "400"  # 注销登记
    CORRECTION = "500"  # 更正登记
    OBJECTION = "600"  # 异议登记
    ADVANCE_NOTICE = "700"  # 预告登记
    SEIZURE = "800"  # 查封登记
    OTHER = "900"  # 其他登记 (and data carried over from the earlier register)


class RightType(enum.StrEnum):
    """权利类型 (QLLX codes) used here."""

    STATE_LAND_USE = "3"  # 国有建设用地使用权
    STATE_LAND_USE_BUILDING = "4"  # 国有建设用地使用权/房屋（构筑物）所有权
    HOMESTEAD_BUILDING = "6"  # 宅基地使用权/房屋（构筑物）所有权


class Holding(enum.StrEnum):
    SOLE = "sole"  # 单独所有
    JOINT = "joint"  # 共同共有
    SHARES = "shares"  # 按份共有


class RestrictionKind(enum.StrEnum):
    MORTGAGE = "mortgage"  # 抵押权
    SEIZURE = "seizure"  # 查封
    OBJECTION = "objection"  # 异议登记
    ADVANCE_NOTICE = "advance_notice"  # 预告登记


class RestrictionState(enum.StrEnum):
    EFFECTIVE = "effective"
    QUEUED = "queued"  # 轮候查封: takes effect when the seizures before it are released


class RegisterEntry(db.Model):
    """登簿: one atomic entry into the register, by a registrar, for a case."""

    __tablename__ = "register_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    registrar_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    registration_type: Mapped[RegistrationType] = mapped_column(_enum(RegistrationType))
    summary: Mapped[str] = mapped_column(Text, default="")

    registrar: Mapped[User | None] = relationship()


class Versioned:
    """Columns of every versioned register item: its key, the version, the entry that made it, and
    whether this version ends the item."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    ended: Mapped[bool] = mapped_column(default=False)
    unit_no: Mapped[str] = mapped_column(String(28), index=True)

    @declared_attr
    def entry_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("register_entry.id"), index=True)

    @declared_attr
    def entry(cls) -> Mapped[RegisterEntry]:
        return relationship(RegisterEntry)

    @declared_attr.directive
    def __table_args__(cls):
        # Two entries racing to write the same next version: the second fails instead of forking.
        return (UniqueConstraint("key", "version", name=f"uq_{cls.__tablename__}_key_version"),)


class Party(db.Model):
    """A person or organisation as named in the register. Never changed: a new name or ID document is
    a new party row, and the right's next version names it."""

    __tablename__ = "register_party"
    __table_args__ = (UniqueConstraint("id_type", "id_number", "name", name="uq_register_party_identity"),
                      Index("ix_register_party_id_number", "id_number"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_type: Mapped[IdType] = mapped_column(_enum(IdType))
    id_number: Mapped[str] = mapped_column(String(32))


class Unit(Versioned, db.Model):
    """不动产单元 (BAUnit): key = the 28-character unit number."""

    __tablename__ = "register_unit"

    location: Mapped[str] = mapped_column(String(200))  # 坐落
    land_area_m2: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # 宗地面积
    building_area_m2: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # 建筑面积
    land_use: Mapped[str] = mapped_column(String(40))  # 用途
    county_code: Mapped[str] = mapped_column(String(6), index=True)


class Right(Versioned, db.Model):
    """权利: ownership or use of a unit, with its holders. key = the right number."""

    __tablename__ = "register_right"

    right_type: Mapped[RightType] = mapped_column(_enum(RightType))
    holding: Mapped[Holding] = mapped_column(_enum(Holding))
    certificate_no: Mapped[str] = mapped_column(String(64), default="")
    holders: Mapped[list["RightHolder"]] = relationship(order_by="RightHolder.id", lazy="selectin")


class RightHolder(db.Model):
    """A holder of one right version, with the share where the holding is in shares (按份共有)."""

    __tablename__ = "register_right_holder"

    id: Mapped[int] = mapped_column(primary_key=True)
    right_id: Mapped[int] = mapped_column(ForeignKey("register_right.id"), index=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("register_party.id"), index=True)
    share: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))  # a fraction of 1; None unless in shares

    party: Mapped[Party] = relationship(lazy="joined")


class Restriction(Versioned, db.Model):
    """权利限制: a mortgage (with its rank), a seizure (queued ones in order of receipt), an
    objection or an advance notice. key = the restriction number."""

    __tablename__ = "register_restriction"

    kind: Mapped[RestrictionKind] = mapped_column(_enum(RestrictionKind))
    state: Mapped[RestrictionState] = mapped_column(_enum(RestrictionState), default=RestrictionState.EFFECTIVE)
    holder_party_id: Mapped[int | None] = mapped_column(ForeignKey("register_party.id"))  # bank, court, objector
    rank: Mapped[int | None] = mapped_column(Integer)  # mortgage 顺位, 1 first
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # secured claim, yuan
    document_no: Mapped[str] = mapped_column(String(100), default="")  # contract, ruling (裁定书) number
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a seizure's time of receipt
    certificate_no: Mapped[str] = mapped_column(String(64), default="")  # 不动产登记证明

    holder: Mapped[Party | None] = relationship(lazy="joined")


class SourceDocument(db.Model):
    """权属来源 and other documents an entry rests on (a contract, a ruling, a tax certificate)."""

    __tablename__ = "register_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entry.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(100), default="")
    material_id: Mapped[int | None] = mapped_column(ForeignKey("case_material.id"))


class Notation(db.Model):
    """附记: a remark on a unit, added with an entry and never changed."""

    __tablename__ = "register_notation"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("register_entry.id"), index=True)
    unit_no: Mapped[str] = mapped_column(String(28), index=True)
    text: Mapped[str] = mapped_column(Text)


class PendingChange(db.Model):
    """A change a case proposes, waiting for entry. `data` holds the new version's columns."""

    __tablename__ = "register_pending_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    item: Mapped[str] = mapped_column(String(16))  # unit | right | restriction | notation
    key: Mapped[str] = mapped_column(String(32))
    unit_no: Mapped[str] = mapped_column(String(28), index=True)
    ends: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("register_entry.id"))  # set when entered
