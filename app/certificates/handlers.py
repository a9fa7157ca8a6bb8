"""Service tasks of the registration models that concern certificates: `certificates.issue` after an
entry, and `certificates.replace` (换发 / 补发), which is itself the replacement case's entry."""

from sqlalchemy import select

from app.cases.models import Case, EventKind, Material
from app.certificates import issuing, replacement
from app.engine.runtime import event
from app.engine.scripts import current_actor, emit, handler
from app.extensions import db
from app.orgs.models import User
from app.register import entry
from app.register.models import RegistrationType, SourceDocument


@handler("certificates.issue")
def issue(case: Case, data: dict) -> dict:
    """生成电子证照: number and register the certificates the entry gives; the PDFs follow in the background."""
    issued = issuing.issue_for_entry(case, data["entry"]["entry_id"], current_actor())
    for certificate in issued:
        emit(event(case, EventKind.DOCUMENT, current_actor(),
                   detail={"certificate_id": certificate.id, "number": certificate.number,
                           "kind": certificate.kind.value}))
    return {"certificates": [c.id for c in issued], "numbers": [c.number for c in issued]}


@handler("certificates.replace")
def replace(case: Case, data: dict) -> dict:
    """换发 / 补发 at 登簿: the notation proposed at acceptance is entered (which locks the unit, so a
    transfer entered meanwhile is seen), the certificate is checked once more, and a new certificate
    under a new number replaces it."""
    registrar_id = current_actor()
    registrar = db.session.get(User, registrar_id) if registrar_id else None
    done = entry.enter(case, registrar, RegistrationType(data["registration_type"]), summary=case.title)
    old, reason = replacement.certificate_for_entry(case)
    for material in db.session.scalars(select(Material).where(Material.case_id == case.id,
                                                              Material.replaced_by_id.is_(None))):
        db.session.add(SourceDocument(entry_id=done.id, kind=material.code, material_id=material.id))
    new = issuing.replace(old, case, done, reason, registrar_id)
    emit(event(case, EventKind.DOCUMENT, registrar_id,
               detail={"certificate_id": new.id, "number": new.number, "kind": new.kind.value,
                       "replaces": old.number, "reason": reason}))
    return {"entry_id": done.id, "entered_at": done.entered_at.isoformat(), "certificates": [new.id],
            "numbers": [new.number], "replaced": old.number}
