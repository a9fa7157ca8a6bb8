"""Delivering outbox messages to other agencies after commit, with retries.

A message is written in the transaction that decided to send it (`queue`), so it exists exactly
when that decision committed. `deliver_due` runs as a job: it takes due messages with FOR UPDATE
SKIP LOCKED (several workers never send the same one at once), posts each with its message id as
the idempotency key, and commits per message. A failure is retried later, backing off; after
`MAX_ATTEMPTS` the message is marked failed for a clerk to see and retry.
"""

import logging
import uuid
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import select

from app.cases.models import Case, EventKind
from app.core.clock import now_utc
from app.core.models import OutboxMessage
from app.extensions import db

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30  # doubled after each failed attempt, at most one hour


def queue(destination: str, kind: str, payload: dict, case_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(message_id=str(uuid.uuid4()), destination=destination, kind=kind, case_id=case_id,
                            payload=payload, state="pending", attempts=0, next_attempt_at=now_utc())
    db.session.add(message)
    db.session.flush()
    return message


def retry(message: OutboxMessage) -> None:
    """A clerk sends a failed message again: due now, with a fresh allowance of attempts."""
    message.state, message.attempts, message.next_attempt_at = "pending", 0, now_utc()
    db.session.flush()


def deliver_due(limit: int = 100) -> int:
    """Send due messages, one transaction each; returns how many were delivered."""
    delivered, seen = 0, set()
    while len(seen) < limit:
        query = (select(OutboxMessage).where(OutboxMessage.state == "pending",
                                             OutboxMessage.next_attempt_at <= now_utc())
                 .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1)
                 .with_for_update(skip_locked=True))
        if seen:
            query = query.where(OutboxMessage.id.not_in(seen))
        message = db.session.scalar(query)
        if message is None:
            db.session.rollback()
            break
        seen.add(message.id)
        delivered += _attempt(message)
        db.session.commit()
    return delivered


def _attempt(message: OutboxMessage) -> bool:
    target = current_app.config["OUTBOX_DESTINATIONS"].get(message.destination) or {}
    message.attempts += 1
    error = ""
    if not target.get("url"):
        error = f"no address is configured for {message.destination}"
    else:
        try:
            response = requests.post(target["url"], json={"message_id": message.message_id, "kind": message.kind,
                                                          "payload": message.payload},
                                     headers={"Idempotency-Key": message.message_id,
                                              "Authorization": f"Bearer {target.get('token', '')}"},
                                     timeout=current_app.config["OUTBOX_TIMEOUT_SECONDS"])
            if not response.ok:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    if not error:
        message.state, message.delivered_at, message.last_error = "delivered", now_utc(), ""
    else:
        message.last_error = error
        if message.attempts >= MAX_ATTEMPTS:
            message.state = "failed"
        else:
            delay = min(BACKOFF_SECONDS * 2 ** (message.attempts - 1), 3600)
            message.next_attempt_at = now_utc() + timedelta(seconds=delay)
        log.warning("outbox %s to %s: attempt %d failed: %s", message.message_id, message.destination,
                    message.attempts, error)
    if message.case_id and message.state != "pending":
        _note(message)
    return message.state == "delivered"


def _note(message: OutboxMessage) -> None:
    from app.engine.runtime import event, record_change

    case = db.session.get(Case, message.case_id)
    record_change(case, None, [event(case, EventKind.OUTBOX, None, detail={
        "destination": message.destination, "state": message.state, "attempts": message.attempts,
        "error": message.last_error})], "outbox." + message.state,
        {"message_id": message.message_id, "destination": message.destination})


def for_case(case_id: int) -> list[OutboxMessage]:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)
                              .order_by(OutboxMessage.id)).all()
