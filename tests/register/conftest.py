"""A small register for the registration services: a flat of 王伟 (the demo applicant `wangwei`),
one co-owned flat, one mortgaged to the demo bank `ccb_changchun`, and one seized."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.cases.uploads import inspect
from app.demo_data import seed_register_applicants
from app.extensions import db
from app.orgs.models import IdType
from app.register import demo
from app.register import entry as register
from app.register.models import Holding, RegistrationType, RestrictionKind, RightType
from tests.samples import pdf

OWNED, CO_OWNED, MORTGAGED, SEIZED = (demo.unit_number("220102", n) for n in (0, 3, 21, 6))
LI = ("李娜", IdType.RESIDENT_ID, demo.resident_id("220102", 503))


@pytest.fixture
def register_units(ctx, users, clock):
    seed_register_applicants(users)
    at = clock.now - timedelta(days=30)
    imported = register.enter_now(None, None, RegistrationType.OTHER, "测试数据", at=at)
    wang = register.party("王伟", IdType.RESIDENT_ID, users["wangwei"].id_number)
    li = register.party(*LI)
    bank = register.party(users["ccb_changchun"].display_name, IdType.USCC, users["ccb_changchun"].id_number)
    court = register.party("长春市南关区人民法院", IdType.USCC, demo.org_id("112201000"))
    for n, unit_no in enumerate((OWNED, CO_OWNED, MORTGAGED, SEIZED)):
        register.write(imported, "unit", unit_no, unit_no, {
            "location": f"长春市南关区人民大街{n + 1}号", "land_area_m2": Decimal("98.5"),
            "building_area_m2": Decimal("90.5"), "land_use": "城镇住宅用地", "county_code": "220102"})
        holders = [{"party_id": wang.id, "share": None}]
        holding = Holding.SOLE
        if unit_no == CO_OWNED:
            holders = [{"party_id": wang.id, "share": Decimal("0.5")}, {"party_id": li.id, "share": Decimal("0.5")}]
            holding = Holding.SHARES
        register.write(imported, "right", f"T{n:07d}", unit_no, {
            "right_type": RightType.STATE_LAND_USE_BUILDING, "holding": holding,
            "certificate_no": f"吉(2025)长春市不动产权第{n + 1:07d}号", "holders": holders})
    register.write(imported, "restriction", "TM0000001", MORTGAGED, {
        "kind": RestrictionKind.MORTGAGE, "holder_party_id": bank.id, "rank": 1, "amount": Decimal("500000"),
        "document_no": "借抵字第00001号"})
    register.lodge_seizure(imported, "TS0000001", SEIZED, court, "(2026)吉0102执1号", at)
    db.session.commit()
    return {"owned": OWNED, "co_owned": CO_OWNED, "mortgaged": MORTGAGED, "seized": SEIZED}


@pytest.fixture
def pdf_upload():
    def make(name: str = "材料.pdf"):
        return inspect(name, pdf(name), 2**20)

    return make
