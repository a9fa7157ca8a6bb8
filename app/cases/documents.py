"""Notices produced for a case as Word files clerks can edit and print (documents.notices), stored in
the object store with the case and listed on its timeline.

The service tasks that decide (受理, 一次性告知补正, 不予受理, 不予登记) call `notice`, so the notice
is written in the same transaction as the decision it records.
"""

import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.models import Case, CaseDocument, CaseParty, EventKind
from app.core.clock import LOCAL, now_utc
from app.engine.runtime import event
from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier
from documents import notices

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLES = {"acceptance": "受理通知书", "correction": "补正材料通知书", "refusal_acceptance": "不予受理告知书",
          "refusal_registration": "不予登记告知书"}
# The character of a document number (文号) for each kind: 受 accepted, 补 correct, 驳 refused.
NUMBER_WORDS = {"acceptance": "受", "correction": "补", "refusal_acceptance": "驳", "refusal_registration": "驳"}
LABELS = {"acceptance": _l("Notice of acceptance"), "correction": _l("Notice to correct materials"),
          "refusal_acceptance": _l("Notice of refusal to accept"),
          "refusal_registration": _l("Notice of refusal to register")}


def _office(case: Case) -> OrgUnit:
    return db.session.get(OrgUnit, tree.unit_at_tier(case.jurisdiction_id, Tier.COUNTY))


def _base(case: Case, kind: str) -> dict:
    office = _office(case)
    today = now_utc().astimezone(LOCAL).date()
    applicants = db.session.scalars(select(CaseParty.name).where(CaseParty.case_id == case.id)
                                    .order_by(CaseParty.id)).all()
    if not applicants and case.applicant is not None:
        applicants = [case.applicant.display_name]
    return {"office": f"{office.name}自然资源局", "date": today, "case_no": case.case_no,
            "doc_no": f"{office.name}不动产{NUMBER_WORDS.get(kind, '文')}字〔{today.year}〕第{case.case_no}号",
            "applicants": list(applicants) or ["申请人"], "service": case.service.name,
            "portal": current_app.config["PUBLIC_BASE_URL"],
            # Reconsideration by the government at the office's own level (行政复议法, 2023); suit before the
            # basic court where the office sits (a city district's court carries the city's name).
            "reconsideration_body": f"{office.name}人民政府",
            "court": (f"{office.parent.name}{office.name}人民法院" if office.parent and office.name.endswith("区")
                      else f"{office.name}人民法院")}


def notice(case: Case, kind: str, context: dict, actor_id: int | None) -> tuple[CaseDocument, dict]:
    """Render the notice, store it and add its row (flushed). Returns it with the timeline event to record."""
    from app.cases.materials import object_store

    values = {**_base(case, kind), **context}
    data = notices.render(kind, values)
    digest = hashlib.sha256(data).hexdigest()
    key = f"documents/{case.case_no}/{digest}.docx"
    object_store().put(key, data, DOCX)  # content-addressed: a rollback leaves only an unreferenced object
    document = CaseDocument(case_id=case.id, kind=kind, title=TITLES.get(kind, kind), doc_no=values["doc_no"][:64],
                            filename=f"{TITLES.get(kind, kind)}-{case.case_no}.docx", content_type=DOCX,
                            size=len(data), sha256=digest, object_key=key, created_by_id=actor_id)
    db.session.add(document)
    db.session.flush()
    return document, event(case, EventKind.DOCUMENT, actor_id,
                           detail={"document_id": document.id, "title": document.title})


def for_case(case: Case) -> list[CaseDocument]:
    return db.session.scalars(select(CaseDocument).where(CaseDocument.case_id == case.id)
                              .order_by(CaseDocument.id)).all()
