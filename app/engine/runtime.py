"""Running process instances: start, complete a task, fire timers, deliver messages, suspend, resume, withdraw.

Every operation here follows one pattern: lock the instance row, load the workflow, change it, save
the state and re-derive the task, timer and subscription rows, append timeline events, flush. The
request or job that called it commits, or rolls back on any exception, so a failing script or a
crash leaves the last committed state untouched.
"""

from copy import deepcopy
from datetime import datetime, timedelta
from uuid import UUID

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import IntermediateCatchEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case, CaseEvent, CaseStatus, EventKind
from app.core import audit
from app.core.batch import execute_together, insert_row, update_rows
from app.core.clock import now_utc
from app.core.deadlines import current_calendar, deadline_after
from app.engine import derive, scripts, spiff
from app.engine.definitions import loaded_spec
from app.engine.errors import Conflict, EngineError, ModelError, NotAllowed
from app.engine.models import HumanTask, InstanceStatus, ProcessDefinition, ProcessInstance, ReceivedMessage
from app.extensions import db

_engine = None
_INSTANCES, _EVENTS = ProcessInstance.__table__, CaseEvent.__table__


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
    wf = spiff.load_state(instance.state, instance.serializer_version, loaded.spec, loaded.subprocess_specs,
                          script_engine())
    derive.snapshot(instance, wf)
    return wf


def _run(step, *args):
    """Run engine steps; a model failure becomes a ModelError the user can read, nothing saved."""
    try:
        return step(*args)
    except EngineError:  # a handler refusing with a reason the user can read (a registration rule)
        raise
    except SpiffWorkflowException as exc:
        if isinstance(exc.__cause__ or exc.__context__, EngineError):
            raise (exc.__cause__ or exc.__context__) from None
        raise ModelError(_l("The process could not continue: %(error)s", error=str(exc))) from exc
    except Exception as exc:  # scripts are Python: any exception from a model is a model failure
        raise ModelError(_l("The process could not continue: %(error)s", error=f"{type(exc).__name__}: {exc}")) from exc


def save(instance: ProcessInstance, wf: BpmnWorkflow, case: Case, actor_id: int | None, events: list[dict],
         audit_entry: tuple[str, dict] | None = None) -> None:
    """Store the state, re-derive what is read without deserializing the workflow, append the
    timeline `events` (see `event`) and the audit entry (action, detail).

    The ORM writes the case; everything else goes as plain writes, in one round trip on
    PostgreSQL, the audit entry last because appending locks the chain's head until commit."""
    state = spiff.dump_state(wf)
    # Written below by a plain UPDATE: set here without change history so the ORM does not write it too.
    set_committed_value(instance, "state", state)
    _route_thrown_messages(instance, wf)
    if wf.is_completed() and instance.status == InstanceStatus.RUNNING:
        instance.status = InstanceStatus.COMPLETED
        case.status = CaseStatus.COMPLETED
        case.closed_at = now_utc()
        case.outcome = _end_event_reached(wf)
        events = [*events, event(case, EventKind.COMPLETED, actor_id, detail={"outcome": case.outcome})]
    values = {"state": state, "serializer_version": spiff.SERIALIZER_VERSION, "status": instance.status,
              "row_version": instance.row_version + 1, "updated_at": now_utc()}
    write_state = update_rows(_INSTANCES, {"id": instance.id, "row_version": instance.row_version}, values)
    for key, value in values.items():
        set_committed_value(instance, key, value)
    db.session.flush()
    writes = [*_event_inserts(events), *derive.sync(instance, wf, case)]
    if audit_entry:
        writes += audit.prepare(audit_entry[0], "case", case.case_no, actor_id=actor_id, detail=audit_entry[1])[0]
    # The state update goes last: its row count is the one returned, and it proves the version seen.
    if execute_together([*writes, write_state]).rowcount != 1:
        raise Conflict(_l("The case was changed by someone else meanwhile; reload and try again."))


def _end_event_reached(wf: BpmnWorkflow) -> str:
    ends = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)
            and t.workflow is wf]
    if not ends:
        return ""
    return max(ends, key=lambda t: t.last_state_change).task_spec.bpmn_id or ""


def event(case: Case, kind: EventKind, actor_id: int | None, *, task: HumanTask | None = None,
          bpmn_id: str = "", name: str = "", detail: dict | None = None, note: str = "") -> dict:
    """A timeline entry, written with the operation's other writes (`save` or `record_change`)."""
    return {"case_id": case.id, "kind": kind, "actor_id": actor_id, "task_bpmn_id": task.bpmn_id if task else bpmn_id,
            "task_name": task.name if task else name, "org_unit_id": task.candidate_org_id if task else None,
            "detail": detail or {}, "note": note}


def _event_inserts(events: list[dict]) -> list:
    # Statements sent together run in no guaranteed order, so ids may not follow the events' order;
    # a microsecond apart, their times do (the timeline sorts by time, then id).
    now = now_utc()
    return [insert_row(_EVENTS, {**row, "at": now + timedelta(microseconds=i)}) for i, row in enumerate(events)]


def record_change(case: Case, actor_id: int | None, events: list[dict], action: str, detail: dict) -> None:
    """Append timeline events and an audit entry, for a change that does not save the workflow."""
    execute_together([*_event_inserts(events),
                      *audit.prepare(action, "case", case.case_no, actor_id=actor_id, detail=detail)[0]])


