"""What goes into a case's archival package: its files, read back and checked, and its metadata.

Paths inside the bag are ASCII and numbered in order; the names people gave files are kept in the
metadata. The metadata carries the case as it stands when filed: parties, the whole timeline with
the decisions taken, the certificates issued (content, context and process metadata of GB/T 18894).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases import materials
from app.cases.models import Case, CaseDocument, CaseEvent, CaseParty, Material
from app.certificates.models import Certificate, CertificateFile, RenderState
from app.extensions import db
from app.orgs.models import OrgUnit, User
from archive.codes import RETENTION, ArchivalCode
from archive.package import PayloadFile

SCHEMA = "smartland-archive/1"
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
              "application/ofd": "ofd"}


class NotReady(Exception):
    """The case cannot be filed yet; the message says what is missing."""


@dataclass(frozen=True)
class Contents:
    files: list[PayloadFile]
    metadata: dict
    bag_info: dict[str, str]


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "file"


def _name(path_stem: str, number: int, media_type: str, fallback: str = "bin") -> str:
    return f"{number:04d}-{_slug(path_stem)}.{EXTENSIONS.get(media_type, fallback)}"


def _certificates(case: Case) -> list[tuple[Certificate, CertificateFile]]:
    found = []
    for certificate in db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)
                                          .order_by(Certificate.id)):
        if certificate.render_state != RenderState.READY or certificate.file is None:
            raise NotReady(_l("Certificate %(number)s has no PDF yet (%(state)s); file the case once it is produced.",
                              number=certificate.number, state=certificate.render_state.value))
        found.append((certificate, certificate.file))
    return found


def payload(case: Case) -> list[PayloadFile]:
    """Every material, generated document and certificate of CASE, read back against its checksum."""
    files: list[PayloadFile] = []
    rows = db.session.scalars(select(Material).where(Material.case_id == case.id).order_by(Material.id)).all()
    for number, m in enumerate(rows, 1):
        title = m.code if m.replaced_by_id is None else f"{m.code}（已被补正替换）"
        checklist = case.service.material(m.code)
        if checklist:
            title = checklist["name"] + ("" if m.replaced_by_id is None else "（已被补正替换）")
        files.append(PayloadFile(f"materials/{_name(m.code, number, m.content_type)}", materials.read(m), "material",
                                 title, m.filename, m.content_type, m.uploaded_at))
    documents = db.session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id)
                                   .order_by(CaseDocument.id)).all()
    for number, d in enumerate(documents, 1):
        files.append(PayloadFile(f"documents/{_name(d.kind, number, d.content_type)}", materials.read(d), "document",
                                 d.title, d.filename, d.content_type, d.created_at))
    for number, (certificate, file) in enumerate(_certificates(case), 1):
        files.append(PayloadFile(f"certificates/{_name(certificate.kind.value, number, 'application/pdf')}",
                                 materials.read(file), "certificate", certificate.number,
                                 f"{certificate.number}.pdf", "application/pdf", file.created_at))
    return files


def _timeline(case: Case) -> list[dict]:
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.at, CaseEvent.id)).all()
    return [{"at": _iso(e.at), "kind": e.kind.value, "task": e.task_bpmn_id, "task_name": e.task_name,
             "actor": e.actor.display_name if e.actor else None,
             "office": e.org_unit.name if e.org_unit else None, "note": e.note, "detail": e.detail}
            for e in events]


def _fonds_owner(case: Case) -> str:
    unit = case.jurisdiction
    while unit.parent is not None:
        unit = unit.parent
    return f"{unit.name}自然资源局"


def contents(case: Case, code: ArchivalCode, filed_at: datetime, filed_by: User | None) -> Contents:
    """The package's files and metadata for CASE filed under CODE."""
    if case.closed_at is None:
        raise NotReady(_l("The case is not closed yet and cannot be filed."))
    files = payload(case)
    parties = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.id)).all()
    timeline = _timeline(case)
    office: OrgUnit = case.jurisdiction
    certificates = db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)
                                      .order_by(Certificate.id)).all()
    metadata = {
        "schema": SCHEMA,
        "archival_code": str(code), "archival_code_dat13": code.dat13(),
        "fonds": code.fonds, "fonds_owner": _fonds_owner(case), "category": code.category, "year": code.year,
        "retention": code.retention, "retention_name": RETENTION[code.retention], "org": code.org, "item": code.item,
        "title": case.title, "case_no": case.case_no, "service": case.service_code, "service_name": case.service.name,
        "family": case.service.family.value, "office": office.name, "office_code": office.code,
        "unit_no": case.unit_no or None, "channel": case.channel.value, "status": case.status.value,
        "outcome": case.outcome, "submitted_at": _iso(case.submitted_at), "accepted_at": _iso(case.accepted_at),
        "closed_at": _iso(case.closed_at), "due_at": _iso(case.due_at),
        "parties": [{"role": p.role.value, "name": p.name, "id_type": p.id_type.value, "id_number": p.id_number,
                     "share": str(p.share) if p.share is not None else None} for p in parties],
        "applicant": case.applicant.display_name if case.applicant else None,
        "certificates": [{"number": c.number, "kind": c.kind.value, "ecert_id": c.ecert_id, "status": c.status.value,
                          "unit_no": c.unit_no, "issued_at": _iso(c.issued_at)} for c in certificates],
        "decisions": [e for e in timeline if e["kind"] in ("task_completed", "sent_back") and e["detail"]],
        "timeline": timeline,
        "filed_at": _iso(filed_at), "filed_by": filed_by.display_name if filed_by else None,
    }
    bag_info = {"Source-Organization": metadata["fonds_owner"], "External-Identifier": str(code),
                "Internal-Sender-Identifier": case.case_no, "External-Description": case.title[:200],
                "Bag-Group-Identifier": f"{code.fonds}-{code.category}·{code.year}-{code.retention}-{code.org}"}
    return Contents(files, metadata, bag_info)
