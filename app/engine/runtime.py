"""Running process instances: start, complete a task, fire timers, deliver messages, suspend, resume, withdraw.

Every operation here follows one pattern: lock the instance row, load the workflow, change it, save
the state and re-derive the task, timer and subscription rows, append timeline events, flush. The
request or job that called it commits, or rolls back on any exception, so a failing script or a
crash leaves the last committed state untouched.
"""

from copy import deepcopy
from datetime import datetime
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case, CaseEvent, CaseStatus, EventKind
from app.core import audit
from app.core.clock import now_utc
from app.core.deadlines import current_calendar, deadline_after
from app.engine import derive, spiff
from app.engine.definitions import loaded_spec
from app.engine.errors import Conflict, ModelError, NotAllowed
from app.engine.models import HumanTask, InstanceStatus, ProcessDefinition, ProcessInstance, ReceivedMessage
from app.extensions import db

_engine = None


def script_engine():
    """The one script engine, with the vetted helpers BPMN scripts may call."""
    global _engine
    if _engine is None:

        def deadline(working_days):
            return deadline_after(int(working_days)).due_at.isoformat()

        def warn_before(iso, working_days):
            at = datetime.fromisoformat(iso)
            return current_calendar().subtract_working_days(at, int(working_days)).due_at.isoformat()

        _engine = spiff.make_script_engine({"deadline": deadline, "warn_before": warn_before})
    return _engine


def lock_instance(instance_id: int) -> ProcessInstance:
    """Take the instance row for update: the one writer until this transaction ends."""
    instance = db.session.scalar(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update().execution_options(
            populate_existing=True
        )
    )
    if instance is None:
        raise Conflict(_l("This case no longer has a running process."))
    return instance


def load(instance: ProcessInstance) -> BpmnWorkflow:
    loaded = loaded_spec(instance.definition)
    return spiff.load_state(instance.state, instance.serializer_version, loaded.spec, loaded.subprocess_specs,
                            script_engine())


def _run(step, *args):
    """Run engine steps; a model failure becomes a ModelError the user can read, nothing saved."""
    try:
        return step(*args)
    except SpiffWorkflowException as exc:
        raise ModelError(_l("The process could not continue: %(error)s", error=str(exc))) from exc
    except Exception as exc:  # scripts are Python: any exception from a model is a model failure
        raise ModelError(_l("The process could not continue: %(error)s", error=f"{type(exc).__name__}: {exc}")) from exc


def save(instance: ProcessInstance, wf: BpmnWorkflow, case: Case, actor_id: int | None) -> None:
    """Store the state and re-derive everything that is read without deserializing the workflow."""
    instance.state = spiff.dump_state(wf)
    instance.serializer_version = spiff.SERIALIZER_VERSION
    _route_thrown_messages(instance, wf)
    if wf.is_completed() and instance.status == InstanceStatus.RUNNING:
        instance.status = InstanceStatus.COMPLETED
        case.status = CaseStatus.COMPLETED
        case.closed_at = now_utc()
        case.outcome = _end_event_reached(wf)
        add_event(case, EventKind.COMPLETED, actor_id, detail={"outcome": case.outcome})
    derive.sync(instance, wf, case)
    db.session.flush()


def _end_event_reached(wf: BpmnWorkflow) -> str:
    ends = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)
            and t.workflow is wf]
    if not ends:
        return ""
    return max(ends, key=lambda t: t.last_state_change).task_spec.bpmn_id or ""


def add_event(case: Case, kind: EventKind, actor_id: int | None, *, task: HumanTask | None = None,
              bpmn_id: str = "", name: str = "", detail: dict | None = None, note: str = "") -> CaseEvent:
    event = CaseEvent(
        case_id=case.id, kind=kind, actor_id=actor_id, at=now_utc(),
        task_bpmn_id=task.bpmn_id if task else bpmn_id, task_name=task.name if task else name,
        org_unit_id=task.candidate_org_id if task else None, detail=detail or {}, note=note,
    )
    db.session.add(event)
    return event


def start(case: Case, definition: ProcessDefinition, data: dict, actor_id: int | None) -> ProcessInstance:
    loaded = loaded_spec(definition)
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=script_engine())
    initial = {"case_no": case.case_no, "service_code": case.service_code, **deepcopy(data)}
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**initial)
    _run(wf.do_engine_steps)
    instance = ProcessInstance(case_id=case.id, definition_id=definition.id, definition=definition,
                               state="", serializer_version=spiff.SERIALIZER_VERSION)
    db.session.add(instance)
    db.session.flush()
    add_event(case, EventKind.SUBMITTED, actor_id, detail={"process": definition.process_id,
                                                           "version": definition.version})
    save(instance, wf, case, actor_id)
    audit.record("case.start", "case", case.case_no, actor_id=actor_id,
                 detail={"process": definition.process_id, "version": definition.version})
    return instance


