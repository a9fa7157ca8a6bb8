"""The append-only audit log. Each entry's hash covers its content and the previous entry's hash,
so editing or deleting any row breaks the chain at that row and `audit verify` finds it."""

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core.clock import now_utc
from app.core.batch import Write, execute_together, insert_row, update_rows
from app.core.models import AuditEntry, AuditHead
from app.extensions import db

GENESIS = "0" * 64
_HEAD = AuditHead.__table__


def _digest(prev_hash: str, at, actor_id, action, object_type, object_id, detail, ip) -> str:
    body = json.dumps(
        {
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor_id,
            "action": action,
            "object": [object_type, object_id],
            "detail": detail,
            "ip": ip,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _entry_digest(prev_hash: str, e: AuditEntry) -> str:
    return _digest(prev_hash, e.at, e.actor_id, e.action, e.object_type, e.object_id, e.detail, e.ip)


def record(action: str, object_type: str, object_id, *, actor_id: int | None = None, detail: dict | None = None,
           ip: str = "") -> str:
    """Append an entry in the current transaction; the request or job commits. Returns its hash."""
    statements, entry_hash = prepare(action, object_type, object_id, actor_id=actor_id, detail=detail, ip=ip)
    execute_together(statements)
    return entry_hash


def prepare(action: str, object_type: str, object_id, *, actor_id: int | None = None, detail: dict | None = None,
            ip: str = "") -> tuple[list[Write], str]:
    """Lock the chain's head and build the entry; returns the writes that append it (for the caller
    to run with its other writes) and the entry's hash. The head stays locked until commit."""
    prev = _lock_head()
    row = {"at": now_utc(), "actor_id": actor_id, "action": action, "object_type": object_type,
           "object_id": str(object_id), "detail": detail or {}, "ip": ip}
    entry_hash = _digest(prev, **row)
    # Plain writes: an append-only row never needs the unit of work's change tracking.
    return [insert_row(AuditEntry.__table__, {**row, "prev_hash": prev, "entry_hash": entry_hash}),
            update_rows(_HEAD, {"id": 1}, {"entry_hash": entry_hash})], entry_hash


_BUMP_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(entries=_HEAD.c.entries + 1).returning(_HEAD.c.entry_hash)


def _lock_head() -> str:
    prev = db.session.execute(_BUMP_HEAD).scalar()
    if prev is None:  # the first entry ever: create the head (once, whoever comes first), then lock it
        dialect_insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        db.session.execute(dialect_insert(_HEAD).values(id=1, entries=0, entry_hash=GENESIS).on_conflict_do_nothing())
        prev = db.session.execute(_BUMP_HEAD).scalar_one()
    return prev


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def verify() -> tuple[int, Break | None]:
    """Walk the chain in order; return how many entries were checked and the first broken link, if any."""
    prev, count, last_id = GENESIS, 0, 0
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)):
        count += 1
        if entry.prev_hash != prev:
            return count, Break(entry.id, "previous-hash link does not match the entry before it")
        if _entry_digest(prev, entry) != entry.entry_hash:
            return count, Break(entry.id, "content does not match its hash")
        prev, last_id = entry.entry_hash, entry.id
    head = db.session.get(AuditHead, 1)
    cut_short = (head.entry_hash, head.entries) != (prev, count) if head is not None else count > 0
    if cut_short:
        return count, Break(last_id if count else 0, "the chain stops short of its recorded head: entries at the end "
                                                     "were removed, or the head was")
    return count, None
