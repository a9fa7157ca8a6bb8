"""Reading the register as it is now, or as it stood at any past moment.

Per item (kind and key), the version that counts is the highest one entered by then; if that
version ends the item, the item is gone. Nothing here writes.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.register.models import Notation, RegisterEntry, Restriction, RestrictionKind, RestrictionState, Right, Unit


# One alias for every query: an alias made per call costs mapper events and statement-cache misses.
_ENTRY = aliased(RegisterEntry)


def current(model, unit_nos: list[str] | None = None, at: datetime | None = None):
    """A select of the current versions of `model` (optionally for some units, as of `at`)."""
    latest = select(model.key, func.max(model.version).label("version"))
    if at is not None:  # the entry's time matters only for the past; now, every entered version counts
        latest = latest.join(_ENTRY, _ENTRY.id == model.entry_id).where(_ENTRY.entered_at <= at)
    if unit_nos is not None:
        latest = latest.where(model.unit_no.in_(unit_nos))
    latest = latest.group_by(model.key).subquery()
    return (select(model).join(latest, and_(model.key == latest.c.key, model.version == latest.c.version))
            .where(model.ended.is_(False)))


def _now_on_unit(model, unit_no: str) -> list:
    """The current versions on one unit, now: a unit has few versions, so all of them are read with a
    plain indexed query and the latest of each item is picked here (cheaper than the grouped join)."""
    latest: dict[str, object] = {}
    for row in db.session.scalars(select(model).where(model.unit_no == unit_no)):
        if row.key not in latest or row.version > latest[row.key].version:
            latest[row.key] = row
    return [row for row in latest.values() if not row.ended]


def units(unit_nos: list[str], at: datetime | None = None) -> dict[str, Unit]:
    return {u.key: u for u in db.session.scalars(current(Unit, unit_nos, at))}


def unit(unit_no: str, at: datetime | None = None) -> Unit | None:
    if at is None:
        return next(iter(_now_on_unit(Unit, unit_no)), None)
    return units([unit_no], at).get(unit_no)


def rights(unit_no: str, at: datetime | None = None) -> list[Right]:
    if at is None:
        return sorted(_now_on_unit(Right, unit_no), key=lambda r: r.key)
    return db.session.scalars(current(Right, [unit_no], at).order_by(Right.key)).all()


def _restriction_order(r: Restriction):
    far = datetime.max.replace(tzinfo=UTC)
    return (r.kind.value, r.rank is None, r.rank or 0, r.received_at is None, r.received_at or far, r.key)


def restrictions(unit_no: str, at: datetime | None = None) -> list[Restriction]:
    if at is None:
        return sorted(_now_on_unit(Restriction, unit_no), key=_restriction_order)
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


def record(unit_no: str, at: datetime | None = None, notations: bool = True) -> UnitRecord | None:
    """The unit's page of the register; `notations=False` leaves out the remarks (the rules need none)."""
    found = unit(unit_no, at)
    if found is None:
        return None
    if not notations:
        return UnitRecord(found, rights(unit_no, at), restrictions(unit_no, at))
    notes = select(Notation).where(Notation.unit_no == unit_no)
    if at is not None:
        notes = notes.join(RegisterEntry).where(RegisterEntry.entered_at <= at)
    return UnitRecord(found, rights(unit_no, at), restrictions(unit_no, at),
                      db.session.scalars(notes.order_by(Notation.id)).all())


def next_version(model, key: str) -> int:
    return (db.session.scalar(select(func.max(model.version)).where(model.key == key)) or 0) + 1
