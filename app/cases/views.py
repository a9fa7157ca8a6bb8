"""Clerk workbench, task pages and case pages; applicants' own case list."""

import io
import uuid
from datetime import datetime, time

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from SpiffWorkflow.util.task import TaskState

from app.cases import corrections, documents, materials, operations, progress, queues, visits
from app.cases.models import Case, CaseDocument, CaseEvent, CaseStatus, Channel, Material, Service, VisitPurpose
from app.core import outbox
from app.core.models import OutboxMessage
from app.core import audit
from app.core.clock import LOCAL, now_utc
from app.engine import runtime, tasks
from app.engine.errors import EngineError
from app.engine.models import HumanTask, ProcessInstance
from app.extensions import db
from app.orgs.models import OrgUnit, Tier
from app.register import applications
from app.orgs.permissions import (
    can_reassign,
    can_supervise_case,
    can_view_case,
    can_work_on,
    eligible_assignees,
    scope_unit_ids,
)
from forms.common import DemoApplicationForm
from forms.uploads import checked_uploads
from forms.registry import form_for

bp = Blueprint("cases", __name__)


def _staff_only():
    if not current_user.is_staff:
        abort(403)


def _visible_case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or not can_view_case(current_user, case):
        abort(404)  # a case outside one's jurisdiction does not exist as far as the user can tell
    return case


def _visible_task(task_id: int) -> HumanTask:
    """The task, or None when it is finished. A posted form names the task it was shown for: on SQLite
    a finished task's id can be given to the next task, which a resent form must not act on."""
    task = db.session.get(HumanTask, task_id)
    if task is None:
        return None
    posted = request.form.get("task_guid") if request.method == "POST" else None
    if posted is not None and posted != task.task_guid:
        return None
    case = db.session.get(Case, task.case_id)
    if not can_view_case(current_user, case) or not current_user.is_staff:
        abort(404)
    return task


def _failed(exc: EngineError, target: str):
    db.session.rollback()
    flash(str(exc), "error")
    return redirect(target)


@bp.route("/workbench")
@login_required
def workbench():
    _staff_only()
    args = request.args
    due_before = None
    if args.get("due_before"):
        try:
            day = datetime.strptime(args["due_before"], "%Y-%m-%d").date()
            due_before = datetime.combine(day, time.min, LOCAL)
        except ValueError:
            flash(_("The due date filter must be a date like 2026-12-31."), "error")
    now = now_utc()
    soon_days = current_app.config["DUE_SOON_WORKING_DAYS"]
    counts = queues.counts(current_user, now=now, soon_days=soon_days)
    # Open on the clerk's own claimed work when there is any, else on what waits to be claimed.
    view = args.get("view") if args.get("view") in queues.VIEWS else ("mine" if counts["mine"] else "unclaimed")
    try:
        office = int(args.get("office") or 0) or None
    except ValueError:
        office = None
    f = queues.QueueFilter(view=view, service=args.get("service", ""), tier=args.get("tier", ""), office=office,
                           due_before=due_before, sort=args.get("sort", "due"), after=args.get("after", ""))
    result = queues.page(current_user, f, current_app.config["QUEUE_PAGE_SIZE"], now=now, soon_days=soon_days)
    soon = queues.due_soon_threshold(now, soon_days)
    offices = db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(sorted(scope_unit_ids(current_user))))
                                 .order_by(OrgUnit.code)).all()
    return render_template(
        "cases/workbench.html", f=f, result=result, counts=counts,
        services=db.session.scalars(select(Service).order_by(Service.code)).all(), offices=offices, tiers=list(Tier),
        due_state=lambda d: queues.due_state(d, now, soon), views=queues.VIEWS,
    )


