"""The register: append-only versions, atomic entry, the register as of a past date, seizure queues,
and the rules a clerk is shown."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.cases.models import CaseStatus
from app.engine.errors import Conflict
from app.extensions import db
from app.orgs.models import IdType
from app.register import entry as register
from app.register import history, rules
from app.register.models import (
    Holding,
    PendingChange,
    RegistrationType,
    RestrictionKind,
    RestrictionState,
    Right,
    RightType,
    Unit,
)

UNIT = "220102001003GB00012F00010001"
ZHANG = ("张三", IdType.RESIDENT_ID, "11010519491231002X")
LI = ("李四", IdType.RESIDENT_ID, "110101199003070011")


@pytest.fixture
def registered(ctx, users, clock):
    """A flat of 南关区 owned by 张三 and 李四 in equal shares, entered a week before the test's 'now'."""
    at = clock.now - timedelta(days=7)
    zhang, li = register.party(*ZHANG), register.party(*LI)
    first = register.enter_now(None, users["admin"].id, RegistrationType.FIRST, "首次登记", at=at)
    register.write(first, "unit", UNIT, UNIT, {
        "location": "南关区人民大街 1 号 1 单元 101", "land_area_m2": Decimal("95.5"),
        "building_area_m2": Decimal("88.2"), "land_use": "城镇住宅用地", "county_code": "220102"})
    register.write(first, "right", "R-1", UNIT, {
        "right_type": RightType.STATE_LAND_USE_BUILDING, "holding": Holding.SHARES,
        "certificate_no": "吉(2026)长春市不动产权第0000001号",
        "holders": [{"party_id": zhang.id, "share": Decimal("0.5")}, {"party_id": li.id, "share": Decimal("0.5")}]})
    db.session.commit()
    return {"zhang": zhang, "li": li, "first": first}


def test_entry_makes_all_pending_changes_current_at_once(registered, make_case, users, clock):
    case = make_case()
    buyer = register.party("王五", IdType.RESIDENT_ID, "110101199003074478")
    register.propose(case, "right", "R-1", UNIT, {"right_type": RightType.STATE_LAND_USE_BUILDING.value,
                                                  "holding": Holding.SOLE.value, "certificate_no": "",
                                                  "holders": [{"party_id": buyer.id, "share": None}]})
    register.propose(case, "notation", "", UNIT, {"text": "买卖转移"})
    db.session.commit()
    assert [h.party.name for r in history.rights(UNIT) for h in r.holders] == ["张三", "李四"]  # not yet

    entry = register.enter(case, users["city_approver"], RegistrationType.TRANSFER, "转移登记")
    db.session.commit()
    record = history.record(UNIT)
    assert [h.party.name for r in record.rights for h in r.holders] == ["王五"]
    assert [n.text for n in record.notations] == ["买卖转移"]
    assert (entry.case_id, entry.registrar_id, entry.entered_at) == (case.id, users["city_approver"].id, clock.now)
    assert register.pending(case) == []
    # Nothing was edited: both versions of the right are there, each with its own holders.
    versions = db.session.scalars(select(Right).where(Right.key == "R-1").order_by(Right.version)).all()
    assert [(v.version, [h.party.name for h in v.holders]) for v in versions] == [(1, ["张三", "李四"]), (2, ["王五"])]


def test_the_register_as_it_stood_on_a_past_date(registered, make_case, users, clock):
    before_first = registered["first"].entered_at - timedelta(seconds=1)
    case = make_case()
    register.propose(case, "unit", UNIT, UNIT, {"location": "南关区人民大街 1 号 1 单元 101（更名后）",
                                                "land_area_m2": "95.5", "building_area_m2": "88.2",
                                                "land_use": "城镇住宅用地", "county_code": "220102"})
    db.session.commit()
    middle = clock.now
    clock.advance(days=1)
    register.enter(case, users["city_approver"], RegistrationType.CHANGE)
    db.session.commit()
    assert history.unit(UNIT, at=before_first) is None
    assert history.unit(UNIT, at=middle).location == "南关区人民大街 1 号 1 单元 101"
    assert history.unit(UNIT).location.endswith("（更名后）")


def test_a_failed_entry_leaves_the_register_as_it_was(registered, make_case, users, monkeypatch):
    case = make_case()
    register.propose(case, "notation", "", UNIT, {"text": "附记一"})
    register.propose(case, "right", "R-404", UNIT, {}, ends=True)  # ends a right that does not exist
    db.session.commit()
    counts = (db.session.scalar(select(func.count()).select_from(Right)),
              db.session.scalar(select(func.count()).select_from(Unit)))
    with pytest.raises(Conflict):
        register.enter(case, users["city_approver"], RegistrationType.CANCELLATION)
    db.session.rollback()
    assert history.record(UNIT).notations == []
    assert (db.session.scalar(select(func.count()).select_from(Right)),
            db.session.scalar(select(func.count()).select_from(Unit))) == counts
    assert len(register.pending(case)) == 2


