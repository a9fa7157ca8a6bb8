"""The courts' exchange with the register (联动共享, 法院): what a court's query is answered with, and its
orders (seizure, queued seizure, release) lodged as cases of the service reg_court_order.

An order is deemed served when it reaches the registry's system (domain brief §1.10), so it is entered
at once by the process's service task, effective at the time the request arrived; the county
registrar checks it afterwards. A court may send the same request again (a lost answer, a retry):
its request id makes the second one find the first case instead of seizing twice.
"""

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from app.api.models import PartnerClient
from app.cases.models import Case, Service
from app.cases.operations import open_case
from app.extensions import db
from app.orgs.models import OrgUnit
from app.register import history
from app.register.history import UnitRecord
from app.register.models import Party, RegisterEntry, Restriction, RestrictionKind, Right, RightHolder, Unit
from app.register.unit_numbers import UnitNumberError, parse

SERVICE = "reg_court_order"
ORDERS = ("seize", "release")
TEXT_LIMIT = 100  # document numbers, names and officers are 100 characters in the register
_REQUESTS = uuid.UUID("6f1c2b3e-52a4-4c0e-9d0c-3b1f7a9e2c41")  # namespace of court requests' submission keys


# --------------------------------------------------------------------------- queries


def _money(value) -> str | None:
    # Decimals as strings: a JSON number would lose the exact amount in some clients.
    return str(value) if value is not None else None


def _right(right: Right) -> dict:
    return {"right_type": right.right_type.value, "holding": right.holding.value,
            "certificate_no": right.certificate_no,
            "holders": [{"name": h.party.name, "id_type": h.party.id_type.value, "id_number": h.party.id_number,
                         "share": _money(h.share)} for h in right.holders]}


def _restriction(restriction: Restriction) -> dict:
    # The key is what a court names to release its seizure, so every restriction carries it.
    return {"key": restriction.key, "kind": restriction.kind.value, "state": restriction.state.value,
            "holder": restriction.holder.name if restriction.holder else None, "rank": restriction.rank,
            "amount": _money(restriction.amount), "document_no": restriction.document_no,
            "received_at": restriction.received_at.isoformat() if restriction.received_at else None}


def summaries(records: list[UnitRecord]) -> list[dict]:
    """Each unit as a court reads it: where and what it is, who holds it, what restricts it."""
    codes = {r.unit.county_code for r in records}
    counties = dict(db.session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes))).all())
    return [{
        "unit_no": r.unit.key, "location": r.unit.location, "land_area_m2": _money(r.unit.land_area_m2),
        "building_area_m2": _money(r.unit.building_area_m2), "land_use": r.unit.land_use,
        "county_code": r.unit.county_code, "county": counties.get(r.unit.county_code),
        "rights": [_right(right) for right in r.rights],
        "restrictions": [_restriction(restriction) for restriction in r.restrictions],
        "mortgaged": bool(r.mortgages), "seized": r.seized,
        "under_objection": bool(r.of_kind(RestrictionKind.OBJECTION)),
    } for r in records]


def holder_records(id_number: str) -> list[UnitRecord]:
    """Every unit where the party with this (normalised) ID number is a current holder, by unit number.
    The ID number is the identity: a holder who changed name is still found."""
    held = select(RightHolder.right_id).join(Party, Party.id == RightHolder.party_id).where(
        Party.id_number == id_number)
    unit_nos = sorted(set(db.session.scalars(history.current(Right).where(Right.id.in_(held))
                                             .with_only_columns(Right.unit_no))))
    return [r for r in (history.record(unit_no) for unit_no in unit_nos) if r is not None]


# --------------------------------------------------------------------------- orders


class OrderInvalid(ValueError):
    """The request is malformed; `problems` names every problem at once."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


class OrderRefused(Exception):
    """A well-formed order the register cannot carry out: `status` is the HTTP answer, `code` the error."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass(frozen=True)
class CourtOrder:
    request_id: str
    order: str
    unit_no: str  # the unit to seize; for a release, optional and then checked against the seizure
    seizure_key: str  # the seizure to release
    document_no: str
    court_name: str
    court_id_number: str
    officer: str


def _text(body: dict, name: str, problems: list[str], limit: int = TEXT_LIMIT, required: bool = True) -> str:
    value = body.get(name)
    if not required and value in (None, ""):
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} is required (a non-empty string).")
        return ""
    if len(value.strip()) > limit:
        problems.append(f"{name} must be at most {limit} characters.")
        return ""  # one problem per field: a long unit number is not also parsed
    return value.strip()


def _court_id(value: str, problems: list[str]) -> str:
    if not value:
        return ""
    try:
        return uscc.validate(value.upper().replace(" ", ""))
    except InvalidChecksum:
        problems.append(f"court_id_number {value} is not valid: the check digit (the last character) is wrong.")
    except ValidationError:
        problems.append(f"court_id_number {value} is not a unified social credit code (18 characters).")
    return ""


