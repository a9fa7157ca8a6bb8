"""Applications for registration submitted online: checked against the register and its rules
before anything is stored, then opened as a case whose process starts at once.

A refused application stores nothing: every check runs before the case is created, and the case,
its parties, materials and the started process are written in the request's one transaction.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from app.cases.models import Case, CaseParty, Channel, Draft, PartyRole, Service, Visit, VisitPurpose
from app.cases.operations import open_case
from app.certificates import replacement
from app.core.clock import now_utc
from app.engine.errors import EngineError
from app.extensions import db
from app.orgs.models import IdType, OrgUnit, Tier, User
from app.register import history, rules
from app.register.catalogue import REGISTRATION_TYPES
from app.register.models import RestrictionKind
from app.register.unit_numbers import UnitNumberError, parse


class ApplicationRefused(EngineError):
    """The application cannot be submitted; `reasons` lists every reason at once."""

    def __init__(self, reasons: list[str]):
        super().__init__("；".join(str(r) for r in reasons))
        self.reasons = [str(r) for r in reasons]


def identify(id_number: str) -> tuple[IdType, str]:
    """The document type of an ID number and its normalised form; ValueError with a message a person
    can act on (a wrong check digit is named as such)."""
    value = (id_number or "").strip().upper().replace(" ", "")
    if uscc.is_valid(value):
        return IdType.USCC, uscc.compact(value)
    try:
        return IdType.RESIDENT_ID, ric.validate(value)
    except InvalidChecksum:
        reason = _l("the check digit (the last character) is wrong")
    except InvalidComponent:
        reason = _l("the date of birth in it is not a real date")
    except InvalidLength:
        reason = _l("it must have 18 characters")
    except ValidationError:
        # Not shaped like a resident ID: perhaps a credit code whose check character is wrong.
        try:
            uscc.validate(value)
        except InvalidChecksum:
            reason = _l("the check digit (the last character) is wrong")
        except ValidationError:
            reason = _l("it is neither a resident ID number nor a unified social credit code")
    raise ValueError(str(_l("ID number %(number)s is not valid: %(reason)s.", number=value or "—", reason=reason)))


@dataclass
class PartyInput:
    name: str
    id_number: str
    share: Decimal | None = None


@dataclass
class Application:
    """What an applicant submits, as the form checked it. Which fields count depends on the service."""

    unit_no: str
    office_id: int
    obligors: list[PartyInput] = field(default_factory=list)  # sellers, mortgagors, the holder's old identity
    holders: list[PartyInput] = field(default_factory=list)  # buyers, the bank, the holder's new identity
    holding: str = "sole"
    price_yuan: Decimal | None = None
    amount_yuan: Decimal | None = None
    contract_no: str = ""
    mortgage_key: str = ""
    certificate_no: str = ""  # the certificate to exchange or re-issue
    reason: str = ""  # why: damaged (换发) or lost (补发)

    def as_data(self) -> dict:
        """The application as kept with the case (JSON), parties apart."""
        return {"unit_no": self.unit_no, "holding": self.holding, "contract_no": self.contract_no,
                "mortgage_key": self.mortgage_key, "certificate_no": self.certificate_no, "reason": self.reason,
                "price_yuan": str(self.price_yuan) if self.price_yuan is not None else None,
                "amount_yuan": str(self.amount_yuan) if self.amount_yuan is not None else None}


def check(applicant: User, service: Service, app: Application,
          materials: Collection[str] = ()) -> tuple[list[CaseParty], OrgUnit, object]:
    """Every check of an application against the register; raises ApplicationRefused with all reasons.
    `materials`: the codes of the files attached, for the checks that depend on what the applicant chose."""
    reasons: list = []
    try:
        unit_no = parse(app.unit_no).value
    except UnitNumberError as exc:
        raise ApplicationRefused([exc]) from None
    record = history.record(unit_no, notations=False)
    if record is None:
        raise ApplicationRefused([_l("Unit %(no)s is not in the register.", no=unit_no)])
    app.unit_no = unit_no
    office = db.session.get(OrgUnit, app.office_id)
    if office is None or office.tier != Tier.TOWNSHIP or office.code[:6] != record.unit.county_code:
        reasons.append(_l("Choose a service point in the county where the property lies."))
    if service.code == "reg_mortgage_cancellation":
        _cancelling_party(applicant, app, record)
    if service.code == replacement.SERVICE_CODE:
        reasons += _replacing_holder(applicant, app, materials)
    parties, problems = _parties(service, app, record)
    reasons += problems
    # A replacement names its own reason when the applicant is not a holder of the certificate.
    if service.code != replacement.SERVICE_CODE and applicant.id_number not in {p.id_number for p in parties}:
        reasons.append(_l("You must be one of the parties to this application (your ID number %(no)s is not among "
                          "them).", no=applicant.id_number or "—"))
    if service.code == "reg_mortgage_cancellation" and not any(
            r.key == app.mortgage_key for r in record.of_kind(RestrictionKind.MORTGAGE)):
        reasons.append(_l("Mortgage %(key)s is not registered on this unit.", key=app.mortgage_key or "—"))
    obligor_ids = {p.id_number for p in parties if p.role == PartyRole.OBLIGOR}
    findings = rules.check_unit(unit_no, changes_ownership=service.code in rules.DISPOSITIONS,
                                applicants_id_numbers=obligor_ids if service.code in rules.DISPOSITIONS else None,
                                record=record)
    reasons += [f.message for f in rules.blocking(findings)]
    if reasons:
        raise ApplicationRefused(reasons)
    return parties, office, record


def _cancelling_party(applicant: User, app: Application, record) -> None:
    """A cancellation is applied for by one party alone: the lender (holder of the mortgage) or an
    owner of the unit; who they are comes from their account."""
    mortgage = next((r for r in record.of_kind(RestrictionKind.MORTGAGE) if r.key == app.mortgage_key), None)
    me = PartyInput(applicant.display_name, applicant.id_number or "")
    if mortgage is not None and mortgage.holder is not None and mortgage.holder.id_number == applicant.id_number:
        app.holders = [me]
    elif any(h.party.id_number == applicant.id_number for r in record.rights for h in r.holders):
        app.obligors = [me]


def _replacing_holder(applicant: User, app: Application, materials: Collection[str]) -> list:
    """换证、补证: the certificate is current, on this unit, and the applicant is a holder named on it,
    who then applies alone as that holder; the material the chosen reason needs is attached."""
    if app.reason not in replacement.REASONS:
        return [_l("Say whether the certificate is damaged or lost.")]
    app.certificate_no = replacement.normalised(app.certificate_no)
    certificate = replacement.find(app.certificate_no)
    problems = replacement.problems(certificate, app.certificate_no, app.unit_no, applicant.id_number or "")
    problems += replacement.check_materials(app.reason, materials)
    named = replacement.holder(certificate, applicant.id_number or "") if certificate is not None else None
    if named is not None:
        app.holders = [PartyInput(named["name"], named["id_number"])]
    return problems


def _parties(service: Service, app: Application, record) -> tuple[list[CaseParty], list]:
    problems, parties = [], []
    for role, inputs in ((PartyRole.OBLIGOR, app.obligors), (PartyRole.HOLDER, app.holders)):
        for p in inputs:
            try:
                id_type, number = identify(p.id_number)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            parties.append(CaseParty(role=role, name=p.name.strip(), id_type=id_type, id_number=number,
                                     share=p.share))
    if service.code == "reg_transfer" and app.holding == "shares":
        shares = [p.share for p in parties if p.role == PartyRole.HOLDER]
        if any(s is None for s in shares) or sum(shares) != 1:
            problems.append(_l("Shares of the buyers must be given for each and add up to 1."))
    if service.code == "reg_change":
        holders = {h.party.id_number for r in record.rights for h in r.holders}
        if not any(p.id_number in holders for p in parties if p.role == PartyRole.OBLIGOR):
            problems.append(_l("The former name and ID number must be those of a holder in the register."))
    return parties, problems


def submit(applicant: User, service: Service, app: Application, uploads: dict, submission_key: str,
           draft: Draft | None = None) -> Case:
    if not service.active or service.form_key == "":
        raise EngineError(_l("This service is not available at the moment."))
    parties, office, record = check(applicant, service, app, materials=set(uploads))
    now = now_utc()
    for p in parties:  # the one who submits has confirmed by submitting
        if p.id_number == applicant.id_number:
            p.confirmed_at, p.confirmed_by_id = now, applicant.id
    needs_confirmation = service.joint and any(p.confirmed_at is None for p in parties)
    title = f"{service.name}：{record.unit.location}"
    data = {"unit_no": app.unit_no, "registration_type": REGISTRATION_TYPES[service.code].value,
            "needs_confirmation": needs_confirmation}
    if service.code == replacement.SERVICE_CODE:  # the model waits for a loss notice only for a lost one
        data |= {"certificate_no": app.certificate_no, "reason": app.reason}

    def belonging(case: Case) -> list:  # written with the case, before its process starts
        for p in parties:
            p.case_id = case.id
        return [*parties, Visit(case_id=case.id, purpose=VisitPurpose.SUBMISSION, channel=Channel.ONLINE, at=now,
                                org_unit_id=office.id, recorded_by_id=applicant.id)]

    case = open_case(service, office, title[:200], data, applicant=applicant, actor_id=applicant.id,
                     applicant_data={"name": applicant.display_name, "id_number": applicant.id_number or "",
                                     "application": app.as_data()},
                     uploads=uploads, submission_key=submission_key, unit_no=app.unit_no, rows=belonging)
    if draft is not None:
        db.session.delete(draft)
    return case


def parties(case: Case) -> list[CaseParty]:
    return db.session.scalars(select(CaseParty).where(CaseParty.case_id == case.id)
                              .order_by(CaseParty.role, CaseParty.id)).all()
