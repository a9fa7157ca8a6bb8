"""Claiming and assigning human tasks: conditional updates, so concurrent claimers get one winner."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.cases.models import Case, EventKind
from app.core.clock import now_utc
from app.engine.errors import Conflict, NotAllowed
from app.engine.models import HumanTask
from app.engine.runtime import event, record_change
from app.extensions import db
from app.orgs.models import User
from app.orgs.permissions import can_reassign, can_work_on, role_pairs


def _task(task_id: int) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.id == task_id).execution_options(
        populate_existing=True))
    if task is None:
        raise Conflict(_l("This task has already been completed or has moved on."))
    return task


def claim(task_id: int, user: User) -> HumanTask:
    task = _task(task_id)
    if task.assignee_id == user.id:
        return task
    if not can_work_on(user, task):
        if task.assignee_id is not None:
            raise Conflict(_l("%(name)s has claimed this task.", name=task.assignee.display_name))
        raise NotAllowed(_l("You may not claim this task."))
    result = db.session.execute(
        update(HumanTask).where(HumanTask.id == task_id, HumanTask.assignee_id.is_(None))
        .values(assignee_id=user.id, claimed_at=now_utc()).execution_options(synchronize_session=False)
    )
    task = _task(task_id)
    if result.rowcount != 1 and task.assignee_id != user.id:
        raise Conflict(_l("%(name)s has claimed this task.", name=task.assignee.display_name))
    case = db.session.get(Case, task.case_id)
    record_change(case, user.id, [event(case, EventKind.CLAIMED, user.id, task=task)], "task.claim",
                  {"task": task.bpmn_id})
    return task


def unclaim(task_id: int, user: User) -> None:
    task = _task(task_id)
    if task.assignee_id != user.id and not can_reassign(user, task):
        raise NotAllowed(_l("Only the clerk who claimed this task, or a supervisor, can release it."))
    result = db.session.execute(
        update(HumanTask).where(HumanTask.id == task_id, HumanTask.assignee_id == task.assignee_id)
        .values(assignee_id=None, claimed_at=None).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(_l("The task changed hands meanwhile; reload and try again."))
    case = db.session.get(Case, task.case_id)
    record_change(case, user.id, [event(case, EventKind.UNCLAIMED, user.id, task=task)], "task.unclaim",
                  {"task": task.bpmn_id})


def reassign(task_id: int, supervisor: User, assignee_id: int) -> HumanTask:
    """A supervisor of a higher tier hands the task to another eligible clerk of the same office."""
    task = _task(task_id)
    if not can_reassign(supervisor, task):
        raise NotAllowed(_l("Only a supervisor of a higher tier can reassign this task."))
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.active or (task.candidate_org_id, task.candidate_role) not in role_pairs(
            assignee):
        raise NotAllowed(_l("That person does not hold this task's role in its office."))
    previous = task.assignee_id
    task.assignee_id, task.claimed_at = assignee.id, now_utc()
    case = db.session.get(Case, task.case_id)
    db.session.flush()
    record_change(case, supervisor.id, [event(case, EventKind.REASSIGNED, supervisor.id, task=task, detail={
        "from": previous, "to": assignee.id, "to_name": assignee.display_name})], "task.reassign",
        {"task": task.bpmn_id, "from": previous, "to": assignee.id})
    return task
