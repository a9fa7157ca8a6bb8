"""Certificate pages: the public verification page (no login), downloads for holders, the counter's
print view, and the staff's certificate register with rendering progress."""

import hashlib
import io

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from app.cases import materials
from app.cases.models import Case, EventKind
from app.certificates import issuing, rendering
from app.certificates.models import (
    Certificate,
    CertificateFile,
    CertificateKind,
    CertificateStatus,
    RenderJob,
    RenderState,
    VerificationCheck,
)
from app.core import audit
from app.engine.runtime import event, record_change
from app.extensions import db, limiter
from app.orgs.models import Role
from app.orgs.permissions import has_role, scope_unit_ids
from documents import signing

bp = Blueprint("certificates", __name__)
PAGE = 50


def _client_ip() -> str:
    return (request.remote_addr or "")[:64]


def _face_value(certificate: Certificate, label: str) -> str:
    return next((value for row_label, value in certificate.face["rows"] if row_label == label), "")


def _public(certificate: Certificate) -> dict:
    """The minimal data the public page shows: no holder, no ID number."""
    matter = _face_value(certificate, "权利类型") or _face_value(certificate, "证明权利或事项")
    newer = db.session.get(Certificate, certificate.replaced_by_id) if certificate.replaced_by_id else None
    return {"number": certificate.number, "unit_no": certificate.unit_no, "matter": matter,
            "issued_on": issuing.issued_on(certificate), "issuer": certificate.face["issuer"],
            "status": certificate.status.value, "status_at": certificate.status_at, "kind": certificate.kind.value,
            "ecert_id": certificate.ecert_id, "newer": newer.number if newer else ""}


def _log_check(certificate: Certificate | None, method: str, outcome: str, sha256: str = "") -> None:
    db.session.add(VerificationCheck(certificate_id=certificate.id if certificate else None, method=method,
                                     outcome=outcome, sha256=sha256, ip=_client_ip()))


@bp.route("/v/<token>")
def verify_link(token: str):
    """Where a certificate's QR code leads: the certificate's live status, and a place to check a copy."""
    certificate = db.session.scalar(select(Certificate).where(Certificate.token == token[:64]))
    if certificate is None:
        _log_check(None, "link", "unknown")
        db.session.commit()  # the refusal below rolls back; the failed look-up is still worth keeping
        abort(404)
    _log_check(certificate, "link", certificate.status.value)
    return render_template("certificates/verify.html", cert=_public(certificate), token=token, result=None)


def _uploaded_pdf() -> tuple[bytes | None, str]:
    upload = request.files.get("pdf")
    if upload is None or not upload.filename:
        return None, _("Choose the PDF file to check.")
    data = upload.read(current_app.config["MAX_MATERIAL_BYTES"] + 1)
    if len(data) > current_app.config["MAX_MATERIAL_BYTES"]:
        return None, _("The file is larger than any certificate we issue.")
    if not data.startswith(b"%PDF-"):
        return None, _("The file is not a PDF.")
    return data, ""


def _check_upload(data: bytes) -> tuple[str, Certificate | None]:
    """What an uploaded PDF is: one of our files unchanged (by its SHA-256, then by its signature)."""
    digest = hashlib.sha256(data).hexdigest()
    known = db.session.scalar(select(CertificateFile).where(CertificateFile.sha256 == digest).limit(1))
    if known is not None:
        return "intact", db.session.get(Certificate, known.certificate_id)
    verdict = signing.verify(data, rendering.trusted_certificates())
    if not verdict.signed:
        return "unsigned", None
    if verdict.trusted and not verdict.intact:
        return "altered", None
    if verdict.ok:
        return "signed_unknown", None  # our signature, intact, yet no such file in the register
    return "not_ours", None


