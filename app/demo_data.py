"""Demo organisation, people and a few running cases for `make run` and the browser tests."""

from sqlalchemy import select

from app.cases.models import Case, Family, Service
from app.core.identifiers import clean_resident_id, clean_uscc
from app.extensions import db
from app.orgs.models import IdType, OrgUnit, Role, RoleAssignment, Tier, User, UserKind
from app.orgs.passwords import hash_password

DEMO_PASSWORD = "Demo-2026!"  # noqa: S105  (demo accounts only; printed by `make run`)

CITY = ("220100", "长春市", "Changchun")
COUNTIES = [
    ("220102", "南关区", "Nanguan District"), ("220103", "宽城区", "Kuancheng District"),
    ("220104", "朝阳区", "Chaoyang District"), ("220105", "二道区", "Erdao District"),
    ("220106", "绿园区", "Lüyuan District"), ("220112", "双阳区", "Shuangyang District"),
    ("220113", "九台区", "Jiutai District"), ("220122", "农安县", "Nong'an County"),
    ("220182", "榆树市", "Yushu City"), ("220183", "德惠市", "Dehui City"), ("220184", "公主岭市", "Gongzhuling City"),
]
TOWNSHIPS = [
    ("220102001", "南岭街道", "Nanling Subdistrict", "220102"),
    ("220102002", "自强街道", "Ziqiang Subdistrict", "220102"),
    ("220102003", "民康街道", "Minkang Subdistrict", "220102"),
    ("220104001", "桂林街道", "Guilin Subdistrict", "220104"),
    ("220104002", "南湖街道", "Nanhu Subdistrict", "220104"),
    ("220122100", "农安镇", "Nong'an Town", "220122"),
    ("220122101", "伏龙泉镇", "Fulongquan Town", "220122"),
    ("220122102", "哈拉海镇", "Halahai Town", "220122"),
]
# username, display name, [(unit code, role)]
STAFF = [
    ("admin", "系统管理员", [("220100", Role.ADMIN)]),
    ("city_supervisor", "市局督办 周敏", [("220100", Role.SUPERVISOR)]),
    ("city_approver", "市局审批 王建国", [("220100", Role.APPROVER)]),
    ("city_archivist", "市局档案 陈静", [("220100", Role.ARCHIVIST)]),
    ("nanguan_supervisor", "南关区分局督办 孙立", [("220102", Role.SUPERVISOR)]),
    ("nanguan_reviewer", "南关区分局审核 李华", [("220102", Role.REVIEWER)]),
    ("nanguan_registrar", "南关区分局登簿 赵磊", [("220102", Role.REGISTRAR)]),
    ("nanguan_officer", "南关区执法 吴刚", [("220102", Role.ENFORCEMENT_OFFICER)]),
    ("nanguan_legal", "南关区法制审核 郑洁", [("220102", Role.LEGAL_REVIEWER)]),
    ("nongan_reviewer", "农安县局审核 刘洋", [("220122", Role.REVIEWER)]),
    ("nongan_registrar", "农安县局登簿 钱进", [("220122", Role.REGISTRAR)]),
    ("nongan_archivist", "农安县局档案 韩梅", [("220122", Role.ARCHIVIST)]),
    ("chaoyang_reviewer", "朝阳区分局审核 冯雪", [("220104", Role.REVIEWER)]),
    ("chaoyang_registrar", "朝阳区分局登簿 卫东", [("220104", Role.REGISTRAR)]),
    ("guilin_clerk", "桂林街道窗口 蒋琳", [("220104001", Role.CLERK)]),
    ("nanling_clerk", "南岭街道窗口 张丽", [("220102001", Role.CLERK)]),
    ("nanling_clerk2", "南岭街道窗口 何平", [("220102001", Role.CLERK)]),
    ("ziqiang_clerk", "自强街道窗口 马超", [("220102002", Role.CLERK)]),
    ("nongan_town_clerk", "农安镇窗口 高峰", [("220122100", Role.CLERK)]),
]
APPLICANTS = [
    ("zhangsan", "张三", IdType.RESIDENT_ID, "11010519491231002X"),
    ("changchun_dev", "长春示范置业有限公司", IdType.USCC, "91110000600037341L"),
]
# Applicants who appear in the demo register (app/register/demo.py), added with it: the owner of
# the first demo unit, and the bank holding mortgages, so joint applications can be tried end to end.
REGISTER_APPLICANTS = [("wangwei", "王伟", IdType.RESIDENT_ID, ("220102", 0)),
                       ("ccb_changchun", "中国建设银行股份有限公司长春分行", IdType.USCC, "912201007")]
DEMO_SERVICE = Service(code="demo_review", name="示范审批事项", name_en="Demo review", family=Family.COMMON,
                       process_id="demo_review", statutory_days=20, committed_days=10, accepting_tier=Tier.TOWNSHIP,
                       materials=[{"code": "site_plan", "name": "宗地图", "name_en": "Parcel map", "required": True},
                                  {"code": "id_copy", "name": "身份证明", "name_en": "Proof of identity",
                                   "required": False}])


def office_uscc(region_code: str) -> str:
    """A well-formed 统一社会信用代码 for a demo office (机关, 11…): the first whose organisation part and
    check character both validate. Real offices' codes are configured by an administrator."""
    from stdnum.cn import uscc

    for last in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        first = f"11{region_code}0{region_code[2:6]}001"[:16] + last
        if uscc.is_valid(code := first + uscc.calc_check_digit(first)):
            return code
    raise ValueError(region_code)