@bp.route("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int):
    _staff_only()
    task = _visible_task(task_id)
    if task is None:
        flash(_("This task has already been completed or has moved on."), "info")
        return redirect(url_for("cases.workbench"))
    case = db.session.get(Case, task.case_id)
    form = _task_form(task, case) if can_work_on(current_user, task) else None
    return _render_task(task, case, form)


def _task_form(task: HumanTask, case: Case):
    form = form_for(task.form_key)(prefix="task")
    if hasattr(form, "bind"):  # choices that depend on the case (the service's materials)
        form.bind(case)
    return form


def _render_task(task: HumanTask, case: Case, form):
    audit.record("case.view", "case", case.case_no, actor_id=current_user.id, ip=request.remote_addr or "",
                 detail={"via": "task", "task": task.bpmn_id})
    now = now_utc()
    soon = queues.due_soon_threshold(now, current_app.config["DUE_SOON_WORKING_DAYS"])
    return render_template(
        "cases/task.html", task=task, case=case, form=form, diagram=_diagram(case, _workflow(case)),
        events=_events(case), checklist=materials.checklist(case), **_registration(case),
        due=queues.due_state(task.due_at, now, soon), may_work=can_work_on(current_user, task),
        may_reassign=can_reassign(current_user, task),
        assignees=eligible_assignees(task) if can_reassign(current_user, task) else [],
    )


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@login_required
def complete(task_id: int):
    _staff_only()
    task = _visible_task(task_id)
    if task is None:
        flash(_("This task has already been completed or has moved on."), "info")
        return redirect(url_for("cases.workbench"))
    case = db.session.get(Case, task.case_id)
    form = _task_form(task, case)
    if not form.validate_on_submit():
        return _render_task(task, case, form), 422
    data = {k: v for k, v in form.data.items() if k != "csrf_token"}
    try:
        runtime.complete_task(task.id, current_user, data, note=data.get("opinion") or "")
    except EngineError as exc:
        return _failed(exc, url_for("cases.task_page", task_id=task_id))
    flash(_("Task completed."), "success")
    return redirect(url_for("cases.workbench"))


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@login_required
def claim(task_id: int):
    _staff_only()
    task = _visible_task(task_id) or abort(404)
    try:
        tasks.claim(task.id, current_user)
    except EngineError as exc:
        return _failed(exc, url_for("cases.workbench"))
    flash(_("Task claimed."), "success")
    return redirect(url_for("cases.task_page", task_id=task_id))


@bp.route("/tasks/<int:task_id>/unclaim", methods=["POST"])
@login_required
def unclaim(task_id: int):
    _staff_only()
    task = _visible_task(task_id) or abort(404)
    try:
        tasks.unclaim(task.id, current_user)
    except EngineError as exc:
        return _failed(exc, url_for("cases.task_page", task_id=task_id))
    flash(_("Task released to the queue."), "success")
    return redirect(url_for("cases.workbench"))


@bp.route("/tasks/<int:task_id>/reassign", methods=["POST"])
@login_required
def reassign(task_id: int):
    _staff_only()
    task = _visible_task(task_id) or abort(404)
    try:
        assignee_id = int(request.form.get("assignee_id", ""))
    except ValueError:
        flash(_("Choose whom to assign the task to."), "error")
        return redirect(url_for("cases.task_page", task_id=task_id))
    try:
        tasks.reassign(task.id, current_user, assignee_id)
    except EngineError as exc:
        return _failed(exc, url_for("cases.task_page", task_id=task_id))
    flash(_("Task reassigned."), "success")
    return redirect(url_for("cases.task_page", task_id=task_id))


def _events(case: Case) -> list[CaseEvent]:
    return db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.at, CaseEvent.id)).all()


def _workflow(case: Case):
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id))
    return runtime.load(instance) if instance is not None else None


def _diagram(case: Case, wf) -> dict:
    """Element ids to mark on the drawn model: steps completed and steps current."""
    if wf is None:
        return {}
    completed, current = set(), set()
    for t in wf.get_tasks():
        bpmn_id = t.task_spec.bpmn_id
        if not bpmn_id:
            continue
        if t.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif t.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            current.add(bpmn_id)
    return {"url": url_for("cases.diagram_xml", case_id=case.id), "completed": sorted(completed - current),
            "current": sorted(current)}


