"""Several writers at once: claim races, competing completions, parallel sweepers, and a crash mid-save.

The threaded tests need real row locks and SKIP LOCKED, so they run on PostgreSQL only. Each thread
pushes its own app context (its own session and connection); a barrier releases them together.
The crash test runs on every database.
"""

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case, CaseEvent, EventKind
from app.core import audit
from app.core.models import AuditEntry
from app.engine import derive, runtime, tasks
from app.engine.errors import Conflict
from app.engine.jobs import sweep_timers
from app.engine.models import HumanTask, InstanceTimer, MessageSubscription, ProcessInstance
from app.extensions import db
from app.orgs.models import Role, RoleAssignment, User, UserKind
from app.orgs.passwords import hash_password

THREAD_TIMEOUT = 120  # seconds; only a deadlock or a hang comes anywhere near it


@pytest.fixture
def pg(ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set TEST_DATABASE_URL)")
    return ctx


@dataclass
class Outcome:
    value: object = None
    error: BaseException | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def race(app, jobs) -> list[Outcome]:
    """Run each job in its own thread and app context.

    A job is called first to prepare (load its user, say) and returns the action; all actions start
    together once every thread is prepared. A job that returns commits; one that raises rolls back.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def runner(i, job):
        with app.app_context():
            try:
                try:
                    act = job()
                except BaseException:
                    barrier.abort()
                    raise
                barrier.wait(timeout=THREAD_TIMEOUT)
                value = act()
                db.session.commit()
                outcomes[i] = Outcome(value=value)
            except Exception as exc:
                db.session.rollback()
                outcomes[i] = Outcome(error=exc, message=str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner, args=(i, job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(THREAD_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread hung (deadlock?)"
    assert all(o is not None for o in outcomes)
    for o in outcomes:
        assert not isinstance(o.error, threading.BrokenBarrierError), o.message
    return outcomes


def only_task(case_id: int) -> HumanTask:
    rows = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).all()
    assert len(rows) == 1, [r.bpmn_id for r in rows]
    return rows[0]


def events(case_id: int, kind: EventKind, bpmn_id: str | None = None) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
    if bpmn_id is not None:
        query = query.where(CaseEvent.task_bpmn_id == bpmn_id)
    return db.session.scalars(query).all()


def row_version(instance_id: int) -> int:
    return db.session.scalar(select(ProcessInstance.row_version).where(ProcessInstance.id == instance_id))


def add_clerks(units, n: int) -> list[int]:
    """n more clerks of 南岭街道, committed; returns their ids."""
    password = hash_password("Extra-clerk-2026!")
    people = []
    for i in range(n):
        user = User(username=f"extra_clerk_{i:02d}", display_name=f"南岭街道窗口 临时{i:02d}", kind=UserKind.STAFF,
                    password_hash=password)
        user.roles.append(RoleAssignment(org_unit=units["220102001"], role=Role.CLERK))
        db.session.add(user)
        people.append(user)
    db.session.commit()
    return [u.id for u in people]


def complete_as(user_id: int, task_id: int, **data):
    def prepare():
        user = db.session.get(User, user_id)
        user.roles

        def act():
            runtime.complete_task(task_id, user, data)
            return user.display_name

        return act

    return prepare


# --------------------------------------------------------------------------- claims


def test_twelve_clerks_claim_one_task_and_exactly_one_wins(pg, make_case, users, units):
    case = make_case()
    task_id = only_task(case.id).id
    clerk_ids = [users["nanling_clerk"].id, users["nanling_clerk2"].id, *add_clerks(units, 10)]
    assert len(clerk_ids) == 12

    def claim_as(user_id):
        def prepare():
            user = db.session.get(User, user_id)
            user.roles

            def act():
                tasks.claim(task_id, user)
                return user.id

            return act

        return prepare

    outcomes = race(pg, [claim_as(uid) for uid in clerk_ids])

    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1, [o.message for o in outcomes]
    winner = db.session.get(User, winners[0].value)
    losers = [o for o in outcomes if not o.ok]
    assert len(losers) == 11
    for o in losers:
        assert isinstance(o.error, Conflict), f"{type(o.error).__name__}: {o.message}"
        assert winner.display_name in o.message
    db.session.expire_all()
    assert db.session.get(HumanTask, task_id).assignee_id == winner.id
    claimed = events(case.id, EventKind.CLAIMED)
    assert [(e.actor_id, e.task_bpmn_id) for e in claimed] == [(winner.id, "accept")]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "task.claim")) == 1


# --------------------------------------------------------------------------- completions


def test_two_clerks_complete_the_same_task_and_only_one_counts(pg, make_case, users):
    case = make_case()
    task = only_task(case.id)
    task_id, instance_id = task.id, task.instance_id
    version_before = row_version(instance_id)

    outcomes = race(pg, [complete_as(users["nanling_clerk"].id, task_id, decision="accept"),
                         complete_as(users["nanling_clerk2"].id, task_id, decision="accept")])

    assert sorted(o.ok for o in outcomes) == [False, True], [o.message for o in outcomes]
    loser = next(o for o in outcomes if not o.ok)
    assert isinstance(loser.error, Conflict), f"{type(loser.error).__name__}: {loser.message}"

    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.row_version == version_before + 1
    wf = runtime.load(instance)
    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    assert [t.task_spec.bpmn_id for t in ready] == ["county_review"]
    assert only_task(case.id).bpmn_id == "county_review"
    assert len(events(case.id, EventKind.TASK_COMPLETED, "accept")) == 1
    winner_name = next(o for o in outcomes if o.ok).value
    assert events(case.id, EventKind.TASK_COMPLETED, "accept")[0].actor.display_name == winner_name


def test_completions_of_different_cases_do_not_block_each_other(pg, make_case, users):
    cases = [make_case(title=f"并行宗地 {i}") for i in range(6)]
    rows = [(c.id, t.id, t.instance_id, row_version(t.instance_id)) for c in cases for t in [only_task(c.id)]]
    clerks = [users["nanling_clerk"].id, users["nanling_clerk2"].id]

    outcomes = race(pg, [complete_as(clerks[i % 2], task_id, decision="accept")
                         for i, (_, task_id, _, _) in enumerate(rows)])

    assert all(o.ok for o in outcomes), [f"{type(o.error).__name__}: {o.message}" for o in outcomes if not o.ok]
    db.session.expire_all()
    for case_id, _, instance_id, version_before in rows:
        assert only_task(case_id).bpmn_id == "county_review"
        assert row_version(instance_id) == version_before + 1
        assert len(events(case_id, EventKind.TASK_COMPLETED, "accept")) == 1
    count, broken = audit.verify()  # six transactions appended at once: still one unbroken chain
    assert broken is None
    assert count == len(rows) * 2


# --------------------------------------------------------------------------- timers


def test_two_sweepers_fire_each_timer_exactly_once(pg, make_case, users, clock):
    cases = [make_case(title=f"计时宗地 {i}") for i in range(6)]
    for case in cases:
        runtime.complete_task(only_task(case.id).id, users["nanling_clerk"], {"decision": "accept"})
        db.session.commit()
    assert all(only_task(c.id).bpmn_id == "county_review" for c in cases)
    clock.advance(days=6)  # past every review warning, before the deadlines
    db.session.commit()

    def sweeper():
        return sweep_timers

    outcomes = race(pg, [sweeper, sweeper])

    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert sum(o.value for o in outcomes) == len(cases), [o.value for o in outcomes]
    db.session.expire_all()
    for case in cases:
        fired = events(case.id, EventKind.TIMER_FIRED)
        assert [e.task_bpmn_id for e in fired] == ["review_warning"], case.case_no
        assert only_task(case.id).bpmn_id == "county_review"  # non-interrupting
    left = db.session.scalars(select(InstanceTimer.bpmn_id)).all()
    assert sorted(left) == ["review_overdue"] * len(cases)
    assert sweep_timers() == 0


# --------------------------------------------------------------------------- crash


def snapshot(case_id: int, instance_id: int) -> dict:
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    case = db.session.get(Case, case_id)
    return {
        "instance": (instance.status, instance.state, instance.serializer_version, instance.row_version,
                     instance.definition_id),
        "case": (case.status, case.due_at, case.closed_at, case.outcome),
        "tasks": [(t.id, t.task_guid, t.bpmn_id, t.assignee_id, t.due_at) for t in db.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id))],
        "timers": [(t.task_guid, t.bpmn_id, t.fire_at) for t in db.session.scalars(
            select(InstanceTimer).where(InstanceTimer.instance_id == instance_id).order_by(InstanceTimer.id))],
        "subscriptions": [(s.task_guid, s.message_name, s.correlation_key) for s in db.session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == instance_id))],
        "events": [(e.id, e.kind, e.task_bpmn_id) for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))],
        "audit": db.session.scalars(select(AuditEntry.entry_hash).order_by(AuditEntry.id)).all(),
    }


def test_crash_while_saving_leaves_everything_as_it_was(ctx, make_case, users, monkeypatch):
    case = make_case()
    task = only_task(case.id)
    task_id, instance_id = task.id, task.instance_id
    before = snapshot(case.id, instance_id)
    real_sync = derive.sync
    reached = []

    def sync_then_crash(instance, wf, case_):
        # The workflow has run and the derived rows are written in this transaction; then the worker dies.
        real_sync(instance, wf, case_)
        db.session.flush()
        reached.append(instance.row_version)
        raise RuntimeError("worker killed during save")

    monkeypatch.setattr(derive, "sync", sync_then_crash)
    with pytest.raises(RuntimeError, match="worker killed during save"):
        runtime.complete_task(task_id, users["nanling_clerk"], {"decision": "accept"})
    assert reached, "the crash was not reached: the test did not exercise a save"
    db.session.rollback()
    monkeypatch.undo()

    assert snapshot(case.id, instance_id) == before

    runtime.complete_task(task_id, users["nanling_clerk"], {"decision": "accept"})
    db.session.commit()
    after = snapshot(case.id, instance_id)
    assert after["instance"][3] == before["instance"][3] + 1
    assert [t[2] for t in after["tasks"]] == ["county_review"]
    assert [e[1] for e in after["events"][len(before["events"]):]] == [EventKind.TASK_COMPLETED]


def test_crash_in_the_audit_log_leaves_everything_as_it_was(ctx, make_case, users, monkeypatch):
    case = make_case()
    task = only_task(case.id)
    before = snapshot(case.id, task.instance_id)

    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit, "prepare", broken)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        runtime.complete_task(task.id, users["nanling_clerk"], {"decision": "accept"})
    db.session.rollback()
    monkeypatch.undo()
    assert snapshot(case.id, task.instance_id) == before


def test_a_save_that_lost_a_race_is_refused(ctx, make_case, users, monkeypatch):
    """Should another writer ever get past the row lock, the version check refuses the second save."""
    case = make_case()
    task = only_task(case.id)
    instance_id = task.instance_id
    version_before = row_version(instance_id)
    real_sync = derive.sync

    def sync_after_a_rival_write(instance, wf, case_):
        db.session.execute(ProcessInstance.__table__.update().where(ProcessInstance.id == instance_id)
                           .values(row_version=ProcessInstance.row_version + 1))
        return real_sync(instance, wf, case_)

    monkeypatch.setattr(derive, "sync", sync_after_a_rival_write)
    with pytest.raises(Conflict):
        runtime.complete_task(task.id, users["nanling_clerk"], {"decision": "accept"})
    db.session.rollback()
    assert row_version(instance_id) == version_before
    assert only_task(case.id).bpmn_id == "accept"
