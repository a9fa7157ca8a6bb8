"""The archivists' pages (数字档案室): the intake queue and filing batches, the catalogue, a record with
its files, checks, audits and legal hold, access requests, and cases sent back to their offices.

Archivists work on the records of their jurisdiction (`access.archivist_scope`); other staff find
records of theirs in the catalogue and read files only through an approved request. Every file or
package handed out is logged with who and why, and checked against its recorded SHA-256 first.
"""

import hashlib
import io
import logging
from pathlib import PurePosixPath

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import and_, func, or_, select

from app.cases.materials import object_store
from app.cases.models import Case, CaseDocument, Material, Service
from app.certificates.models import Certificate
from app.core.clock import now_utc
from app.extensions import db
from app.orgs.permissions import descendants_and_self, scope_unit_ids
from app.records import access, auditing, checking, filing, locking
from app.records.catalogue import Filters, search
from app.records.models import (
    AccessRequest,
    AccessState,
    ArchiveEvent,
    ArchiveFile,
    ArchiveRecord,
    ArchiveReturn,
    CheckReport,
    FilingBatch,
    FilingItem,
    FixityResult,
    FixityRun,
    ItemState,
)
from archive import codes
from archive.checks import ITEMS, Report
from archive.package import PackageError, Problem, read_package

log = logging.getLogger(__name__)
bp = Blueprint("records", __name__, url_prefix="/records")

TEXT_MAX = 1000  # a reason, purpose or note
BATCH_MAX = 500  # cases filed in one batch

RETENTION = {"Y": _l("Permanent"), "D30": _l("30 years"), "D10": _l("10 years")}
PROPERTIES = {"authenticity": _l("Authenticity"), "integrity": _l("Integrity"), "usability": _l("Usability"),
              "security": _l("Security")}
STAGES = {"GD": _l("At filing (GD)"), "BC": _l("Long-term preservation (BC)")}
RESULTS = {"pass": _l("Passed"), "fail": _l("Failed"), "skipped": _l("Skipped")}
ITEM_STATES = {"pending": _l("Waiting"), "filed": _l("Filed"), "failed": _l("Failed")}
ACCESS_STATES = {"pending": _l("Waiting for an archivist"), "approved": _l("Approved"), "refused": _l("Refused"),
                 "expired": _l("Expired")}
FILE_KINDS = {"material": _l("Application material"), "document": _l("Notice or document"),
              "certificate": _l("Signed certificate")}
# Short names of the formats a package holds (archive.checks.DEFAULT_FORMATS); others show their media type.
FORMATS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF",
           "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX", "application/ofd": "OFD"}
TRIGGERS = {"schedule": _l("Scheduled"), "cli": _l("Command line"), "user": _l("Asked for by an archivist")}
ARCHIVE_EVENTS = {
    "filed": _l("Filed"), "checked": _l("Four-property check"), "downloaded": _l("File handed out"),
    "exported": _l("Exported"), "locked": _l("Object lock applied"), "hold_on": _l("Legal hold placed"),
    "hold_off": _l("Legal hold lifted"), "access_requested": _l("Access requested"),
    "access_approved": _l("Access approved"), "access_refused": _l("Access refused"),
    "fixity_failed": _l("Fixity audit failed"), "returned": _l("Sent back to the office"),
    "resubmitted": _l("Resubmitted by the office"),
}


@bp.context_processor
def _labels():
    return {"RETENTION": RETENTION, "PROPERTIES": PROPERTIES, "STAGES": STAGES, "RESULTS": RESULTS,
            "ITEM_STATES": ITEM_STATES, "ACCESS_STATES": ACCESS_STATES, "FILE_KINDS": FILE_KINDS,
            "TRIGGERS": TRIGGERS, "ARCHIVE_EVENTS": ARCHIVE_EVENTS, "FORMATS": FORMATS, "english": _english()}


@bp.app_context_processor
def _shared_helpers():
    return {"archive_record_of": archive_record_of, "archive_returns_waiting": archive_returns_waiting}