@bp.route("/verify", methods=["GET", "POST"])
@bp.route("/v/<token>", methods=["POST"])
@limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"], methods=["POST"])
def verify_upload(token: str | None = None):
    """Anyone may upload a PDF and learn whether it is a certificate we issued, unchanged."""
    expected = None
    if token is not None:
        expected = db.session.scalar(select(Certificate).where(Certificate.token == token[:64])) or abort(404)
    if request.method == "GET":
        return render_template("certificates/verify.html", cert=None, token=None, result=None)
    data, problem = _uploaded_pdf()
    if data is None:
        flash(problem, "error")
        return redirect(request.url)
    outcome, found = _check_upload(data)
    if expected is not None and found is not None and found.id != expected.id:
        outcome = "other_certificate"  # genuine, but not the certificate whose page this is
    _log_check(found or expected, "upload", outcome, hashlib.sha256(data).hexdigest())
    shown = found or expected
    return render_template("certificates/verify.html", cert=_public(shown) if shown else None, token=token,
                           result={"outcome": outcome, "found": _public(found) if found else None})


def _may_download(certificate: Certificate) -> bool:
    if not current_user.is_authenticated:
        return False
    if current_user.is_staff:
        case = db.session.get(Case, certificate.case_id)
        return case.jurisdiction_id in scope_unit_ids(current_user)
    return bool(current_user.id_number) and any(h["id_number"] == current_user.id_number
                                                for h in certificate.holders)


def _file(certificate: Certificate) -> bytes:
    if certificate.render_state != RenderState.READY or certificate.file_id is None:
        abort(404)
    return materials.read(db.session.get(CertificateFile, certificate.file_id))


@bp.route("/certificates/<int:certificate_id>.pdf")
@login_required
def download(certificate_id: int):
    """The signed PDF, for its holders (zero visits) and for staff within their jurisdiction."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not _may_download(certificate):
        abort(404)
    data = _file(certificate)
    inline = current_user.is_staff and request.args.get("inline") == "1"
    audit.record("certificate.download", "certificate", certificate.number, actor_id=current_user.id,
                 ip=_client_ip(), detail={"inline": inline})
    response = send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=not inline,
                         download_name=f"{certificate.number}.pdf", max_age=0)
    if inline:
        response.headers["X-Frame-Options"] = "SAMEORIGIN"  # shown inside the counter's print view
    return response


@bp.route("/my/certificates")
@login_required
def mine():
    """An applicant's own certificates, wherever they were issued: download them without a visit."""
    if current_user.is_staff or not current_user.id_number:
        abort(403)
    # holders is a JSON list; the LIKE narrows in SQL, the exact comparison below decides.
    rows = db.session.scalars(select(Certificate).where(Certificate.holders.cast(db.String).like(
        f"%{current_user.id_number}%")).order_by(Certificate.id.desc()).limit(500)).all()
    rows = [c for c in rows if any(h["id_number"] == current_user.id_number for h in c.holders)]
    return render_template("certificates/mine.html", rows=rows)


def _staff_certificate(certificate_id: int) -> Certificate:
    if not current_user.is_staff:
        abort(403)
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not _may_download(certificate):
        abort(404)
    return certificate


@bp.route("/certificates/<int:certificate_id>/print")
@login_required
def print_view(certificate_id: int):
    """The counter's print view: the signed PDF on screen with a print button; each print is recorded."""
    certificate = _staff_certificate(certificate_id)
    case = db.session.get(Case, certificate.case_id)
    if certificate.render_state == RenderState.READY:
        record_change(case, current_user.id, [event(case, EventKind.DOCUMENT, current_user.id,
                                                    detail={"certificate_id": certificate.id,
                                                            "number": certificate.number, "printed": True})],
                      "certificate.print", {"certificate": certificate.number})
    return render_template("certificates/print.html", certificate=certificate, case=case)


