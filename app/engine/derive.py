"""Rows derived from a saved workflow: READY manual tasks, waiting timers, waiting message catches.

They are diffed against what is stored rather than rebuilt, so a claimed task keeps its claim and
its due date while it stays READY.
"""

from sqlalchemy import delete, select
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.core.clock import now_utc
from app.core.deadlines import deadline_after
from app.engine.lanes import candidate_unit, parse_lane
from app.engine.models import HumanTask, InstanceStatus, InstanceTimer, MessageSubscription, ProcessInstance
from app.extensions import db


def _properties(task) -> dict:
    return task.task_spec.extensions.get("properties", {}) if hasattr(task.task_spec, "extensions") else {}


def sync(instance: ProcessInstance, wf: BpmnWorkflow, case) -> None:
    running = instance.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
    _sync_human_tasks(instance, wf, case, running)
    _sync_timers(instance, wf, running)
    _sync_subscriptions(instance, wf, running)


def _sync_human_tasks(instance, wf, case, running: bool) -> None:
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)} if running else {}
    existing = {row.task_guid: row for row in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id))}
    for guid, row in existing.items():
        if guid not in ready:
            db.session.delete(row)
    now = now_utc()
    for guid, task in ready.items():
        if guid in existing:
            continue
        tier, role = parse_lane(task.task_spec.lane)
        props = _properties(task)
        due_at, estimated = None, False
        if props.get("slaDays"):
            deadline = deadline_after(int(props["slaDays"]), now)
            due_at, estimated = deadline.due_at, deadline.estimated
        db.session.add(HumanTask(
            instance_id=instance.id, case_id=case.id, task_guid=guid, bpmn_id=task.task_spec.bpmn_id or "",
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id or "", lane=(task.task_spec.lane or "")[:64],
            form_key=props.get("formKey", ""), service_code=case.service_code, tier=tier,
            candidate_org_id=candidate_unit(case.jurisdiction, tier).id, candidate_role=role,
            created_at=now, due_at=due_at, due_estimated=estimated, priority=int(props.get("priority", 50)),
        ))


def _waiting(wf: BpmnWorkflow, definition_class):
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, definition_class):
            yield task, definition


def _sync_timers(instance, wf, running: bool) -> None:
    wanted = {}
    if running:
        for task, definition in _waiting(wf, TimerEventDefinition):
            value = definition.details(task).value
            if isinstance(value, str):
                wanted[str(task.id)] = (task.task_spec.bpmn_id or "", TimerEventDefinition.get_datetime(value))
    existing = {row.task_guid: row for row in db.session.scalars(
        select(InstanceTimer).where(InstanceTimer.instance_id == instance.id))}
    for guid, row in existing.items():
        if guid not in wanted:
            db.session.delete(row)
        else:
            row.fire_at = wanted[guid][1]
    for guid, (bpmn_id, fire_at) in wanted.items():
        if guid not in existing:
            db.session.add(InstanceTimer(instance_id=instance.id, task_guid=guid, bpmn_id=bpmn_id, fire_at=fire_at))


def _sync_subscriptions(instance, wf, running: bool) -> None:
    from app.engine.runtime import correlation_key, flatten_correlations

    db.session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == instance.id))
    if not running:
        return
    for task, definition in _waiting(wf, MessageEventDefinition):
        values = flatten_correlations(definition.details(task).correlations or {})
        db.session.add(MessageSubscription(instance_id=instance.id, task_guid=str(task.id),
                                           message_name=definition.name, correlation_key=correlation_key(values)))