def ready_task(wf: BpmnWorkflow, task_guid: str):
    task = wf.get_task_from_id(UUID(task_guid))
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        raise Conflict(_l("This task has already been completed or has moved on."))
    return task


def complete_task(task_id: int, user, data: dict, note: str = "") -> Case:
    """Complete a human task with validated form data; `data['decision']` picks the model's branch."""
    from app.orgs.permissions import can_work_on  # permissions import models of this package

    # One statement locks the instance and the task and loads the definition. Under READ COMMITTED a
    # statement that waited for a concurrent writer re-reads the rows: a task completed meanwhile is gone.
    row = db.session.execute(
        select(ProcessInstance, HumanTask).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .where(HumanTask.id == task_id).with_for_update(of=[ProcessInstance, HumanTask])
        .options(joinedload(ProcessInstance.definition, innerjoin=True))
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise Conflict(_l("This task has already been completed or has moved on."))
    instance, task_row = row
    if instance.status == InstanceStatus.SUSPENDED:
        raise NotAllowed(_l("The case is suspended; resume it before completing tasks."))
    if not can_work_on(user, task_row):
        if task_row.assignee_id not in (None, user.id):
            raise Conflict(_l("%(name)s has claimed this task.", name=task_row.assignee.display_name))
        raise NotAllowed(_l("You may not complete this task."))
    case = db.session.get(Case, task_row.case_id)
    wf = load(instance)
    task = ready_task(wf, task_row.task_guid)
    task.set_data(**deepcopy(data))
    _run(task.run)
    _run(wf.do_engine_steps)
    decision = data.get("decision", "")
    kind = EventKind.SENT_BACK if decision == "send_back" else EventKind.TASK_COMPLETED
    add_event(case, kind, user.id, task=task_row, detail={"decision": decision}, note=note)
    save(instance, wf, case, user.id)
    # Last, because appending to the audit chain takes a lock that is held until commit.
    audit.record("task.complete", "case", case.case_no, actor_id=user.id,
                 detail={"task": task_row.bpmn_id, "decision": decision})
    return case


def fire_timers(instance_id: int) -> list[str]:
    """Fire whatever timers of this instance are due on the engine clock; returns the BPMN ids fired."""
    instance = lock_instance(instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return []
    case = db.session.get(Case, instance.case_id)
    wf = load(instance)
    waiting = {t.id: t for t in wf.get_tasks(state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)}
    _run(wf.refresh_timers)
    _run(wf.do_engine_steps)
    fired = [t for t in waiting.values() if t.state in (TaskState.COMPLETED, TaskState.READY)]
    for task in fired:
        add_event(case, EventKind.TIMER_FIRED, None, bpmn_id=task.task_spec.bpmn_id or "",
                  name=task.task_spec.bpmn_name or "")
    save(instance, wf, case, None)
    return [t.task_spec.bpmn_id for t in fired]


def correlation_key(values: dict) -> str:
    """Canonical text of correlation property values, e.g. 'case_no=220102-2026-000001'."""
    return "&".join(f"{k}={values[k]}" for k in sorted(values))


def flatten_correlations(correlations: dict) -> dict:
    flat = {}
    for props in correlations.values():
        flat.update(props)
    return flat


def deliver_message(name: str, correlation: dict, payload: dict, message_id: str, sender: str,
                    actor_id: int | None = None) -> tuple[ReceivedMessage, bool]:
    """Deliver a message to the instance waiting for it. Returns (record, delivered_now).

    Idempotent per message id: a redelivery returns the first delivery's record and changes nothing.
    """
    from app.engine.models import MessageSubscription

    previous = db.session.scalar(select(ReceivedMessage).where(ReceivedMessage.message_id == message_id))
    if previous is not None:
        return previous, False
    key = correlation_key(correlation)
    sub = db.session.scalar(select(MessageSubscription).where(
        MessageSubscription.message_name == name, MessageSubscription.correlation_key == key).limit(1))
    if sub is None:
        raise Conflict(_l("No case is waiting for message %(name)s with %(key)s.", name=name, key=key))
    instance = lock_instance(sub.instance_id)
    # A concurrent delivery of the same id may have committed while we waited for the lock.
    previous = db.session.scalar(select(ReceivedMessage).where(ReceivedMessage.message_id == message_id))
    if previous is not None:
        return previous, False
    if instance.status != InstanceStatus.RUNNING:
        raise NotAllowed(_l("The case is not running and cannot receive messages now."))
    case = db.session.get(Case, instance.case_id)
    wf = load(instance)
    task = wf.get_task_from_id(UUID(sub.task_guid))
    if task is None or task.state != TaskState.WAITING:
        raise Conflict(_l("No case is waiting for message %(name)s with %(key)s.", name=name, key=key))
    definition = task.task_spec.event_definition
    payload = deepcopy(payload)
    correlations = _run(definition.calculate_correlations, wf.script_engine, definition.correlation_properties,
                        payload)
    _run(wf.send_event, BpmnEvent(definition, payload, correlations))
    _run(wf.do_engine_steps)
    record = ReceivedMessage(message_id=message_id, message_name=name, correlation_key=key,
                             instance_id=instance.id, sender=sender)
    db.session.add(record)
    add_event(case, EventKind.MESSAGE_RECEIVED, actor_id, bpmn_id=task.task_spec.bpmn_id or "",
              name=task.task_spec.bpmn_name or name, detail={"message": name, "sender": sender,
                                                             "message_id": message_id})
    audit.record("message.deliver", "case", case.case_no, actor_id=actor_id,
                 detail={"message": name, "message_id": message_id, "sender": sender})
    save(instance, wf, case, actor_id)
    return record, True


def _route_thrown_messages(instance: ProcessInstance, wf: BpmnWorkflow) -> None:
    """Messages a model throws go to whichever other instance waits for them, in this same transaction."""
    for event in wf.get_events():
        if not isinstance(event.event_definition, MessageEventDefinition):
            continue
        values = flatten_correlations(event.correlations or {})
        message_id = f"instance-{instance.id}-{now_utc().timestamp():.6f}-{event.event_definition.name}"
        deliver_message(event.event_definition.name, values, event.payload or {}, message_id,
                        sender=f"instance:{instance.id}")


def _shift_deadlines(instance: ProcessInstance, wf: BpmnWorkflow, case: Case, working_days: int) -> None:
    calendar = current_calendar()

    def shifted(at: datetime) -> datetime:
        return calendar.add_working_days(at, working_days).due_at

    if case.due_at:
        case.due_at = shifted(case.due_at)
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        value = task.internal_data.get("event_value")
        if isinstance(definition, TimerEventDefinition) and isinstance(value, str):
            task.internal_data["event_value"] = shifted(TimerEventDefinition.get_datetime(value)).isoformat()
    for row in db.session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id)):
        if row.due_at:
            row.due_at = shifted(row.due_at)


