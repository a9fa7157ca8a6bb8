"""Org units (city / county / township), users and the roles they hold in units."""

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db


class Tier(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class Role(enum.StrEnum):
    CLERK = "clerk"
    REVIEWER = "reviewer"
    REGISTRAR = "registrar"
    APPROVER = "approver"
    ENFORCEMENT_OFFICER = "enforcement_officer"
    LEGAL_REVIEWER = "legal_reviewer"
    ARCHIVIST = "archivist"
    # Sees all work in the unit's jurisdiction and reassigns tasks of lower tiers.
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class UserKind(enum.StrEnum):
    STAFF = "staff"
    APPLICANT = "applicant"


class IdType(enum.StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证号码 (GB 11643)
    USCC = "uscc"  # 统一社会信用代码 (GB 32100)


def _enum(cls):
    return Enum(cls, native_enum=False, length=24, values_callable=lambda e: [m.value for m in e],
                validate_strings=True)


class OrgUnit(db.Model):
    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    tier: Mapped[Tier] = mapped_column(_enum(Tier))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # 统一社会信用代码 of the office: part of the e-certificate identifiers it issues.
    uscc: Mapped[str | None] = mapped_column(String(18))

    parent: Mapped["OrgUnit | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["OrgUnit"]] = relationship(back_populates="parent", order_by="OrgUnit.code")

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[UserKind] = mapped_column(_enum(UserKind))
    id_type: Mapped[IdType | None] = mapped_column(_enum(IdType))
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    roles: Mapped[list["RoleAssignment"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.kind == UserKind.STAFF

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class RoleAssignment(db.Model):
    __tablename__ = "role_assignment"
    __table_args__ = (UniqueConstraint("user_id", "org_unit_id", "role", name="uq_role_assignment_user_unit_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))

    user: Mapped[User] = relationship(back_populates="roles")
    org_unit: Mapped[OrgUnit] = relationship()
