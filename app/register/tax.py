"""The tax link (先税后登): after a transfer is accepted, its data goes to the tax bureau through the
outbox; the bureau's result comes back through the API as the message `tax_result`, correlated on
the case number, with {"status": "cleared" | "unpaid", "voucher_no", "taxes": {...}}."""

from sqlalchemy import select

from app.cases.models import Case, CaseParty, PartyRole
from app.core import outbox
from app.core.models import OutboxMessage
from app.extensions import db
from app.register import history


def payload(case: Case) -> dict:
    """What the tax bureau needs for the deed tax (税总财行发〔2022〕1号): unit, parties with ID numbers,
    price, area, right type."""
    app = case.applicant_data.get("application", {})
    unit = history.unit(case.unit_no)
    rights = history.rights(case.unit_no)
    parties = db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id).order_by(CaseParty.id)).all()

    def listed(role):
        return [{"name": p.name, "id_type": p.id_type.value, "id_number": p.id_number,
                 "share": str(p.share) if p.share is not None else None} for p in parties if p.role == role]

    return {"case_no": case.case_no, "accepted_at": case.accepted_at.isoformat() if case.accepted_at else None,
            "unit_no": case.unit_no, "location": unit.location if unit else "",
            "building_area_m2": str(unit.building_area_m2) if unit and unit.building_area_m2 is not None else None,
            "land_use": unit.land_use if unit else "",
            "right_type": rights[0].right_type.value if rights else None,
            "registration_type": "200", "contract_no": app.get("contract_no", ""), "price_yuan": app.get("price_yuan"),
            "holding": app.get("holding", "sole"),
            "buyers": listed(PartyRole.HOLDER), "sellers": listed(PartyRole.OBLIGOR)}


def push(case: Case) -> OutboxMessage:
    return outbox.queue("tax", "transfer_for_tax", payload(case), case_id=case.id)
