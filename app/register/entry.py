"""Writing the register: a case proposes changes, the registrar enters them at once (登簿).

Entry is one transaction: the units involved are locked, every proposed change becomes the next
version of its item under one `RegisterEntry`, and the proposals are marked entered. Seizures from
a court take effect on receipt, so they are entered directly (`enter_now`), queued behind an
effective seizure when there is one; releasing a seizure lets the earliest queued one take effect.
"""

import hashlib
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from app.core.clock import now_utc
from app.engine.errors import Conflict
from app.extensions import db
from app.orgs.models import IdType
from app.register import history
from app.register.models import (
    Notation,
    Party,
    PendingChange,
    RegisterEntry,
    RegistrationType,
    Restriction,
    RestrictionKind,
    RestrictionState,
    Right,
    RightHolder,
    Unit,
)

ITEMS = {"unit": Unit, "right": Right, "restriction": Restriction}
# Columns every version carries; the rest of a version's columns come from `data`.
_VERSION_COLUMNS = {"id", "key", "version", "ended", "unit_no", "entry_id"}


def party(name: str, id_type: IdType, id_number: str) -> Party:
    """The party with exactly this name and document, created on first use (parties never change)."""
    found = db.session.scalar(select(Party).where(Party.id_type == id_type, Party.id_number == id_number,
                                                  Party.name == name))
    if found is None:
        found = Party(name=name, id_type=id_type, id_number=id_number)
        db.session.add(found)
        db.session.flush()
    return found


def lock_units(unit_nos) -> None:
    """Serialise entries on the same units until commit (SQLite serialises all writers anyway)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for unit_no in sorted(set(unit_nos)):  # one order for everyone: no deadlocks between entries
        key = int.from_bytes(hashlib.sha256(unit_no.encode()).digest()[:8], "big", signed=True)
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def propose(case, item: str, key: str, unit_no: str, data: dict | None = None, ends: bool = False) -> PendingChange:
    if item not in (*ITEMS, "notation"):
        raise ValueError(f"unknown register item {item!r}")
    change = PendingChange(case_id=case.id, item=item, key=key, unit_no=unit_no, data=data or {}, ends=ends)
    db.session.add(change)
    db.session.flush()
    return change


def pending(case) -> list[PendingChange]:
    return db.session.scalars(select(PendingChange).where(PendingChange.case_id == case.id,
                                                          PendingChange.entry_id.is_(None))
                              .order_by(PendingChange.id)).all()


def enter(case, registrar, registration_type: RegistrationType, summary: str = "") -> RegisterEntry:
    """登簿: make every pending change of the case current, at one moment, under one entry."""
    changes = pending(case)
    if not changes:
        raise Conflict(_l("This case has nothing waiting to be entered in the register."))
    lock_units(c.unit_no for c in changes)
    entry = _new_entry(case.id, registrar.id if registrar else None, registration_type, summary)
    for change in changes:
        if change.item == "notation":
            db.session.add(Notation(entry_id=entry.id, unit_no=change.unit_no, text=change.data["text"]))
        else:
            write(entry, change.item, change.key, change.unit_no, _decoded(change.data), ends=change.ends)
        change.entry_id = entry.id
    db.session.flush()
    return entry


def enter_now(case_id: int | None, registrar_id: int | None, registration_type: RegistrationType,
              summary: str = "", at: datetime | None = None) -> RegisterEntry:
    """An entry written directly, for changes that take effect on receipt (seizures) or demo data."""
    return _new_entry(case_id, registrar_id, registration_type, summary, at)


def _new_entry(case_id, registrar_id, registration_type, summary, at=None) -> RegisterEntry:
    entry = RegisterEntry(case_id=case_id, registrar_id=registrar_id, registration_type=registration_type,
                          summary=summary, entered_at=at or now_utc())
    db.session.add(entry)
    db.session.flush()
    return entry


def write(entry: RegisterEntry, item: str, key: str, unit_no: str, data: dict, ends: bool = False):
    """The next version of one item. An ending version repeats the last one's content."""
    model = ITEMS[item]
    holders = data.pop("holders", None)
    if ends:
        last = db.session.scalar(select(model).where(model.key == key).order_by(model.version.desc()).limit(1))
        if last is None or last.ended:
            raise Conflict(_l("%(key)s is not in the register, or has already ended.", key=key))
        data = {c.key: getattr(last, c.key) for c in model.__table__.columns if c.key not in _VERSION_COLUMNS}
        holders = [{"party_id": h.party_id, "share": h.share} for h in last.holders] if item == "right" else None
    row = model(key=key, version=history.next_version(model, key), unit_no=unit_no, entry_id=entry.id, ended=ends,
                **data)
    db.session.add(row)
    db.session.flush()
    for holder in holders or []:
        db.session.add(RightHolder(right_id=row.id, party_id=holder["party_id"], share=holder.get("share")))
    return row


def _decoded(data: dict) -> dict:
    """Proposed data as stored in JSON, with amounts, shares and times typed again."""
    out = dict(data)
    for name in ("land_area_m2", "building_area_m2", "amount"):
        if out.get(name) is not None:
            out[name] = Decimal(str(out[name]))
    if out.get("received_at"):
        out["received_at"] = datetime.fromisoformat(out["received_at"])
    if "holders" in out:
        out["holders"] = [{**h, "share": Decimal(str(h["share"])) if h.get("share") is not None else None}
                          for h in out["holders"]]
    return out


# --------------------------------------------------------------------------- seizures (查封)

def lodge_seizure(entry: RegisterEntry, key: str, unit_no: str, court: Party, document_no: str,
                  received_at: datetime) -> Restriction:
    """A seizure takes effect at its time of receipt; behind an effective seizure it is queued (轮候)."""
    lock_units([unit_no])  # before reading: two seizures lodged at once must not both take effect
    effective = [r for r in history.restrictions(unit_no) if r.kind == RestrictionKind.SEIZURE]
    state = RestrictionState.QUEUED if effective else RestrictionState.EFFECTIVE
    return write(entry, "restriction", key, unit_no, {
        "kind": RestrictionKind.SEIZURE, "state": state, "holder_party_id": court.id, "document_no": document_no,
        "received_at": received_at})


def release_seizure(entry: RegisterEntry, key: str) -> Restriction | None:
    """End a seizure; if it was the effective one, the earliest queued seizure takes effect.
    Returns the seizure that took effect, if any."""
    seizure = db.session.scalar(history.current(Restriction).where(Restriction.key == key,
                                                                   Restriction.kind == RestrictionKind.SEIZURE))
    if seizure is None:
        raise Conflict(_l("%(key)s is not in the register, or has already ended.", key=key))
    lock_units([seizure.unit_no])
    write(entry, "restriction", key, seizure.unit_no, {}, ends=True)
    if seizure.state != RestrictionState.EFFECTIVE:
        return None
    queued = sorted((r for r in history.restrictions(seizure.unit_no) if r.kind == RestrictionKind.SEIZURE
                     and r.key != key and r.state == RestrictionState.QUEUED), key=lambda r: (r.received_at, r.id))
    if not queued:
        return None
    first = queued[0]
    data = {c.key: getattr(first, c.key) for c in Restriction.__table__.columns if c.key not in _VERSION_COLUMNS}
    return write(entry, "restriction", first.key, first.unit_no, {**data, "state": RestrictionState.EFFECTIVE})