@bp.route("/cases/<int:case_id>")
@login_required
def case_page(case_id: int):
    case = _visible_case(case_id)
    audit.record("case.view", "case", case.case_no, actor_id=current_user.id, ip=request.remote_addr or "")
    open_tasks = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    wf = _workflow(case)
    may_withdraw = (
        wf is not None and case.applicant_id == current_user.id and case.status != CaseStatus.WITHDRAWN
        and case.closed_at is None and runtime.withdrawable(wf)
    )
    return render_template("cases/case.html", case=case, events=_events(case), diagram=_diagram(case, wf),
                           checklist=materials.checklist(case),
                           open_tasks=open_tasks, may_supervise=can_supervise_case(current_user, case),
                           may_withdraw=may_withdraw, progress=progress.of(case), **_registration(case))


def _registration(case: Case) -> dict:
    """What the registration panels show: parties, corrections, visits, rule findings and messages to
    other agencies (the last two for staff only)."""
    from app.register import rules

    from app.certificates.views import for_case as certificates_of

    found = {"parties": applications.parties(case), "corrections": corrections.history(case),
             "documents": documents.for_case(case), "certificates": certificates_of(case),
             "open_correction": corrections.open_correction(case), "visits": visits.of(case),
             "findings": [], "outbox": [], "application": case.applicant_data.get("application", {})}
    if current_user.is_staff:
        found["outbox"] = outbox.for_case(case.id)
        if case.closed_at is None:
            found["findings"] = rules.for_case(case)
    mine = [p for p in found["parties"] if current_user.id_number and p.id_number == current_user.id_number]
    found["may_confirm"] = case.closed_at is None and any(p.confirmed_at is None for p in mine)
    found["may_log_visit"] = current_user.is_staff and case.closed_at is None
    return found


@bp.route("/cases/<int:case_id>/diagram.bpmn")
@login_required
def diagram_xml(case_id: int):
    case = _visible_case(case_id)
    instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.case_id == case.id)) or abort(404)
    return instance.definition.bpmn_xml, 200, {"Content-Type": "application/xml; charset=utf-8"}


@bp.route("/cases/<int:case_id>/materials/<int:material_id>")
@login_required
def material_file(case_id: int, material_id: int):
    """A material's file, for those who may see the case; every read is in the audit log."""
    case = _visible_case(case_id)
    return _stored_file(case, db.session.get(Material, material_id), "material.view", "material")


def _stored_file(case: Case, stored, action: str, kind: str):
    """A file kept with the case (a material or a notice), for those who may see the case; every read
    is in the audit log. Served as a download, never rendered in our origin."""
    if stored is None or stored.case_id != case.id:
        abort(404)
    data = materials.read(stored)
    audit.record(action, "case", case.case_no, actor_id=current_user.id, ip=request.remote_addr or "",
                 detail={kind: stored.id, "sha256": stored.sha256})
    return send_file(io.BytesIO(data), mimetype=stored.content_type, as_attachment=True,
                     download_name=stored.filename, etag=stored.sha256, max_age=0)