def _register_query():
    scope = scope_unit_ids(current_user)
    query = select(Certificate).join(Case, Case.id == Certificate.case_id).where(Case.jurisdiction_id.in_(scope))
    text = (request.args.get("q") or "").strip()[:100]
    if text:
        like = f"%{text}%"
        query = query.where(or_(Certificate.number.like(like), Certificate.unit_no.like(like),
                                Certificate.holder_names.like(like), Case.case_no.like(like)))
    status = request.args.get("status", "")
    if status in CertificateStatus._value2member_map_:
        query = query.where(Certificate.status == CertificateStatus(status))
    kind = request.args.get("kind", "")
    if kind in CertificateKind._value2member_map_:
        query = query.where(Certificate.kind == CertificateKind(kind))
    if request.args.get("render") in RenderState._value2member_map_:
        query = query.where(Certificate.render_state == RenderState(request.args["render"]))
    return query


@bp.route("/certificates")
@login_required
def register():
    """The certificate register of the user's jurisdiction, newest first, with filters."""
    if not current_user.is_staff:
        abort(403)
    query = _register_query()
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Certificate.id.desc()).offset((page - 1) * PAGE).limit(PAGE)).all()
    jobs = db.session.scalars(select(RenderJob).where(RenderJob.finished_at.is_(None),
                                                      RenderJob.created_by_id == current_user.id)
                              .order_by(RenderJob.id.desc()).limit(10)).all()
    return render_template("certificates/register.html", rows=rows, total=total, page=page, pages=-(-total // PAGE),
                           jobs=jobs, may_rerender=_may_rerender(), args=request.args)


def _may_rerender() -> bool:
    return has_role(current_user, Role.ADMIN, Role.SUPERVISOR)


@bp.route("/certificates/rerender", methods=["POST"])
@login_required
def rerender():
    """Render and sign again every current certificate matching the register's filters (after a new key
    or template). Returns at once; the progress page follows the batch."""
    if not current_user.is_staff or not _may_rerender():
        abort(403)
    chosen = db.session.scalars(_register_query().where(Certificate.status == CertificateStatus.ISSUED,
                                                         Certificate.render_state != RenderState.PENDING)).all()
    if not chosen:
        flash(_("No current certificate matches."), "error")
        return redirect(url_for("certificates.register", **request.args))
    job = issuing.rerender(chosen, _("Re-sign %(n)d certificates", n=len(chosen)), current_user.id)
    audit.record("certificate.rerender", "render_job", str(job.id), actor_id=current_user.id, ip=_client_ip(),
                 detail={"count": len(chosen)})
    return redirect(url_for("certificates.job_page", job_id=job.id))


def _visible_job(job_id: int) -> RenderJob:
    job = db.session.get(RenderJob, job_id)
    if job is None or not current_user.is_staff:
        abort(404)
    in_scope = db.session.scalar(select(func.count()).select_from(Certificate)
                                 .join(Case, Case.id == Certificate.case_id).where(Certificate.render_job_id == job.id,
                                        Case.jurisdiction_id.in_(scope_unit_ids(current_user))))
    if not in_scope and job.created_by_id != current_user.id:
        abort(404)
    return job


def _job_state(job: RenderJob) -> dict:
    failures = db.session.execute(select(Certificate.id, Certificate.number, Certificate.render_error)
                                  .where(Certificate.render_job_id == job.id,
                                         Certificate.render_state == RenderState.FAILED).limit(20)).all()
    return {"id": job.id, "label": job.label, "total": job.total, "done": job.done, "failed": job.failed,
            "finished": job.finished_at is not None,
            "failures": [{"id": f.id, "number": f.number, "error": f.render_error} for f in failures]}


@bp.route("/certificates/jobs/<int:job_id>")
@login_required
def job_page(job_id: int):
    return render_template("certificates/job.html", job=_job_state(_visible_job(job_id)))


@bp.route("/certificates/jobs/<int:job_id>.json")
@login_required
def job_json(job_id: int):
    return jsonify(_job_state(_visible_job(job_id)))


def for_case(case: Case) -> list[Certificate]:
    """The certificates a case issued, for its page (holders and staff see them; others do not)."""
    rows = db.session.scalars(select(Certificate).where(Certificate.case_id == case.id).order_by(Certificate.id)).all()
    return [c for c in rows if _may_download(c)]
