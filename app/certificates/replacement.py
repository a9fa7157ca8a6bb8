"""Certificate replacement (换证、补证): a damaged certificate is exchanged (换发) and the old paper
taken back; a lost one is re-issued (补发) only after the holder's loss statement has been published
on the bureau's website for 15 working days (遗失公告, 细则 Art 22). Either way the unit's page of the
register gets a notation and the holder a new certificate under a new number; the old one is
`replaced`.

The certificate is checked three times, as the other services' rules are: at submission (nothing is
stored when it fails), at acceptance and at entry, because the certificate register may have moved on
meanwhile (a transfer entered in between supersedes the certificate). At acceptance the case proposes
its notation, so other applications on the unit see a case pending on it, and a second replacement of
the same certificate is refused.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.models import Case, EventKind
from app.certificates.models import Certificate, CertificateKind, CertificateStatus
from app.core.deadlines import current_calendar, deadline_after
from app.engine.errors import NotAllowed
from app.engine.runtime import event
from app.engine.scripts import current_actor, emit
from app.extensions import db
from app.register import entry
from app.register.models import PendingChange

SERVICE_CODE = "reg_certificate_replacement"
# How the new certificate and the register name what happened, by the reason the applicant gave.
REASONS = {"damaged": "换发", "lost": "补发"}
# The material each reason needs; both are optional in the catalogue, the application check picks one.
MATERIAL_FOR_REASON = {"damaged": "damaged_cert", "lost": "loss_statement"}
# 细则 Art 22: a lost certificate is re-issued once its loss notice has run this many working days.
# The notice time is not the bureau's: the case's deadline moves on by it, as for a correction.
LOSS_NOTICE_WORKING_DAYS = 15

_STATUS = {CertificateStatus.SUPERSEDED: _l("superseded by a later registration"),
           CertificateStatus.CANCELLED: _l("cancelled"),
           CertificateStatus.REPLACED: _l("already exchanged or re-issued")}
_KIND = {CertificateKind.TITLE: "不动产权证书", CertificateKind.PROOF: "不动产登记证明"}
_CAUSE = {"damaged": "证书损坏，原证收回", "lost": "证书遗失，遗失声明已公告"}


def normalised(number: str) -> str:
    """A certificate number as printed: applicants type full-width brackets and stray spaces."""
    return "".join((number or "").split()).replace("（", "(").replace("）", ")")


def find(number: str, *, for_update: bool = False) -> Certificate | None:
    query = select(Certificate).where(Certificate.number == normalised(number))
    if for_update:  # at entry: read again under lock, after whatever committed meanwhile
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)


def holder(certificate: Certificate, id_number: str) -> dict | None:
    """The holder named on the certificate with this ID number, if any."""
    return next((h for h in certificate.holders if id_number and h.get("id_number") == id_number), None)


def notation_key(certificate: Certificate) -> str:
    """The key of the notation a replacement case proposes: finds the cases replacing one certificate."""
    return f"CERT{certificate.id}"


def in_progress(certificate: Certificate, exclude_case_id: int | None = None) -> list[str]:
    """Numbers of open cases accepted to replace this certificate and not yet entered."""
    query = (select(Case.case_no).join(PendingChange, PendingChange.case_id == Case.id)
             .where(PendingChange.item == "notation", PendingChange.key == notation_key(certificate),
                    PendingChange.entry_id.is_(None), Case.closed_at.is_(None)))
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    return sorted(db.session.scalars(query.distinct()))


def problems(certificate: Certificate | None, number: str, unit_no: str, id_number: str,
             case_id: int | None = None) -> list:
    """Why this applicant cannot have this certificate replaced on this unit; empty when they can."""
    if certificate is None:
        return [_l("Certificate %(no)s is not in the certificate register.", no=normalised(number) or "—")]
    found = []
    if certificate.status != CertificateStatus.ISSUED:
        found.append(_l("Certificate %(no)s is no longer current (%(status)s); only a current certificate can be "
                        "exchanged or re-issued.", no=certificate.number, status=_STATUS[certificate.status]))
    if certificate.unit_no != unit_no:
        found.append(_l("Certificate %(no)s is not a certificate of unit %(unit)s.", no=certificate.number,
                        unit=unit_no))
    if holder(certificate, id_number) is None:
        found.append(_l("Only a holder named on certificate %(no)s may apply to exchange or re-issue it (ID number "
                        "%(id)s is not among its holders).", no=certificate.number, id=id_number or "—"))
    others = in_progress(certificate, exclude_case_id=case_id)
    if others:
        found.append(_l("Certificate %(no)s is already being exchanged or re-issued in case %(cases)s.",
                        no=certificate.number, cases=", ".join(others)))
    return found


def check_materials(reason: str, materials) -> list:
    """The material the chosen reason needs: the damaged certificate, or the loss statement."""
    if reason == "damaged" and MATERIAL_FOR_REASON[reason] not in materials:
        return [_l("Attach the damaged certificate: it is exchanged for the new one.")]
    if reason == "lost" and MATERIAL_FOR_REASON[reason] not in materials:
        return [_l("Attach the loss statement: a lost certificate is re-issued only after it has been published.")]
    return []


def _certificate_of(case: Case, *, for_update: bool = False) -> Certificate:
    application = case.applicant_data.get("application", {})
    number = application.get("certificate_no", "")
    certificate = find(number, for_update=for_update)
    found = problems(certificate, number, case.unit_no, case.applicant_data.get("id_number", ""), case_id=case.id)
    if found:
        raise NotAllowed("；".join(str(p) for p in found))
    return certificate


def accept(case: Case, application: dict) -> dict:
    """受理: the certificate is checked again and the notation proposed. For a lost certificate the
    loss notice starts now: its end (an absolute time, in working days) is what the model's timer
    waits for, and the case's deadline moves on by the notice period."""
    certificate = _certificate_of(case)
    reason = application["reason"]
    entry.propose(case, "notation", notation_key(certificate), case.unit_no, {
        "text": f"{REASONS[reason]}{_KIND[certificate.kind]}，原证号{certificate.number}作废（{_CAUSE[reason]}）。",
        "certificate_id": certificate.id})
    if reason != "lost":
        return {}
    notice = deadline_after(LOSS_NOTICE_WORKING_DAYS)
    if case.due_at is not None:
        case.due_at = current_calendar().add_working_days(case.due_at, LOSS_NOTICE_WORKING_DAYS).due_at
    case.paused_days += LOSS_NOTICE_WORKING_DAYS
    emit(event(case, EventKind.TASK_COMPLETED, current_actor(), name=str(_l("Loss notice published")),
               detail={"certificate_no": certificate.number, "notice_ends": notice.due_at.isoformat(),
                       "paused_working_days": LOSS_NOTICE_WORKING_DAYS},
               note=str(_l("The notice of the loss of certificate %(no)s runs for %(days)d working days; the "
                           "certificate is re-issued after it.", no=certificate.number,
                           days=LOSS_NOTICE_WORKING_DAYS))))
    return {"notice_ends": notice.due_at.isoformat(), "notice_estimated": notice.estimated}


def certificate_for_entry(case: Case) -> tuple[Certificate, str]:
    """At entry, under the unit's lock: the certificate to replace, checked once more, and the word
    (换发 or 补发) the new certificate and the register use."""
    reason = case.applicant_data.get("application", {}).get("reason", "")
    if reason not in REASONS:
        raise NotAllowed(_l("The application does not say whether the certificate is damaged or lost."))
    return _certificate_of(case, for_update=True), REASONS[reason]