def archive_returns_waiting() -> int:
    """How many closed cases the archivists sent back to the current user's offices (for the menu)."""
    if not current_user.is_authenticated or not current_user.is_staff:
        return 0
    offices: set[int] = set()
    for r in current_user.roles:
        if r.role in access.OFFICE_ROLES:
            offices |= descendants_and_self(r.org_unit_id)
    return _count(filing.open_returns(offices)) if offices else 0


def archive_record_of(case: Case) -> ArchiveRecord | None:
    """The record a case was filed as, when the current user may see it (for the case page)."""
    if case.closed_at is None or not current_user.is_authenticated or not current_user.is_staff:
        return None
    record = db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.case_id == case.id))
    return record if record is not None and access.may_see_record(current_user, record) else None


def _english() -> bool:
    return str(get_locale()) == "en"


# Who may use what ------------------------------------------------------------------------------

def _staff() -> None:
    if not current_user.is_staff:
        abort(403)


def _archivist() -> set[int]:
    """The archivist's scope; 403 for anyone who is not an archivist."""
    _staff()
    scope = access.archivist_scope(current_user)
    if not scope:
        abort(403)
    return scope


def _office() -> None:
    """Pages for the offices that handle cases (where returned cases go)."""
    _staff()
    if not any(r.role in access.OFFICE_ROLES for r in current_user.roles):
        abort(403)


def _record(record_id: int) -> ArchiveRecord:
    """A record the user may see; one outside their jurisdiction does not exist for them."""
    _staff()
    record = db.session.get(ArchiveRecord, record_id)
    if record is None or not access.may_see_record(current_user, record):
        abort(404)
    return record


def _managed(record_id: int) -> ArchiveRecord:
    record = _record(record_id)
    if not access.may_manage(current_user, record):
        abort(403)
    return record


def _text(field: str, missing: str | None) -> str | None:
    """The posted FIELD, trimmed; None (after flashing why) when it is required and empty, or too long.
    MISSING is the message for an empty field, or None when the field is optional."""
    text = (request.form.get(field) or "").strip()
    if missing is not None and not text:
        flash(missing, "error")
        return None
    if len(text) > TEXT_MAX:
        flash(_("Keep it to %(n)d characters or fewer.", n=TEXT_MAX), "error")
        return None
    return text


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def _record_url(record: ArchiveRecord):
    return redirect(url_for("records.record_page", record_id=record.id))


# Intake and batches ----------------------------------------------------------------------------

