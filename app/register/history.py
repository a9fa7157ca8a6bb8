"""Reading the register as it is now, or as it stood at any past moment.

Per item (kind and key), the version that counts is the highest one entered by then; if that
version ends the item, the item is gone. Nothing here writes.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.register.models import Notation, RegisterEntry, Restriction, RestrictionKind, RestrictionState, Right, Unit


def current(model, unit_nos: list[str] | None = None, at: datetime | None = None):
    """A select of the current versions of `model` (optionally for some units, as of `at`)."""
    entry = aliased(RegisterEntry)
    latest = select(model.key, func.max(model.version).label("version")).join(entry, entry.id == model.entry_id)
    if at is not None:
        latest = latest.where(entry.entered_at <= at)
    if unit_nos is not None:
        latest = latest.where(model.unit_no.in_(unit_nos))
    latest = latest.group_by(model.key).subquery()
    return (select(model).join(latest, and_(model.key == latest.c.key, model.version == latest.c.version))
            .where(model.ended.is_(False)))


def units(unit_nos: list[str], at: datetime | None = None) -> dict[str, Unit]:
    return {u.key: u for u in db.session.scalars(current(Unit, unit_nos, at))}


def unit(unit_no: str, at: datetime | None = None) -> Unit | None:
    return units([unit_no], at).get(unit_no)


def rights(unit_no: str, at: datetime | None = None) -> list[Right]:
    return db.session.scalars(current(Right, [unit_no], at).order_by(Right.key)).all()


def restrictions(unit_no: str, at: datetime | None = None) -> list[Restriction]:
    return db.session.scalars(current(Restriction, [unit_no], at).order_by(Restriction.kind, Restriction.rank,
                                                                             Restriction.received_at,
                                                                             Restriction.key)).all()


@dataclass
class UnitRecord:
    """A unit's page of the register at one moment."""

    unit: Unit
    rights: list[Right]
    restrictions: list[Restriction]
    notations: list[Notation] = field(default_factory=list)

    def of_kind(self, kind: RestrictionKind, state: RestrictionState | None = RestrictionState.EFFECTIVE):
        return [r for r in self.restrictions if r.kind == kind and (state is None or r.state == state)]

    @property
    def seized(self) -> bool:
        return bool(self.of_kind(RestrictionKind.SEIZURE))

    @property
    def mortgages(self) -> list[Restriction]:
        return sorted(self.of_kind(RestrictionKind.MORTGAGE), key=lambda r: r.rank or 0)


def record(unit_no: str, at: datetime | None = None) -> UnitRecord | None:
    found = unit(unit_no, at)
    if found is None:
        return None
    notes = select(Notation).join(RegisterEntry).where(Notation.unit_no == unit_no)
    if at is not None:
        notes = notes.where(RegisterEntry.entered_at <= at)
    return UnitRecord(found, rights(unit_no, at), restrictions(unit_no, at),
                      db.session.scalars(notes.order_by(Notation.id)).all())


def next_version(model, key: str) -> int:
    return (db.session.scalar(select(func.max(model.version)).where(model.key == key)) or 0) + 1