def start(case: Case, definition: ProcessDefinition, data: dict, actor_id: int | None, events: list[dict] = (),
          audit_detail: dict | None = None) -> ProcessInstance:
    """Start the case's process; `events` and `audit_detail` (what was submitted with it) are saved
    with its first state."""
    loaded = loaded_spec(definition)
    wf = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=script_engine())
    initial = {"case_no": case.case_no, "service_code": case.service_code, **deepcopy(data)}
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**initial)
    # The instance row exists before the first steps run: handlers they call may look for it.
    instance = ProcessInstance(case_id=case.id, definition_id=definition.id, definition=definition,
                               state="", serializer_version=spiff.SERIALIZER_VERSION)
    db.session.add(instance)
    db.session.flush()
    with scripts.acting(actor_id) as emitted:
        _run(wf.do_engine_steps)
    derive.new_instance(wf)
    version = {"process": definition.process_id, "version": definition.version}
    save(instance, wf, case, actor_id, [event(case, EventKind.SUBMITTED, actor_id, detail=version), *events,
                                        *emitted], ("case.start", {**version, **(audit_detail or {})}))
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
        select(ProcessInstance, HumanTask, Case).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .join(Case, Case.id == ProcessInstance.case_id)
        .where(HumanTask.id == task_id).with_for_update(of=[ProcessInstance, HumanTask])
        .options(joinedload(ProcessInstance.definition, innerjoin=True))
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise Conflict(_l("This task has already been completed or has moved on."))
    instance, task_row, case = row
    if instance.status == InstanceStatus.SUSPENDED:
        raise NotAllowed(_l("The case is suspended; resume it before completing tasks."))
    if not can_work_on(user, task_row):
        if task_row.assignee_id not in (None, user.id):
            raise Conflict(_l("%(name)s has claimed this task.", name=task_row.assignee.display_name))
        raise NotAllowed(_l("You may not complete this task."))
    wf = load(instance)
    task = ready_task(wf, task_row.task_guid)
    task.set_data(**deepcopy(data))
    with scripts.acting(user.id) as emitted:
        _run(task.run)
        _run(wf.do_engine_steps)
    decision = data.get("decision", "")
    kind = EventKind.SENT_BACK if decision == "send_back" else EventKind.TASK_COMPLETED
    save(instance, wf, case, user.id, [event(case, kind, user.id, task=task_row, detail={"decision": decision},
                                             note=note), *emitted],
         ("task.complete", {"task": task_row.bpmn_id, "decision": decision}))
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
    save(instance, wf, case, None, [event(case, EventKind.TIMER_FIRED, None, bpmn_id=t.task_spec.bpmn_id or "",
                                          name=t.task_spec.bpmn_name or "") for t in fired])
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
    with scripts.acting(actor_id) as emitted:
        _run(wf.send_event, BpmnEvent(definition, payload, correlations))
        _run(wf.do_engine_steps)
    record = ReceivedMessage(message_id=message_id, message_name=name, correlation_key=key,
                             instance_id=instance.id, sender=sender)
    db.session.add(record)
    detail = {"message": name, "message_id": message_id, "sender": sender}
    save(instance, wf, case, actor_id, [event(case, EventKind.MESSAGE_RECEIVED, actor_id,
                                              bpmn_id=task.task_spec.bpmn_id or "",
                                              name=task.task_spec.bpmn_name or name, detail=detail), *emitted],
         ("message.deliver", detail))
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
    db.session.flush()
    record_change(case, user.id, [event(case, EventKind.SUSPENDED, user.id, note=reason)], "case.suspend",
                  {"reason": reason})


def resume(case: Case, user) -> int:
    """Resume a suspended case; every deadline moves on by the working days it was suspended."""
    instance = lock_instance(_instance_id(case))
    if instance.status != InstanceStatus.SUSPENDED:
        raise Conflict(_l("Only a suspended case can be resumed."))
    paused = current_calendar().working_days_between(case.suspended_at, now_utc())
    wf = load(instance)
    if paused:
        _shift_deadlines(instance, wf, case, paused)
    case.paused_days += paused  # the clock stood still: not time the bureau took
    instance.status = InstanceStatus.RUNNING
    case.status = CaseStatus.RUNNING
    case.suspended_at = None
    detail = {"paused_working_days": paused}
    save(instance, wf, case, user.id, [event(case, EventKind.RESUMED, user.id, detail=detail)],
         ("case.resume", detail))
    return paused


def withdrawable(wf: BpmnWorkflow) -> bool:
    """The model allows withdrawal while every current step carries the property allowWithdraw=true.
    Current steps are the ready user tasks and the events the case waits at (a party's confirmation,
    the applicant's corrections, the tax bureau's result); boundary timers are not steps."""
    current = [*wf.get_tasks(state=TaskState.READY, manual=True),
               *(t for t in wf.get_tasks(state=TaskState.WAITING) if isinstance(t.task_spec, IntermediateCatchEvent))]
    return bool(current) and all(
        str(getattr(t.task_spec, "extensions", {}).get("properties", {}).get("allowWithdraw", "")).lower() == "true"
        for t in current
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
    save(instance, wf, case, user.id, [event(case, EventKind.WITHDRAWN, user.id, note=reason)],
         ("case.withdraw", {"reason": reason}))


def _instance_id(case: Case) -> int:
    instance_id = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.case_id == case.id))
    if instance_id is None:
        raise Conflict(_l("This case no longer has a running process."))
    return instance_id
