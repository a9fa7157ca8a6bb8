"""Demo register: 300 units in three demo counties, each with owners; every fifth mortgaged, every
seventh co-owned in shares, one seized and one under objection. Deterministic, so the same numbers
appear on every machine."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from stdnum.cn import ric, uscc

from app.extensions import db
from app.orgs.models import IdType
from app.register import entry as register
from app.register.models import Holding, RegistrationType, RestrictionKind, RightType, Unit
from app.register.unit_numbers import parse

COUNTIES = [("220102", "南关区", ["人民大街", "解放大路", "亚泰大街"]),
            ("220104", "朝阳区", ["红旗街", "湖西路", "开运街"]),
            ("220122", "农安县", ["黄龙路", "兴华路", "宝塔街"])]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
BANKS = [("中国建设银行股份有限公司长春分行", "912201007"), ("中国工商银行股份有限公司长春分行", "912201008"),
         ("吉林银行股份有限公司长春分行", "912201009")]
COURT = ("长春市南关区人民法院", "112201000")
UNITS = 300
IMPORTED_AT = datetime(2025, 6, 30, 1, 0, tzinfo=UTC)


def _with_check(body: str, module) -> str:
    """Complete a number with the check character its standard computes (python-stdnum validates)."""
    alphabet = "0123456789X" if module is ric else "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return next(body + c for c in alphabet if module.is_valid(body + c))


def resident_id(county: str, n: int) -> str:
    born = f"{1985 + n % 20}{1 + n % 12:02d}{1 + n % 28:02d}"
    return _with_check(f"{county}{born}{1 + n % 999:03d}", ric)


def org_id(prefix: str) -> str:
    return _with_check(f"{prefix}{'MA0000001'[: 17 - len(prefix)]}".ljust(17, "0")[:17], uscc)


def unit_number(county: str, n: int) -> str:
    zone, building, flat = 1 + n % 3, 1 + (n // 3) % 9, 101 + n % 6
    return parse(f"{county}{zone:03d}{1 + n % 2:03d}GB{1 + n // 20:05d}F{building:04d}{flat:04d}").value


def seed() -> int:
    """Enter the demo register once (skipped when units exist); returns the number of units."""
    if db.session.scalar(select(Unit.id).limit(1)) is not None:
        return 0
    imported = register.enter_now(None, None, RegistrationType.OTHER, "历史数据导入（示范）", at=IMPORTED_AT)
    banks = [register.party(name, IdType.USCC, org_id(prefix)) for name, prefix in BANKS]
    court = register.party(COURT[0], IdType.USCC, org_id(COURT[1]))
    for n in range(UNITS):
        county, county_name, streets = COUNTIES[n % len(COUNTIES)]
        unit_no = unit_number(county, n)
        area = Decimal(60 + (n * 7) % 90) + Decimal("0.5")
        register.write(imported, "unit", unit_no, unit_no, {
            "location": f"长春市{county_name}{streets[n % 3]}{10 + n}号{1 + n % 6}单元{101 + n % 6}室",
            "land_area_m2": area + 8, "building_area_m2": area, "land_use": "城镇住宅用地", "county_code": county})
        owner = register.party(SURNAMES[n % 20] + GIVEN[n % 18], IdType.RESIDENT_ID, resident_id(county, n))
        holders = [{"party_id": owner.id, "share": None}]
        holding = Holding.SOLE
        if n % 7 == 3:
            spouse = register.party(SURNAMES[(n + 7) % 20] + GIVEN[(n + 5) % 18], IdType.RESIDENT_ID,
                                    resident_id(county, n + 500))
            holders = [{"party_id": p.id, "share": Decimal("0.5")} for p in (owner, spouse)]
            holding = Holding.SHARES
        register.write(imported, "right", f"R{n + 1:07d}", unit_no, {
            "right_type": RightType.STATE_LAND_USE_BUILDING, "holding": holding,
            "certificate_no": f"吉(2025)长春市不动产权第{n + 1:07d}号", "holders": holders})
        if n % 5 == 1:
            register.write(imported, "restriction", f"M{n + 1:07d}", unit_no, {
                "kind": RestrictionKind.MORTGAGE, "holder_party_id": banks[n % 3].id, "rank": 1,
                "amount": Decimal(300000 + n * 1000), "document_no": f"借抵字第{n + 1:05d}号",
                "certificate_no": f"吉(2025)长春市不动产证明第{n + 1:07d}号"})
    seized, objected = unit_number("220102", 6), unit_number("220102", 9)
    register.write(imported, "restriction", "S0000001", seized, {
        "kind": RestrictionKind.SEIZURE, "holder_party_id": court.id, "document_no": "(2025)吉0102执451号",
        "received_at": IMPORTED_AT})
    register.write(imported, "restriction", "O0000001", objected, {
        "kind": RestrictionKind.OBJECTION, "document_no": "异议登记申请 2025-018"})
    db.session.flush()
    return UNITS