def seed_organisation() -> dict[str, OrgUnit]:
    units = {u.code: u for u in db.session.scalars(select(OrgUnit))}

    def ensure(code, name, name_en, tier, parent):
        if code not in units:
            units[code] = OrgUnit(code=code, name=name, name_en=name_en, tier=tier, parent=parent)
            db.session.add(units[code])
        return units[code]

    city = ensure(*CITY, Tier.CITY, None)
    city.uscc = city.uscc or office_uscc(city.code)
    for code, name, name_en in COUNTIES:
        county = ensure(code, name, name_en, Tier.COUNTY, city)
        county.uscc = county.uscc or office_uscc(code)
    for code, name, name_en, parent in TOWNSHIPS:
        ensure(code, name, name_en, Tier.TOWNSHIP, units[parent])
    db.session.flush()
    return units


def seed_people(units: dict[str, OrgUnit]) -> dict[str, User]:
    users = {u.username: u for u in db.session.scalars(select(User))}
    password = hash_password(DEMO_PASSWORD)
    for username, name, roles in STAFF:
        if username not in users:
            users[username] = User(username=username, display_name=name, kind=UserKind.STAFF, password_hash=password)
            db.session.add(users[username])
            for code, role in roles:
                users[username].roles.append(RoleAssignment(org_unit=units[code], role=role))
    for username, name, id_type, number in APPLICANTS:
        if username not in users:
            clean = clean_resident_id if id_type == IdType.RESIDENT_ID else clean_uscc
            users[username] = User(username=username, display_name=name, kind=UserKind.APPLICANT, id_type=id_type,
                                   id_number=clean(number), password_hash=password)
            db.session.add(users[username])
    db.session.flush()
    return users


def seed_catalogue() -> None:
    from app.register import catalogue

    if db.session.get(Service, DEMO_SERVICE.code) is None:
        db.session.add(Service(**{c.key: getattr(DEMO_SERVICE, c.key) for c in Service.__table__.columns}))
        db.session.flush()
    catalogue.seed()


def seed_register_applicants(users: dict[str, User]) -> None:
    from app.register import demo

    password = hash_password(DEMO_PASSWORD)
    for username, name, id_type, source in REGISTER_APPLICANTS:
        if username in users:
            continue
        number = demo.resident_id(*source) if id_type == IdType.RESIDENT_ID else demo.org_id(source)
        users[username] = User(username=username, display_name=name, kind=UserKind.APPLICANT, id_type=id_type,
                               id_number=number, password_hash=password)
        db.session.add(users[username])
    db.session.flush()


def demo_pdf(text: str) -> bytes:
    """A one-page PDF with one line of ASCII text: a stand-in parcel map for demo cases."""
    safe = "".join(c for c in text if c.isascii() and c not in "()\\")
    stream = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def seed_cases(users: dict[str, User], units: dict[str, OrgUnit]) -> None:
    from app.cases.operations import open_case
    from app.cases.uploads import inspect

    if db.session.scalar(select(Case.id).limit(1)) is not None:
        return
    service = db.session.get(Service, DEMO_SERVICE.code)
    for title, township, area in [("南岭街道 3 号宗地用途核实", "220102001", 860.0),
                                  ("自强街道 12 号宗地面积核实", "220102002", 1520.5),
                                  ("农安镇 7 号宗地权属核实", "220122100", 12500.0)]:
        applicant = users["zhangsan"]
        site_plan = inspect(f"{township}-site-plan.pdf", demo_pdf(f"Parcel map {township}, {area} m2"), 2**20)
        open_case(service, units[township], title, {"area_m2": area}, applicant=applicant, actor_id=applicant.id,
                  applicant_data={"name": applicant.display_name, "id_number": applicant.id_number},
                  uploads={"site_plan": site_plan})


def seed_registration_case(users: dict[str, User], units: dict[str, OrgUnit]) -> None:
    """A transfer of 王伟's flat to 张三, waiting for 张三 to confirm it online."""
    import uuid
    from decimal import Decimal

    from app.cases.uploads import inspect
    from app.register import demo
    from app.register.applications import Application, PartyInput, submit

    if db.session.scalar(select(Case.id).where(Case.service_code == "reg_transfer").limit(1)) is not None:
        return
    seller, buyer = users["wangwei"], users["zhangsan"]
    app = Application(unit_no=demo.unit_number("220102", 0), office_id=units["220102001"].id,
                      obligors=[PartyInput(seller.display_name, seller.id_number)],
                      holders=[PartyInput(buyer.display_name, buyer.id_number)], price_yuan=Decimal("980000"),
                      contract_no="长房网签2026-000318")
    uploads = {code: inspect(f"{code}.pdf", demo_pdf(f"{code} of the demo transfer"), 2**20)
               for code in ("id_proof", "title_cert", "contract")}
    submit(seller, db.session.get(Service, "reg_transfer"), app, uploads, str(uuid.uuid4()))


def seed_all(with_cases: bool = True) -> dict[str, User]:
    units = seed_organisation()
    users = seed_people(units)
    seed_catalogue()
    if with_cases:
        from app.register import demo as register_demo

        seed_cases(users, units)
        register_demo.seed()
        seed_register_applicants(users)
        seed_registration_case(users, units)
    return users