def test_a_withdrawn_case_leaves_the_register_untouched(registered, make_case, users):
    from app.engine import runtime

    case = make_case()
    register.propose(case, "notation", "", UNIT, {"text": "不会生效"})
    db.session.commit()
    before = history.record(UNIT)
    runtime.withdraw(case, users["zhangsan"], "不办了")
    db.session.commit()
    assert case.status == CaseStatus.WITHDRAWN
    after = history.record(UNIT)
    assert (after.notations, [r.id for r in after.rights]) == (before.notations, [r.id for r in before.rights])
    assert rules.pending_cases(UNIT) == []  # a withdrawn case no longer holds the unit


def test_a_queued_seizure_takes_effect_when_the_first_is_released(registered, users, clock):
    court_a = register.party("长春市南关区人民法院", IdType.USCC, "11220000013544541J")
    court_b = register.party("长春市中级人民法院", IdType.USCC, "91110000600037341L")
    e1 = register.enter_now(None, None, RegistrationType.SEIZURE, "查封")
    register.lodge_seizure(e1, "S-1", UNIT, court_a, "(2026)吉0102执100号", clock.now)
    clock.advance(hours=1)
    e2 = register.enter_now(None, None, RegistrationType.SEIZURE, "轮候查封")
    register.lodge_seizure(e2, "S-2", UNIT, court_b, "(2026)吉01执200号", clock.now)
    db.session.commit()
    states = {r.key: r.state for r in history.restrictions(UNIT)}
    assert states == {"S-1": RestrictionState.EFFECTIVE, "S-2": RestrictionState.QUEUED}

    clock.advance(days=2)
    e3 = register.enter_now(None, None, RegistrationType.SEIZURE, "解封")
    took_effect = register.release_seizure(e3, "S-1")
    db.session.commit()
    assert took_effect.key == "S-2"
    assert {r.key: r.state for r in history.restrictions(UNIT)} == {"S-2": RestrictionState.EFFECTIVE}
    assert history.record(UNIT).seized


def test_a_seized_unit_blocks_a_transfer(registered, clock):
    court = register.party("长春市南关区人民法院", IdType.USCC, "11220000013544541J")
    e = register.enter_now(None, None, RegistrationType.SEIZURE, "查封")
    register.lodge_seizure(e, "S-1", UNIT, court, "(2026)吉0102执100号", clock.now)
    db.session.commit()
    findings = rules.check_unit(UNIT, changes_ownership=True, applicants_id_numbers={ZHANG[2], LI[2]})
    assert [f.rule for f in rules.blocking(findings)] == ["seized"]
    assert "长春市南关区人民法院" in findings[0].message
    # A change of the holder's name is not a disposition: the seizure does not block it.
    assert rules.blocking(rules.check_unit(UNIT, changes_ownership=False)) == []


def test_every_co_owner_must_apply(registered):
    findings = rules.check_unit(UNIT, changes_ownership=True, applicants_id_numbers={ZHANG[2]})
    assert [f.rule for f in findings] == ["co_owner_missing"]
    assert "李四" in findings[0].message


def test_objection_and_mortgage_rank_warn(registered, users):
    bank = register.party("中国建设银行长春分行", IdType.USCC, "91110000600037341L")
    e = register.enter_now(None, users["admin"].id, RegistrationType.FIRST, "抵押")
    register.write(e, "restriction", "M-1", UNIT, {"kind": RestrictionKind.MORTGAGE, "holder_party_id": bank.id,
                                                   "rank": 1, "amount": Decimal("500000"), "document_no": "抵字1号"})
    register.write(e, "restriction", "O-1", UNIT, {"kind": RestrictionKind.OBJECTION, "document_no": "异字1号"})
    db.session.commit()
    findings = rules.check_unit(UNIT, changes_ownership=True, applicants_id_numbers={ZHANG[2], LI[2]})
    assert sorted((f.rule, f.severity) for f in findings) == [("mortgage_rank", rules.Severity.WARN),
                                                              ("objection", rules.Severity.WARN)]


def test_another_pending_case_blocks_a_second_disposition(registered, make_case):
    first = make_case()
    register.propose(first, "notation", "", UNIT, {"text": "第一件"})
    db.session.commit()
    second = make_case()
    findings = rules.check_unit(UNIT, changes_ownership=True, case_id=second.id,
                                applicants_id_numbers={ZHANG[2], LI[2]})
    assert [f.rule for f in findings] == ["pending_case"]
    assert first.case_no in findings[0].message


def test_unknown_unit(ctx):
    assert [f.rule for f in rules.check_unit(UNIT, changes_ownership=True)] == ["unit_unknown"]


def test_pending_changes_of_an_entered_case_are_kept_with_their_entry(registered, make_case, users):
    case = make_case()
    register.propose(case, "notation", "", UNIT, {"text": "附记"})
    entry = register.enter(case, users["city_approver"], RegistrationType.OTHER)
    db.session.commit()
    assert db.session.scalars(select(PendingChange.entry_id).where(PendingChange.case_id == case.id)).all() == [
        entry.id]
    with pytest.raises(Conflict):
        register.enter(case, users["city_approver"], RegistrationType.OTHER)
