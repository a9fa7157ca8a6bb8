"""Registration rules: what blocks an application or its entry, and what the clerk must be warned
of. Each finding names the rule, so the clerk sees why, not only that."""

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases.models import Case
from app.extensions import db
from app.register import history
from app.register.models import PendingChange, RestrictionKind


# Services that dispose of the unit: forbidden while it is seized, and every holder must take part.
DISPOSITIONS = {"reg_transfer", "reg_mortgage"}


class Severity(enum.StrEnum):
    BLOCK = "block"
    WARN = "warn"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str


def check_unit(unit_no: str, *, changes_ownership: bool, case_id: int | None = None,
               applicants_id_numbers: set[str] | None = None, record=None) -> list[Finding]:
    """Findings for an application on one unit.

    changes_ownership: a transfer or a mortgage (dispositions a seizure forbids).
    applicants_id_numbers: the ID numbers of the applying holders, checked against the co-owners.
    record: the unit's record as just read, if the caller has it (else it is read here)."""
    findings: list[Finding] = []
    record = record or history.record(unit_no)
    if record is None:
        return [Finding("unit_unknown", Severity.BLOCK, str(_l("Unit %(no)s is not in the register.", no=unit_no)))]
    if record.seized and changes_ownership:
        court = record.of_kind(RestrictionKind.SEIZURE)[0]
        findings.append(Finding("seized", Severity.BLOCK, str(_l(
            "The unit is seized by %(court)s (%(doc)s); it cannot be transferred or mortgaged.",
            court=court.holder.name if court.holder else "", doc=court.document_no))))
    for objection in record.of_kind(RestrictionKind.OBJECTION):
        findings.append(Finding("objection", Severity.WARN, str(_l(
            "An objection is registered (%(doc)s): whoever acquires the unit bears the risk of the dispute.",
            doc=objection.document_no))))
    others = pending_cases(unit_no, exclude=case_id)
    if others:
        findings.append(Finding("pending_case", Severity.BLOCK if changes_ownership else Severity.WARN, str(_l(
            "Another case is pending on this unit: %(cases)s.", cases=", ".join(others)))))
    if applicants_id_numbers is not None:
        holders = {h.party.id_number: h.party.name for r in record.rights for h in r.holders}
        missing = [name for number, name in holders.items() if number not in applicants_id_numbers]
        if missing:
            findings.append(Finding("co_owner_missing", Severity.BLOCK, str(_l(
                "Every holder must apply; missing: %(names)s.", names="、".join(missing)))))
    if record.mortgages and changes_ownership:
        ranks = ", ".join(f"{m.rank}: {m.holder.name if m.holder else ''}" for m in record.mortgages)
        findings.append(Finding("mortgage_rank", Severity.WARN, str(_l(
            "The unit is mortgaged (rank %(ranks)s); a new mortgage ranks after these.", ranks=ranks))))
    return findings


def pending_cases(unit_no: str, exclude: int | None = None) -> list[str]:
    """Numbers of open cases (running or suspended) with changes to this unit not yet entered."""
    query = (select(Case.case_no).join(PendingChange, PendingChange.case_id == Case.id)
             .where(PendingChange.unit_no == unit_no, PendingChange.entry_id.is_(None), Case.closed_at.is_(None)))
    if exclude is not None:
        query = query.where(Case.id != exclude)
    return sorted(db.session.scalars(query.distinct()))


def blocking(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.BLOCK]


def for_case(case: Case, stage: str = "review", tax_result: dict | None = None) -> list[Finding]:
    """The findings for a registration case now: the unit's rules, and at entry the deed tax.

    stage: "acceptance", "review" or "entry". A transfer cannot be entered before the tax bureau's
    result says the deed tax is paid (契税法 Art 11)."""
    from app.cases.models import CaseParty, PartyRole

    if not case.unit_no:
        return []
    disposes = case.service_code in DISPOSITIONS
    obligors = None
    if disposes:
        obligors = set(db.session.scalars(select(CaseParty.id_number).where(
            CaseParty.case_id == case.id, CaseParty.role == PartyRole.OBLIGOR)))
    findings = check_unit(case.unit_no, changes_ownership=disposes, case_id=case.id, applicants_id_numbers=obligors)
    if case.service_code == "reg_transfer" and stage == "entry" and (tax_result or {}).get("status") != "cleared":
        findings.append(Finding("tax_unpaid", Severity.BLOCK, str(_l(
            "The deed tax is not confirmed as paid: a transfer is entered only after the tax bureau's result."))))
    return findings
