"""Clerk queues: plain indexed SQL over human_task, with whitelisted filters and keyset pagination."""

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_

from app.cases.models import Case
from app.core.clock import now_utc
from app.core.deadlines import current_calendar
from app.engine.models import HumanTask
from app.extensions import db
from app.orgs.models import Tier
from app.orgs.permissions import role_pairs, scope_unit_ids

VIEWS = ("mine", "unclaimed", "due_soon", "overdue", "all")
SORTS = {"due": HumanTask.due_at, "created": HumanTask.created_at, "priority": HumanTask.priority}


@dataclass
class QueueFilter:
    view: str = "unclaimed"
    service: str = ""
    tier: str = ""
    office: int | None = None
    due_before: datetime | None = None
    sort: str = "due"
    after: str = ""  # opaque cursor


def due_soon_threshold(now: datetime, working_days: int) -> datetime:
    return current_calendar().add_working_days(now, working_days).due_at


def _base_conditions(user, view: str, now: datetime, soon: datetime):
    pairs = sorted(role_pairs(user))
    mine = HumanTask.assignee_id == user.id
    candidate = tuple_(HumanTask.candidate_org_id, HumanTask.candidate_role).in_(pairs) if pairs else False
    if view == "mine":
        return [mine]
    if view == "unclaimed":
        return [HumanTask.assignee_id.is_(None), candidate]
    actionable = or_(mine, and_(HumanTask.assignee_id.is_(None), candidate))
    if view == "overdue":
        return [actionable, HumanTask.due_at < now]
    if view == "due_soon":
        return [actionable, HumanTask.due_at >= now, HumanTask.due_at < soon]
    # "all": every open task in the user's jurisdiction (supervisors look here).
    return [HumanTask.candidate_org_id.in_(sorted(scope_unit_ids(user)))]


def _filters(f: QueueFilter):
    conditions = []
    if f.service:
        conditions.append(HumanTask.service_code == f.service)
    if f.tier in {t.value for t in Tier}:
        conditions.append(HumanTask.tier == Tier(f.tier))
    if f.office:
        conditions.append(HumanTask.candidate_org_id == f.office)
    if f.due_before:
        conditions.append(HumanTask.due_at < f.due_before)
    return conditions


def encode_cursor(sort_value, task_id: int) -> str:
    raw = json.dumps([sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value, task_id])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, sort: str):
    try:
        value, task_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if sort in ("due", "created") and value is not None:
            value = datetime.fromisoformat(value)
        return value, int(task_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def _order_and_after(sort: str, cursor):
    """ORDER BY and the keyset condition for one sort; each order is what an index supplies directly."""
    if sort == "due":  # undated tasks last
        order = (HumanTask.due_at.asc().nulls_last(), HumanTask.id)
        if cursor is None:
            return order, None
        value, last_id = cursor
        if value is None:
            return order, and_(HumanTask.due_at.is_(None), HumanTask.id > last_id)
        return order, or_(tuple_(HumanTask.due_at, HumanTask.id) > tuple_(value, last_id), HumanTask.due_at.is_(None))
    if sort == "priority":  # highest first
        order = (HumanTask.priority.desc(), HumanTask.id)
        if cursor is None:
            return order, None
        value, last_id = cursor
        return order, or_(HumanTask.priority < value, and_(HumanTask.priority == value, HumanTask.id > last_id))
    order = (HumanTask.created_at, HumanTask.id)
    if cursor is None:
        return order, None
    return order, tuple_(HumanTask.created_at, HumanTask.id) > tuple_(*cursor)


@dataclass
class QueuePage:
    rows: list
    next_cursor: str
    count: int


def page(user, f: QueueFilter, size: int, now: datetime | None = None, soon_days: int = 2) -> QueuePage:
    now = now or now_utc()
    soon = due_soon_threshold(now, soon_days)
    conditions = _base_conditions(user, f.view, now, soon) + _filters(f)
    sort = f.sort if f.sort in SORTS else "due"
    order, after = _order_and_after(sort, decode_cursor(f.after, sort) if f.after else None)
    query = select(HumanTask, Case).join(Case, Case.id == HumanTask.case_id).where(*conditions)
    if after is not None:
        query = query.where(after)
    rows = db.session.execute(query.order_by(*order).limit(size + 1)).all()
    next_cursor = ""
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1][0]
        value = {"due": last.due_at, "created": last.created_at, "priority": last.priority}[sort]
        next_cursor = encode_cursor(value, last.id)
    count = db.session.scalar(select(func.count()).select_from(HumanTask).where(*conditions))
    return QueuePage(rows=rows, next_cursor=next_cursor, count=count)


def counts(user, now: datetime | None = None, soon_days: int = 2) -> dict[str, int]:
    now = now or now_utc()
    soon = due_soon_threshold(now, soon_days)
    return {
        view: db.session.scalar(select(func.count()).select_from(HumanTask).where(
            *_base_conditions(user, view, now, soon)))
        for view in VIEWS
    }


def due_state(due_at: datetime | None, now: datetime, soon: datetime) -> str:
    """green / amber / red for a deadline, as the workbench colours it."""
    if due_at is None:
        return "none"
    if due_at < now:
        return "red"
    if due_at < soon:
        return "amber"
    return "green"


__all__ = ["VIEWS", "QueueFilter", "QueuePage", "counts", "due_state", "page"]