def _file_counts(case_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = {case_id: {"materials": 0, "documents": 0, "certificates": 0} for case_id in case_ids}
    if not case_ids:
        return counts
    for name, model in (("materials", Material), ("documents", CaseDocument), ("certificates", Certificate)):
        rows = db.session.execute(select(model.case_id, func.count()).where(model.case_id.in_(case_ids))
                                  .group_by(model.case_id))
        for case_id, n in rows:
            counts[case_id][name] = n
    return counts


@bp.route("/intake")
@login_required
def intake():
    """Closed cases of the archivist's jurisdiction waiting to be filed, oldest first."""
    scope = _archivist()
    size = current_app.config["QUEUE_PAGE_SIZE"]
    page = _page()
    query = filing.intake_query(scope)
    total = _count(query)
    cases = db.session.scalars(query.offset((page - 1) * size).limit(size)).all()
    batches = db.session.scalars(select(FilingBatch).where(FilingBatch.created_by_id == current_user.id)
                                 .order_by(FilingBatch.id.desc()).limit(10)).all()
    return render_template("records/intake.html", cases=cases, counts=_file_counts([c.id for c in cases]),
                           total=total, page=page, pages=-(-total // size), batches=batches)


@bp.route("/intake/file", methods=["POST"])
@login_required
def file_cases():
    """Queue the chosen cases for filing in the background; the batch page follows their progress."""
    scope = _archivist()
    chosen = request.form.getlist("case_id")
    if not chosen:
        flash(_("Choose the cases to file."), "error")
        return redirect(url_for("records.intake"))
    if not all(value.isdigit() for value in chosen) or len(set(chosen)) > BATCH_MAX:
        flash(_("The cases chosen could not be read; choose at most %(n)d cases.", n=BATCH_MAX), "error")
        return redirect(url_for("records.intake"))
    ids = {int(value) for value in chosen}
    cases = db.session.scalars(filing.intake_query(scope).where(Case.id.in_(ids))).all()
    if len(cases) != len(ids):
        flash(_("Some of the chosen cases are not waiting to be filed in your jurisdiction. Nothing was queued."),
              "error")
        return redirect(url_for("records.intake"))
    batch = filing.start_batch(cases, current_user)
    flash(_("Cases queued for filing: %(n)d.", n=len(cases)), "success")
    return redirect(url_for("records.batch_page", batch_id=batch.id))


@bp.route("/intake/<int:case_id>/return", methods=["POST"])
@login_required
def send_back(case_id: int):
    """Send a closed case back to its office before filing, with the archivist's reason."""
    scope = _archivist()
    case = db.session.get(Case, case_id)
    if case is None or case.jurisdiction_id not in scope:
        abort(404)
    reason = _text("reason", _("Say what the office must put right."))
    if reason is None:
        return redirect(url_for("records.intake"))
    queued = db.session.scalar(select(FilingItem.id).where(FilingItem.case_id == case.id,
                                                           FilingItem.state == ItemState.PENDING).limit(1))
    if queued is not None:
        flash(_("This case is being filed in a batch and cannot be sent back now."), "error")
        return redirect(url_for("records.intake"))
    try:
        filing.send_back(case, current_user, reason)
    except filing.FilingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("records.intake"))
    flash(_("Case %(case_no)s sent back to its office.", case_no=case.case_no), "success")
    return redirect(url_for("records.intake"))


def _visible_batch(batch_id: int) -> FilingBatch:
    scope = _archivist()
    batch = db.session.get(FilingBatch, batch_id)
    if batch is None:
        abort(404)
    outside = db.session.scalar(select(func.count()).select_from(FilingItem).join(Case, Case.id == FilingItem.case_id)
                                .where(FilingItem.batch_id == batch.id, Case.jurisdiction_id.not_in(scope)))
    if outside:
        abort(404)
    return batch


def _batch_state(batch: FilingBatch) -> dict:
    state = filing.batch_state(batch)
    for item, row in zip(state["items"], batch.items, strict=True):
        item["case_url"] = url_for("cases.case_page", case_id=row.case_id)
        item["record_url"] = url_for("records.record_page", record_id=row.record_id) if row.record_id else None
        item["state_label"] = str(ITEM_STATES[item["state"]])
    return state


@bp.route("/batches/<int:batch_id>")
@login_required
def batch_page(batch_id: int):
    return render_template("records/batch.html", batch=_batch_state(_visible_batch(batch_id)))


@bp.route("/batches/<int:batch_id>.json")
@login_required
def batch_json(batch_id: int):
    return jsonify(_batch_state(_visible_batch(batch_id)))


# Catalogue and records -------------------------------------------------------------------------

def _chart(query) -> list[dict]:
    """Records by year and retention: one bar a year, its parts as shares of the largest year."""
    found = query.order_by(None).subquery()
    rows = db.session.execute(select(found.c.year, found.c.retention, func.count())
                              .group_by(found.c.year, found.c.retention)).all()
    years: dict[int, dict[str, int]] = {}
    for year, retention, n in rows:
        years.setdefault(year, {})[retention] = n
    widest = max((sum(parts.values()) for parts in years.values()), default=0)
    return [{"year": year, "total": sum(parts.values()),
             "parts": [(code, parts[code], 100 * parts[code] / widest) for code in RETENTION if code in parts]}
            for year, parts in sorted(years.items(), reverse=True)]


@bp.route("/")
@login_required
def catalogue():
    """Catalogue search (档案检索) over the records of the user's jurisdiction."""
    _staff()
    filters = Filters.from_args(request.args)
    query = search(filters, scope_unit_ids(current_user))
    size = current_app.config["QUEUE_PAGE_SIZE"]
    page = _page()
    total = _count(query)
    rows = db.session.scalars(query.offset((page - 1) * size).limit(size)).all()
    services = db.session.scalars(select(Service).order_by(Service.family, Service.code)).all()
    searched = any(value not in ("", None) for value in vars(filters).values())
    return render_template("records/catalogue.html", rows=rows, total=total, page=page, pages=-(-total // size),
                           filters=filters, services=services, chart=_chart(query), searched=searched,
                           args={k: v for k, v in request.args.items() if k != "page"})


def _dat13(code: str) -> str:
    try:
        return codes.parse(code).dat13()
    except ValueError:
        return ""


@bp.route("/<int:record_id>")
@login_required
def record_page(record_id: int):
    record = _record(record_id)
    manage = access.may_manage(current_user, record)
    checks = db.session.scalars(select(CheckReport).where(CheckReport.record_id == record.id)
                                .order_by(CheckReport.id.desc())).all()
    latest = Report.from_dict(checks[0].report) if checks else None
    audits = db.session.scalars(select(FixityResult).where(FixityResult.record_id == record.id)
                                .order_by(FixityResult.id.desc()).limit(5)).all()
    mine = db.session.scalars(select(AccessRequest).where(AccessRequest.record_id == record.id,
                                                          AccessRequest.requester_id == current_user.id)
                              .order_by(AccessRequest.id.desc())).all()
    events = []
    if manage:
        # Returns and resubmissions happened before the record existed: they are kept against the case.
        events = db.session.scalars(select(ArchiveEvent).where(or_(
            ArchiveEvent.record_id == record.id,
            and_(ArchiveEvent.case_id == record.case_id, ArchiveEvent.record_id.is_(None))))
            .order_by(ArchiveEvent.id.desc())).all()
    locale = str(get_locale())
    return render_template("records/record.html", record=record, dat13=_dat13(record.archival_code), manage=manage,
                           may_read=manage or access.may_read_files(current_user, record), checks=checks,
                           latest=latest, audits=audits, mine=mine, events=events, now=now_utc(),
                           store_locks=_store_locks(record),
                           describe=lambda p: Problem(**p).describe(locale))


def _store_locks(record: ArchiveRecord) -> bool:
    """Whether the store holding the package can lock it (a local directory or a bucket made without
    object lock cannot)."""
    store = object_store()
    try:
        return store.backend == record.package.backend and store.supports_lock
    except Exception:  # the store is down: the page still shows the record
        log.exception("could not ask the archive store about object lock")
        return False


def _package(record: ArchiveRecord) -> tuple[bytes | None, str]:
    """The record's package from the store, or None and why not."""
    try:
        data = checking.read_package(record)
    except OSError:
        log.exception("the package of %s could not be read", record.archival_code)
        return None, _("The archive store could not be reached. Try again later.")
    if data is None:
        return None, _("The stored package is missing from the archive store. Nothing was sent; "
                       "tell the archive's administrator.")
    return data, ""


def _damaged() -> str:
    return _("The stored package is damaged: its contents do not match the checksums recorded at filing. "
             "Nothing was sent; run an audit and tell the archive's administrator.")


@bp.route("/<int:record_id>/files/<int:file_id>", methods=["POST"])
@login_required
def download_file(record_id: int, file_id: int):
    """One file of the package, checked against its SHA-256 and logged with the reader's purpose."""
    record = _record(record_id)
    file = db.session.get(ArchiveFile, file_id)
    if file is None or file.record_id != record.id:
        abort(404)
    if not access.may_read_files(current_user, record):
        abort(403)
    reason = _text("reason", _("Say what you need the file for."))
    if reason is None:
        return _record_url(record)
    data, problem = _package(record)
    content = None
    if data is not None:
        try:
            content = read_package(data).get(file.path)
        except PackageError:
            content = None
        if content is None or hashlib.sha256(content).hexdigest() != file.sha256:
            problem, content = _damaged(), None
    if content is None:
        flash(problem, "error")
        return _record_url(record)
    access.log_read(record, current_user, file.path, reason)
    return send_file(io.BytesIO(content), mimetype=file.media_type, as_attachment=True, max_age=0,
                     download_name=file.original_name or PurePosixPath(file.path).name)


@bp.route("/<int:record_id>/package", methods=["POST"])
@login_required
def download_package(record_id: int):
    """The whole BagIt bag as a tar, for the archivists of the record."""
    record = _managed(record_id)
    reason = _text("reason", _("Say what you need the package for."))
    if reason is None:
        return _record_url(record)
    data, problem = _package(record)
    if data is not None and hashlib.sha256(data).hexdigest() != record.package.sha256:
        data, problem = None, _damaged()
    if data is None:
        flash(problem, "error")
        return _record_url(record)
    access.log_read(record, current_user, "package", reason)
    return send_file(io.BytesIO(data), mimetype="application/x-tar", as_attachment=True, max_age=0,
                     download_name=f"{record.archival_code}.tar")


@bp.route("/<int:record_id>/checks/<int:check_id>")
@login_required
def check_page(record_id: int, check_id: int):
    """The four-property check report (四性检测报告), printable."""
    record = _record(record_id)
    check = db.session.get(CheckReport, check_id)
    if check is None or check.record_id != record.id:
        abort(404)
    report = Report.from_dict(check.report)
    groups = [(prop, [item for item in report.items if item.property == prop]) for prop in PROPERTIES]
    groups += [(prop, [item for item in report.items if item.property == prop])
               for prop in sorted({item.property for item in report.items} - PROPERTIES.keys())]
    return render_template("records/check.html", record=record, check=check, report=report, groups=groups,
                           item_names={code: names[2] for code, names in ITEMS.items()})


@bp.route("/<int:record_id>/check", methods=["POST"])
@login_required
def check_now(record_id: int):
    """Read the package back and run the four-property check of long-term preservation (BC)."""
    record = _managed(record_id)
    try:
        report = checking.check_record(record, current_user)
    except OSError:
        db.session.rollback()
        log.exception("checking %s failed", record.archival_code)
        flash(_("The archive store could not be reached. Try again later."), "error")
        return _record_url(record)
    check_id = db.session.scalar(select(CheckReport.id).where(CheckReport.record_id == record.id)
                                 .order_by(CheckReport.id.desc()).limit(1))
    if report.passed:
        flash(_("The four-property check passed."), "success")
    else:
        flash(_("The four-property check failed items: %(codes)s.", codes=", ".join(i.code for i in report.failures())),
              "error")
    return redirect(url_for("records.check_page", record_id=record.id, check_id=check_id))


@bp.route("/<int:record_id>/audit", methods=["POST"])
@login_required
def audit_now(record_id: int):
    """A fixity audit of this record's package now (committed as it goes, as every audit run is)."""
    record_id = _managed(record_id).id
    auditing.run_audit("user", [record_id])
    record = db.session.get(ArchiveRecord, record_id)
    if record.audit_ok:
        flash(_("The audit found the stored package intact."), "success")
    else:
        problems = auditing.latest_problems(record, str(get_locale()))
        shown = " ".join(problems[:5]) + (" …" if len(problems) > 5 else "")
        flash(_("The audit found problems: %(problems)s", problems=shown), "error")
    return _record_url(record)


@bp.route("/<int:record_id>/hold", methods=["POST"])
@login_required
def legal_hold(record_id: int):
    """Place the record under legal hold, or lift it, with the reason (the litigation, or its end)."""
    record = _managed(record_id)
    action = request.form.get("action")
    if action not in ("on", "off"):
        flash(_("Choose whether to place or lift the legal hold."), "error")
        return _record_url(record)
    reason = _text("reason", _("Give the reason for the legal hold, or for lifting it."))
    if reason is None:
        return _record_url(record)
    on = action == "on"
    if on == bool(record.legal_hold_reason):
        flash(_("The record is already under legal hold.") if on else _("The record is not under legal hold."),
              "error")
        return _record_url(record)
    locking.set_hold(record, current_user, on, reason)
    flash(_("Legal hold placed.") if on else _("Legal hold lifted."), "success")
    return _record_url(record)


# Access requests -------------------------------------------------------------------------------

@bp.route("/<int:record_id>/access", methods=["POST"])
@login_required
def request_access(record_id: int):
    record = _record(record_id)
    reason = _text("reason", _("Say why you need to read the files."))
    if reason is None:
        return _record_url(record)
    try:
        access.request_access(record, current_user, reason)
    except access.AccessError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _record_url(record)
    flash(_("Your request was sent to the archivists."), "success")
    return _record_url(record)


def _access_state(wanted: AccessRequest, now) -> str:
    if wanted.state == AccessState.APPROVED and (wanted.expires_at is None or wanted.expires_at <= now):
        return "expired"
    return wanted.state.value


@bp.route("/access")
@login_required
def access_page():
    """For archivists, the requests waiting on them; for everyone, their own requests."""
    _staff()
    archivist = access.is_archivist(current_user)
    pending = db.session.scalars(access.pending_for(current_user).limit(200)).all() if archivist else []
    mine = db.session.scalars(select(AccessRequest).where(AccessRequest.requester_id == current_user.id)
                              .order_by(AccessRequest.id.desc()).limit(100)).all()
    now = now_utc()
    return render_template("records/access.html", archivist=archivist, pending=pending, mine=mine,
                           states={r.id: _access_state(r, now) for r in mine})


@bp.route("/access/<int:request_id>/decide", methods=["POST"])
@login_required
def decide(request_id: int):
    scope = _archivist()
    wanted = db.session.get(AccessRequest, request_id)
    if wanted is None or wanted.record.case.jurisdiction_id not in scope:
        abort(404)
    decision = request.form.get("decision")
    if decision not in ("approve", "refuse"):
        flash(_("Choose whether to approve or refuse the request."), "error")
        return redirect(url_for("records.access_page"))
    note = _text("note", None)
    if note is None:
        return redirect(url_for("records.access_page"))
    try:
        access.decide(wanted, current_user, decision == "approve", note)
    except access.AccessError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("records.access_page"))
    flash(_("Request approved.") if decision == "approve" else _("Request refused."), "success")
    return redirect(url_for("records.access_page"))


# Cases sent back -------------------------------------------------------------------------------

@bp.route("/returns")
@login_required
def returns():
    """Closed cases the archivists sent back to the user's offices, with their reasons."""
    _office()
    rows = [r for r in db.session.scalars(filing.open_returns(scope_unit_ids(current_user)).limit(500))
            if access.may_resubmit(current_user, r)]
    return render_template("records/returns.html", rows=rows)


@bp.route("/returns/<int:return_id>/resubmit", methods=["POST"])
@login_required
def resubmit(return_id: int):
    _office()
    returned = db.session.get(ArchiveReturn, return_id)
    if returned is None or not access.may_resubmit(current_user, returned):
        abort(404)
    note = _text("note", _("Say what was put right."))
    if note is None:
        return redirect(url_for("records.returns"))
    try:
        filing.resubmit(returned, current_user, note)
    except filing.FilingError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("records.returns"))
    flash(_("Case %(case_no)s is back with the archivists.", case_no=returned.case.case_no), "success")
    return redirect(url_for("records.returns"))


# Audits ----------------------------------------------------------------------------------------

@bp.route("/audits")
@login_required
def audits():
    """Recent fixity audit runs, and the failures found among the archivist's records."""
    scope = _archivist()
    runs = db.session.scalars(select(FixityRun).order_by(FixityRun.id.desc()).limit(20)).all()
    failing = db.session.execute(
        select(FixityResult, ArchiveRecord).join(ArchiveRecord, ArchiveRecord.id == FixityResult.record_id)
        .join(Case, Case.id == ArchiveRecord.case_id)
        .where(FixityResult.ok.is_(False), Case.jurisdiction_id.in_(scope))
        .order_by(FixityResult.id.desc()).limit(100)).all()
    locale = str(get_locale())
    failures = [(result, record, [Problem(**p).describe(locale) for p in result.problems])
                for result, record in failing]
    return render_template("records/audits.html", runs=runs, failures=failures)
