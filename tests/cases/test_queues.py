"""Queues: keyset pages walk every task exactly once in the promised order, for each sort and view."""

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import select

from app.cases import queues
from app.engine import tasks
from app.engine.models import HumanTask
from app.extensions import db


@pytest.fixture
def township_tasks(ctx, make_case, clock):
    """Seven unclaimed `accept` tasks in 南岭街道, with ties, an undated task and varied priorities."""
    for _ in range(7):
        make_case("220102001")
        clock.advance(minutes=5)
    rows = db.session.scalars(select(HumanTask).order_by(HumanTask.id)).all()
    base = rows[0].due_at
    for i, row in enumerate(rows):
        row.due_at = None if i == 3 else base + timedelta(days=i % 3)  # ties on purpose
        row.priority = [50, 80, 50, 20, 80, 50, 10][i]
    db.session.commit()
    return rows


def walk(user, view: str, sort: str, size: int = 3) -> list[int]:
    seen, after = [], ""
    while True:
        g.pop("org_units", None)
        result = queues.page(user, queues.QueueFilter(view=view, sort=sort, after=after), size)
        seen += [task.id for task, _ in result.rows]
        assert result.count >= len(seen)
        if not result.next_cursor:
            return seen
        after = result.next_cursor


@pytest.mark.parametrize("sort", ["due", "created", "priority"])
def test_pages_cover_every_task_once_in_order(ctx, users, township_tasks, sort):
    def key(t):
        if sort == "due":
            return (t.due_at is None, t.due_at or 0, t.id)
        if sort == "priority":
            return (-t.priority, t.id)
        return (t.created_at, t.id)

    expected = [t.id for t in sorted(township_tasks, key=key)]
    with ctx.test_request_context():
        assert walk(users["nanling_clerk"], "unclaimed", sort) == expected


def test_views_and_counts_follow_claims_and_offices(ctx, users, township_tasks):
    with ctx.test_request_context():
        clerk = users["nanling_clerk"]
        tasks.claim(township_tasks[0].id, clerk)
        db.session.commit()
        counts = queues.counts(clerk)
        assert (counts["mine"], counts["unclaimed"]) == (1, 6)
        assert walk(clerk, "mine", "due") == [township_tasks[0].id]
        # Another township's clerk and a county reviewer have nothing to claim here.
        assert queues.counts(users["ziqiang_clerk"])["unclaimed"] == 0
        assert queues.counts(users["nanguan_reviewer"])["unclaimed"] == 0
        # The county supervisor sees all seven in the jurisdiction view; the other county's does not exist.
        assert queues.counts(users["nanguan_supervisor"])["all"] == 7


def test_filters_narrow_the_queue(ctx, users, units, township_tasks):
    with ctx.test_request_context():
        clerk = users["nanling_clerk"]
        by_office = queues.page(clerk, queues.QueueFilter(view="unclaimed", office=units["220102002"].id), 25)
        assert by_office.count == 0
        by_tier = queues.page(clerk, queues.QueueFilter(view="unclaimed", tier="township"), 25)
        assert by_tier.count == 7
        by_service = queues.page(clerk, queues.QueueFilter(view="unclaimed", service="no-such-service"), 25)
        assert by_service.count == 0


def test_a_forged_cursor_is_ignored(ctx, users, township_tasks):
    with ctx.test_request_context():
        result = queues.page(users["nanling_clerk"], queues.QueueFilter(view="unclaimed", after="not-base64!"), 25)
        assert result.count == 7
        assert len(result.rows) == 7
