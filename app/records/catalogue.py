"""Catalogue search (档案检索): by 档号, case number, unit number, party, service, year and retention."""

from dataclasses import dataclass

from sqlalchemy import exists, or_, select

from app.cases.models import Case, CaseParty
from app.records.models import ArchiveRecord


@dataclass
class Filters:
    code: str = ""
    case_no: str = ""
    unit_no: str = ""
    party: str = ""  # a name or an ID number
    service: str = ""
    year: int | None = None
    retention: str = ""

    @classmethod
    def from_args(cls, args) -> "Filters":
        year = args.get("year", "").strip()
        return cls(code=args.get("code", "").strip()[:64], case_no=args.get("case_no", "").strip()[:32],
                   unit_no=args.get("unit_no", "").strip()[:28], party=args.get("party", "").strip()[:100],
                   service=args.get("service", "").strip()[:32], year=int(year) if year.isdigit() else None,
                   retention=args.get("retention", "").strip()[:4])


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(filters: Filters, scope: set[int]):
    """Records in SCOPE matching every filter given, newest first."""
    query = (select(ArchiveRecord).join(Case, Case.id == ArchiveRecord.case_id)
             .where(Case.jurisdiction_id.in_(scope)))
    if filters.code:
        # Typed with a full stop for the middle dot (U+00B7) is still found.
        query = query.where(ArchiveRecord.archival_code.like(_like(filters.code.replace(".", "·")), escape="\\"))
    if filters.case_no:
        query = query.where(Case.case_no.like(_like(filters.case_no), escape="\\"))
    if filters.unit_no:
        query = query.where(Case.unit_no.like(_like(filters.unit_no), escape="\\"))
    if filters.party:
        query = query.where(exists().where(CaseParty.case_id == Case.id, or_(
            CaseParty.name.like(_like(filters.party), escape="\\"), CaseParty.id_number == filters.party.upper())))
    if filters.service:
        query = query.where(Case.service_code == filters.service)
    if filters.year:
        query = query.where(ArchiveRecord.year == filters.year)
    if filters.retention:
        query = query.where(ArchiveRecord.retention == filters.retention)
    return query.order_by(ArchiveRecord.filed_at.desc(), ArchiveRecord.id.desc())
