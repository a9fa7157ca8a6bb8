"""The append-only audit log. Each entry's hash covers its content and the previous entry's hash,
so editing or deleting any row breaks the chain at that row and `audit verify` finds it."""

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text

from app.core.clock import now_utc
from app.core.models import AuditEntry
from app.extensions import db

GENESIS = "0" * 64
# Appends are serialised so two transactions cannot both chain onto the same previous entry.
_ADVISORY_LOCK_KEY = 7_340_201


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    body = json.dumps(
        {
            "at": entry.at.isoformat(timespec="microseconds"),
            "actor": entry.actor_id,
            "action": entry.action,
            "object": [entry.object_type, entry.object_id],
            "detail": entry.detail,
            "ip": entry.ip,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def record(action: str, object_type: str, object_id, *, actor_id: int | None = None, detail: dict | None = None,
           ip: str = "") -> AuditEntry:
    """Append an entry in the current transaction (flushes; the request or job commits)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
    prev = db.session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)) or GENESIS
    entry = AuditEntry(
        at=now_utc(), actor_id=actor_id, action=action, object_type=object_type, object_id=str(object_id),
        detail=detail or {}, ip=ip, prev_hash=prev,
    )
    entry.entry_hash = _digest(prev, entry)
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Break:
    entry_id: int
    reason: str


def verify() -> tuple[int, Break | None]:
    """Walk the chain in order; return how many entries were checked and the first broken link, if any."""
    prev, count = GENESIS, 0
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)):
        count += 1
        if entry.prev_hash != prev:
            return count, Break(entry.id, "previous-hash link does not match the entry before it")
        if _digest(prev, entry) != entry.entry_hash:
            return count, Break(entry.id, "content does not match its hash")
        prev = entry.entry_hash
    return count, None