@bp.route("/cases/<int:case_id>/suspend", methods=["POST"])
@login_required
def suspend(case_id: int):
    case = _visible_case(case_id)
    if not can_supervise_case(current_user, case):
        abort(403)
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        flash(_("Give the reason for suspending the case."), "error")
        return redirect(url_for("cases.case_page", case_id=case_id))
    try:
        runtime.suspend(case, current_user, reason)
    except EngineError as exc:
        return _failed(exc, url_for("cases.case_page", case_id=case_id))
    flash(_("Case suspended; its deadlines are paused."), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.route("/cases/<int:case_id>/resume", methods=["POST"])
@login_required
def resume(case_id: int):
    case = _visible_case(case_id)
    if not can_supervise_case(current_user, case):
        abort(403)
    try:
        paused = runtime.resume(case, current_user)
    except EngineError as exc:
        return _failed(exc, url_for("cases.case_page", case_id=case_id))
    flash(_("Case resumed; deadlines moved by %(days)d working days.", days=paused), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.route("/cases/<int:case_id>/withdraw", methods=["POST"])
@login_required
def withdraw(case_id: int):
    case = _visible_case(case_id)
    if case.applicant_id != current_user.id:
        abort(403)
    try:
        runtime.withdraw(case, current_user, (request.form.get("reason") or "").strip()[:500])
    except EngineError as exc:
        return _failed(exc, url_for("cases.case_page", case_id=case_id))
    flash(_("Your application has been withdrawn."), "success")
    return redirect(url_for("cases.my_cases"))


@bp.route("/my/cases")
@login_required
def my_cases():
    from app.cases import drafts, parties

    if current_user.is_staff:
        return redirect(url_for("cases.workbench"))
    cases = db.session.scalars(select(Case).where(Case.applicant_id == current_user.id)
                               .order_by(Case.id.desc())).all()
    to_confirm = {p.case_id: db.session.get(Case, p.case_id) for p in parties.awaiting(current_user)}
    return render_template("cases/my_cases.html", cases=cases, progress=progress.of_many(cases),
                           drafts=drafts.of(current_user), to_confirm=list(to_confirm.values()))


@bp.route("/my/cases/new", methods=["GET", "POST"])
@login_required
def new_case():
    if current_user.is_staff:
        abort(403)
    form = DemoApplicationForm()
    form.township.choices = operations.township_choices()
    if request.method == "GET":
        form.submission_key.data = str(uuid.uuid4())
    previous = form.submission_key.data and operations.already_submitted(current_user, form.submission_key.data)
    if request.method == "POST" and previous:
        flash(_("This application was already submitted as %(no)s.", no=previous.case_no), "info")
        return redirect(url_for("cases.case_page", case_id=previous.id))
    if form.validate_on_submit():
        try:
            case = operations.submit_demo_application(current_user, form.data, checked_uploads(form))
        except EngineError as exc:
            return _failed(exc, url_for("cases.new_case"))
        except IntegrityError:  # the same form posted twice at once: the other request made the case
            db.session.rollback()
            previous = operations.already_submitted(current_user, form.submission_key.data) or abort(409)
            flash(_("This application was already submitted as %(no)s.", no=previous.case_no), "info")
            return redirect(url_for("cases.case_page", case_id=previous.id))
        flash(_("Application %(no)s submitted.", no=case.case_no), "success")
        return redirect(url_for("cases.case_page", case_id=case.id))
    return render_template("cases/new_case.html", form=form)


@bp.route("/cases/<int:case_id>/visits", methods=["POST"])
@login_required
def log_visit(case_id: int):
    """A clerk records a step the applicant did: at the window (a trip), by post or online."""
    _staff_only()
    case = _visible_case(case_id)
    try:
        purpose, channel = VisitPurpose(request.form.get("purpose", "")), Channel(request.form.get("channel", ""))
    except ValueError:
        flash(_("Choose what the applicant did and how."), "error")
        return redirect(url_for("cases.case_page", case_id=case_id))
    try:
        visits.record(case, purpose, channel, current_user)
    except EngineError as exc:
        return _failed(exc, url_for("cases.case_page", case_id=case_id))
    flash(_("Visit recorded."), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.route("/cases/<int:case_id>/outbox/<int:message_id>/retry", methods=["POST"])
@login_required
def retry_outbox(case_id: int, message_id: int):
    """Send a message to another agency again after it failed every automatic attempt."""
    _staff_only()
    case = _visible_case(case_id)
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.case_id != case.id:
        abort(404)
    if message.state != "failed":
        flash(_("Only a message that failed can be sent again."), "error")
        return redirect(url_for("cases.case_page", case_id=case_id))
    outbox.retry(message)
    audit.record("outbox.retry", "case", case.case_no, actor_id=current_user.id, ip=request.remote_addr or "",
                 detail={"message_id": message.message_id})
    flash(_("The message will be sent again shortly."), "success")
    return redirect(url_for("cases.case_page", case_id=case_id))


@bp.route("/cases/<int:case_id>/documents/<int:document_id>")
@login_required
def document_file(case_id: int, document_id: int):
    """A notice the bureau produced for the case, as the Word file it was issued as; every read is logged."""
    case = _visible_case(case_id)
    return _stored_file(case, db.session.get(CaseDocument, document_id), "document.view", "document")