def suspend(case: Case, user, reason: str) -> None:
    instance = lock_instance(_instance_id(case))
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(_l("Only a running case can be suspended."))
    instance.status = InstanceStatus.SUSPENDED
    case.status = CaseStatus.SUSPENDED
    case.suspended_at = now_utc()
    add_event(case, EventKind.SUSPENDED, user.id, note=reason)
    audit.record("case.suspend", "case", case.case_no, actor_id=user.id, detail={"reason": reason})
    db.session.flush()


def resume(case: Case, user) -> int:
    """Resume a suspended case; every deadline moves on by the working days it was suspended."""
    instance = lock_instance(_instance_id(case))
    if instance.status != InstanceStatus.SUSPENDED:
        raise Conflict(_l("Only a suspended case can be resumed."))
    paused = current_calendar().working_days_between(case.suspended_at, now_utc())
    wf = load(instance)
    if paused:
        _shift_deadlines(instance, wf, case, paused)
    instance.status = InstanceStatus.RUNNING
    case.status = CaseStatus.RUNNING
    case.suspended_at = None
    add_event(case, EventKind.RESUMED, user.id, detail={"paused_working_days": paused})
    audit.record("case.resume", "case", case.case_no, actor_id=user.id, detail={"paused_working_days": paused})
    save(instance, wf, case, user.id)
    return paused


def withdrawable(wf: BpmnWorkflow) -> bool:
    """The model allows withdrawal while every current step carries the property allowWithdraw=true."""
    ready = wf.get_tasks(state=TaskState.READY, manual=True)
    return bool(ready) and all(
        str(t.task_spec.extensions.get("properties", {}).get("allowWithdraw", "")).lower() == "true" for t in ready
    )


def withdraw(case: Case, user, reason: str = "") -> None:
    instance = lock_instance(_instance_id(case))
    if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
        raise Conflict(_l("This case is already closed."))
    wf = load(instance)
    if not withdrawable(wf):
        raise NotAllowed(_l("The case can no longer be withdrawn at this step."))
    wf.cancel()
    instance.status = InstanceStatus.CANCELLED
    case.status = CaseStatus.WITHDRAWN
    case.closed_at = now_utc()
    case.outcome = "withdrawn"
    add_event(case, EventKind.WITHDRAWN, user.id, note=reason)
    audit.record("case.withdraw", "case", case.case_no, actor_id=user.id, detail={"reason": reason})
    save(instance, wf, case, user.id)


def _instance_id(case: Case) -> int:
    instance_id = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_id == case.id))
    if instance_id is None:
        raise Conflict(_l("This case no longer has a running process."))
    return instance_id
