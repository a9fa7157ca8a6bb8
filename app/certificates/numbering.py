"""Certificate numbers and identifiers: one gap-free sequence per issuing office, year and kind.

The issuing office (登记机构) of a case is its county-tier office, except that the urban districts
of a city (GB/T 2260 codes xx01–xx20) register under the city: a flat in 南关区 gets a
吉(2026)长春市不动产权第…号 number, one in 农安县 a 吉(2026)农安县不动产权第…号 number.
"""

import secrets

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.certificates.models import CertificateKind, CertificateSequence
from app.engine.errors import NotAllowed
from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier
from documents import identifiers


def issuer_of(unit: OrgUnit) -> OrgUnit:
    """The registration authority for cases of UNIT (a township, county or the city)."""
    unit = db.session.get(OrgUnit, tree.unit_at_tier(unit.id, Tier.COUNTY))
    if unit.tier == Tier.COUNTY and int(unit.code[4:6]) <= 20 and unit.parent is not None:
        return unit.parent  # a city district: the city registers
    return unit


def next_sequence(issuer: OrgUnit, year: int, kind: CertificateKind) -> int:
    """Take the next number. The counter row stays locked until the caller's transaction ends, so
    concurrent issuers queue behind it and a rollback returns the number unused."""
    table = CertificateSequence.__table__
    bump = (update(table)
            .where(table.c.issuer_id == issuer.id, table.c.year == year, table.c.kind == kind.value)
            .values(last=table.c.last + 1).returning(table.c.last))
    taken = db.session.execute(bump).scalar()
    if taken is not None:
        return taken
    try:
        with db.session.begin_nested():  # the year's first number: whoever inserts second retries the update
            db.session.add(CertificateSequence(issuer_id=issuer.id, year=year, kind=kind, last=1))
        return 1
    except IntegrityError:
        return db.session.execute(bump).scalar_one()


def number(issuer: OrgUnit, year: int, kind: CertificateKind, sequence: int) -> str:
    return identifiers.certificate_number(current_app.config["PROVINCE_ABBREVIATION"], year, issuer.name,
                                          kind.value, sequence)


def ecert_id(issuer: OrgUnit, year: int, kind: CertificateKind, sequence: int) -> str:
    if not issuer.uscc:
        raise NotAllowed(f"{issuer.name} has no unified social credit code; an administrator must set it "
                         "before the office can issue e-certificates")
    type_code = current_app.config["ECERT_TYPE_CODES"][kind.value]
    return identifiers.ecert_id(type_code, issuer.uscc, f"{year}{sequence:07d}")


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 random bits