def read_order(body: dict) -> CourtOrder:
    """The order in a request body, normalised; OrderInvalid lists every problem. Reads nothing stored."""
    problems: list[str] = []
    request_id = _text(body, "request_id", problems, limit=64)
    order = body.get("order")
    if order not in ORDERS:
        problems.append("order must be \"seize\" or \"release\".")
    unit_no = _text(body, "unit_no", problems, limit=40, required=order == "seize")
    seizure_key = _text(body, "seizure_key", problems, limit=32, required=order == "release")
    if order == "seize" and seizure_key:
        problems.append("seizure_key names the seizure to release; a seizure's key is given by the registry.")
    if unit_no:
        try:
            unit_no = parse(unit_no).value
        except UnitNumberError as exc:
            problems.append(str(exc))
    document_no = _text(body, "document_no", problems)
    court_name = _text(body, "court_name", problems)
    court_id_number = _court_id(_text(body, "court_id_number", problems, limit=40), problems)
    officer = _text(body, "officer", problems)
    if problems:
        raise OrderInvalid(problems)
    return CourtOrder(request_id, order, unit_no, seizure_key, document_no, court_name, court_id_number, officer)


def submission_key(partner: PartnerClient, request_id: str) -> str:
    return str(uuid.uuid5(_REQUESTS, f"{partner.id}:{request_id}"))


def earlier(partner: PartnerClient, order: CourtOrder) -> Case | None:
    """The case this partner's request id already opened, if any. The same id with a different
    order is refused: answering it with the earlier result would tell the court its new order was done."""
    case = db.session.scalar(select(Case).where(Case.submission_key == submission_key(partner, order.request_id)))
    if case is not None and case.applicant_data.get("court_order", {}).get("request") != asdict(order):
        raise OrderRefused(409, "request_id_reused", f"request_id {order.request_id} was already used for a "
                                                     f"different order ({case.case_no}).")
    return case


def _target_unit(order: CourtOrder) -> Unit:
    """The unit the order acts on, checked against the register now (the state the order meets)."""
    if order.order == "seize":
        unit = history.unit(order.unit_no)
        if unit is None:
            raise OrderRefused(404, "not_found", f"Unit {order.unit_no} is not in the register.")
        return unit
    seizure = db.session.scalar(history.current(Restriction).where(Restriction.key == order.seizure_key,
                                                                   Restriction.kind == RestrictionKind.SEIZURE))
    if seizure is None:
        raise OrderRefused(409, "not_seized", f"Seizure {order.seizure_key} is not in the register, or has "
                                              "already been released.")
    if order.unit_no and order.unit_no != seizure.unit_no:
        raise OrderRefused(409, "wrong_unit", f"Seizure {order.seizure_key} is on unit {seizure.unit_no}, "
                                              f"not {order.unit_no}.")
    return history.unit(seizure.unit_no)


def lodge(partner: PartnerClient, order: CourtOrder, received_at: datetime) -> Case:
    """Open the order's case at the unit's county; its process enters the order as of `received_at`."""
    unit = _target_unit(order)
    unit_no = unit.key
    county = db.session.scalar(select(OrgUnit).where(OrgUnit.code == unit.county_code))
    service = db.session.get(Service, SERVICE)
    if county is None or service is None:
        raise OrderRefused(409, "no_office", f"No registry office takes court orders for unit {unit_no}.")
    what = "查封" if order.order == "seize" else f"解封 {order.seizure_key}"
    data = {"order": order.order, "unit_no": unit_no, "seizure_key": order.seizure_key,
            "document_no": order.document_no, "court_name": order.court_name,
            "court_id_number": order.court_id_number, "received_at": received_at.isoformat()}
    case = open_case(service, county, f"{order.court_name} {order.document_no} {what}：{unit.location}"[:200], data,
                     applicant=None, actor_id=None, submission_key=submission_key(partner, order.request_id),
                     applicant_data={"name": order.court_name, "id_number": order.court_id_number,
                                     "court_order": {"partner": partner.name, "request": asdict(order)}},
                     unit_no=unit_no)
    db.session.flush()
    return case


def answer(case: Case) -> dict:
    """What the court is told about its order, read from the versions the order's entry wrote: the
    same answer however often the request is repeated, whatever happened to the seizure since."""
    done = db.session.scalar(select(RegisterEntry).where(RegisterEntry.case_id == case.id))
    written = db.session.scalars(select(Restriction).where(Restriction.entry_id == done.id)
                                 .order_by(Restriction.id)).all()
    order = case.applicant_data["court_order"]["request"]["order"]
    if order == "seize":
        seizure = written[0]
        key, state, took_effect = seizure.key, seizure.state.value, None
    else:
        key = next(r.key for r in written if r.ended)
        promoted = next((r for r in written if not r.ended), None)
        state, took_effect = "released", promoted.key if promoted is not None else None
    return {"case_no": case.case_no, "order": order, "seizure_key": key, "state": state,
            "took_effect": took_effect, "received_at": done.entered_at.isoformat()}
