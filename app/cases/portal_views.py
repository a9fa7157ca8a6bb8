"""The applicants' portal (互联网申报): the service guide, online applications with drafts, joint
parties' confirmation and online corrections. Staff may read the guide; only applicants apply."""

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.cases import corrections, drafts, operations, parties
from app.cases.models import Case, Service
from app.cases.uploads import UploadError, inspect
from app.engine.errors import EngineError
from app.extensions import db
from app.orgs.permissions import can_view_case
from app.register import applications
from forms.applications import APPLICATION_FORMS
from forms.uploads import checked_uploads

bp = Blueprint("portal", __name__)


def _applicant_only():
    if current_user.is_staff:
        abort(403)


def _online_service(code: str) -> Service:
    service = db.session.get(Service, code)
    if service is None or not service.active or service.form_key not in APPLICATION_FORMS:
        abort(404)
    return service


@bp.route("/services")
def services():
    rows = db.session.scalars(select(Service).where(Service.active.is_(True), Service.form_key != "")
                              .order_by(Service.family, Service.code)).all()
    return render_template("portal/services.html", services=rows, online=APPLICATION_FORMS)


@bp.route("/services/<code>")
def guide(code: str):
    return render_template("portal/guide.html", service=_online_service(code))


@bp.route("/services/<code>/apply", methods=["GET", "POST"])
@login_required
def apply(code: str):
    _applicant_only()
    service = _online_service(code)
    draft = drafts.own(current_user, request.values.get("draft") or request.form.get("draft_id"))
    if draft is not None and draft.service_code != service.code:
        abort(404)
    form_class = APPLICATION_FORMS[service.form_key]
    form = form_class(data=draft.data if draft else None) if request.method == "GET" else form_class()
    form.office.choices = operations.township_choices()
    if request.method == "GET":
        form.submission_key.data = str(uuid.uuid4())
        form.draft_id.data = draft.id if draft else ""
    for field in form.material_fields():  # a file kept with the draft counts as attached
        field.required = field.required and not (draft and field.code in draft.files)
    previous = request.method == "POST" and operations.already_submitted(current_user, form.submission_key.data or "")
    if previous:
        flash(_("This application was already submitted as %(no)s.", no=previous.case_no), "info")
        return redirect(url_for("cases.case_page", case_id=previous.id))
    if request.method == "POST" and form.save_draft.data:
        return _save_draft(service, form, draft)
    refusal = None
    if form.validate_on_submit():
        try:
            case = applications.submit(current_user, service, form.to_application(),
                                       {**drafts.uploads(draft), **checked_uploads(form)},
                                       form.submission_key.data, draft=draft)
            case_no, case_id = case.case_no, case.id  # read before the commit expires them
            db.session.commit()
        except applications.ApplicationRefused as exc:
            db.session.rollback()
            refusal = exc.reasons
        except EngineError as exc:
            db.session.rollback()
            refusal = [str(exc)]
        except IntegrityError:  # the same form posted twice at once: the other request made the case
            db.session.rollback()
            previous = operations.already_submitted(current_user, form.submission_key.data) or abort(409)
            flash(_("This application was already submitted as %(no)s.", no=previous.case_no), "info")
            return redirect(url_for("cases.case_page", case_id=previous.id))
        else:
            flash(_("Application %(no)s submitted.", no=case_no), "success")
            return redirect(url_for("cases.case_page", case_id=case_id))
    status = 422 if request.method == "POST" else 200
    return render_template("portal/apply.html", service=service, form=form, draft=draft, refusal=refusal), status


def _checked_files(files: dict) -> tuple[dict, list[str]]:
    """{code: (label, FileStorage or None)} -> the files that pass the content checks, and a message
    naming each one that does not; empty file inputs are skipped."""
    limit = current_app.config["MAX_MATERIAL_BYTES"]
    uploads, problems = {}, []
    for code, (label, data) in files.items():
        if data is None or not getattr(data, "filename", ""):
            continue
        try:
            uploads[code] = inspect(data.filename, data.stream.read(limit + 1), limit)
        except UploadError as exc:
            problems.append(f"{label}: {exc}")
    return uploads, problems


def _save_draft(service: Service, form, draft):
    """Keep what was typed, and every file that passes the content checks; report the others."""
    uploads, problems = _checked_files({f.code: (f.label.text, f.data) for f in form.material_fields()})
    draft = drafts.save(current_user, service, form, draft, uploads)
    for problem in problems:
        flash(problem, "error")
    flash(_("Draft saved. You can come back to it from My applications."), "success")
    return redirect(url_for("portal.apply", code=service.code, draft=draft.id))


@bp.route("/my/drafts/<int:draft_id>/delete", methods=["POST"])
@login_required
def delete_draft(draft_id: int):
    _applicant_only()
    draft = drafts.own(current_user, draft_id) or abort(404)
    db.session.delete(draft)
    flash(_("Draft deleted."), "success")
    return redirect(url_for("cases.my_cases"))


def _party_case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None or current_user.is_staff or not can_view_case(current_user, case):
        abort(404)
    return case


@bp.route("/cases/<int:case_id>/confirm", methods=["POST"])
@login_required
def confirm(case_id: int):
    case = _party_case(case_id)
    try:
        done = parties.confirm(case, current_user)
    except EngineError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.case_page", case_id=case.id))
    flash(_("Confirmed. Every party has confirmed: the application goes to the clerk.") if done
          else _("Confirmed. The application waits for the other parties."), "success")
    return redirect(url_for("cases.case_page", case_id=case.id))


@bp.route("/cases/<int:case_id>/correction", methods=["POST"])
@login_required
def fix_correction(case_id: int):
    case = _party_case(case_id)
    if case.applicant_id != current_user.id:
        abort(403)
    correction = corrections.open_correction(case)
    if correction is None:
        flash(_("There is no correction waiting for this case."), "info")
        return redirect(url_for("cases.case_page", case_id=case.id))
    uploads, problems = _checked_files({code: (case.service.material(code)["name"], request.files.get(f"file_{code}"))
                                        for code in correction.items})
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("cases.case_page", case_id=case.id))
    try:
        corrections.fix(case, current_user, uploads)
    except EngineError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("cases.case_page", case_id=case.id))
    flash(_("Corrections sent. The case goes back to the clerk; its deadline moved by the days it waited."),
          "success")
    return redirect(url_for("cases.case_page", case_id=case.id))
