"""Rows derived from a saved workflow: READY manual tasks, waiting timers, waiting message catches.

The rows always equal what the stored state implies, so the state as loaded tells what rows exist:
`snapshot` takes that at load, and `sync` writes only the difference at save. A claimed task thus
keeps its claim and due date while it stays READY, and a step that changes nothing writes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.core.batch import Write, delete_rows, insert_row, update_rows
from app.core.clock import now_utc
from app.core.deadlines import deadline_after
from app.engine.lanes import candidate_unit_id, parse_lane
from app.engine.models import HumanTask, InstanceStatus, InstanceTimer, MessageSubscription, ProcessInstance

_ATTR = "smartland_derived"  # where `snapshot` leaves its result on the loaded workflow
# Plain writes (app/core/batch.py), not the ORM: these rows are read by queries and never as objects
# of the session that writes them, and the unit of work would only add cost.
_TASKS, _TIMERS, _SUBS = HumanTask.__table__, InstanceTimer.__table__, MessageSubscription.__table__


@dataclass
class Derived:
    ready: dict[str, object] = field(default_factory=dict)  # task guid -> Spiff task
    timers: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # guid -> (bpmn id, fire at)
    subscriptions: dict[str, tuple[str, str]] = field(default_factory=dict)  # guid -> (message, key)


def _properties(task) -> dict:
    return task.task_spec.extensions.get("properties", {}) if hasattr(task.task_spec, "extensions") else {}


def derived(wf: BpmnWorkflow, status: InstanceStatus) -> Derived:
    """What rows this workflow in this status implies."""
    from app.engine.runtime import correlation_key, flatten_correlations

    out = Derived()
    if status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        return out
    out.ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            value = definition.details(task).value
            if isinstance(value, str):
                out.timers[str(task.id)] = (task.task_spec.bpmn_id or "", TimerEventDefinition.get_datetime(value))
        elif isinstance(definition, MessageEventDefinition):
            values = flatten_correlations(definition.details(task).correlations or {})
            out.subscriptions[str(task.id)] = (definition.name, correlation_key(values))
    return out


def snapshot(instance: ProcessInstance, wf: BpmnWorkflow) -> None:
    """Remember the rows the state as loaded implies (call right after loading)."""
    setattr(wf, _ATTR, derived(wf, instance.status))


def new_instance(wf: BpmnWorkflow) -> None:
    """A workflow not yet saved has no rows."""
    setattr(wf, _ATTR, Derived())


def sync(instance: ProcessInstance, wf: BpmnWorkflow, case) -> list[Write]:
    """The writes that bring the rows in line with the workflow, for `execute_together`."""
    before = getattr(wf, _ATTR)  # set by `snapshot` (runtime.load) or `new_instance` (runtime.start)
    after = derived(wf, instance.status)
    setattr(wf, _ATTR, after)  # a second save in the same transaction diffs against this one
    return [*_human_tasks(instance, case, before.ready, after.ready),
            *_timers(instance, before.timers, after.timers),
            *_subscriptions(instance, before.subscriptions, after.subscriptions)]


def _human_tasks(instance, case, before: dict, after: dict) -> list[Write]:
    out = []
    gone = [guid for guid in before if guid not in after]
    if gone:
        out.append(delete_rows(_TASKS, {"instance_id": instance.id}, ("task_guid", gone)))
    now, rows = now_utc(), []
    for guid, task in after.items():
        if guid in before:
            continue
        tier, role = parse_lane(task.task_spec.lane)
        props = _properties(task)
        due_at, estimated = None, False
        if props.get("slaDays"):
            deadline = deadline_after(int(props["slaDays"]), now)
            due_at, estimated = deadline.due_at, deadline.estimated
        rows.append({
            "instance_id": instance.id, "case_id": case.id, "task_guid": guid, "bpmn_id": task.task_spec.bpmn_id or "",
            "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id or "", "lane": (task.task_spec.lane or "")[:64],
            "form_key": props.get("formKey", ""), "service_code": case.service_code, "tier": tier,
            "candidate_org_id": candidate_unit_id(case.jurisdiction_id, tier), "candidate_role": role,
            "assignee_id": None, "claimed_at": None, "created_at": now, "due_at": due_at, "due_estimated": estimated,
            "priority": int(props.get("priority", 50)),
        })
    return out + [insert_row(_TASKS, row) for row in rows]


def _timers(instance, before: dict, after: dict) -> list[Write]:
    out = []
    gone = [guid for guid in before if guid not in after]
    if gone:
        out.append(delete_rows(_TIMERS, {"instance_id": instance.id}, ("task_guid", gone)))
    out += [update_rows(_TIMERS, {"instance_id": instance.id, "task_guid": guid}, {"fire_at": fire_at})
            for guid, (_, fire_at) in after.items() if guid in before and before[guid][1] != fire_at]
    new = [{"instance_id": instance.id, "task_guid": guid, "bpmn_id": bpmn_id, "fire_at": fire_at}
           for guid, (bpmn_id, fire_at) in after.items() if guid not in before]
    return out + [insert_row(_TIMERS, row) for row in new]


def _subscriptions(instance, before: dict, after: dict) -> list[Write]:
    out = []
    gone = [guid for guid in before if after.get(guid) != before[guid]]
    if gone:
        out.append(delete_rows(_SUBS, {"instance_id": instance.id}, ("task_guid", gone)))
    new = [{"instance_id": instance.id, "task_guid": guid, "message_name": name, "correlation_key": key}
           for guid, (name, key) in after.items() if before.get(guid) != (name, key)]
    return out + [insert_row(_SUBS, row) for row in new]
