"""The demo register is well-formed: numbers parse, identifiers check, and it holds the cases the
issue asks for (mortgaged units, one seized, one under objection)."""

from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from app.extensions import db
from app.orgs.models import IdType
from app.register import demo, history, rules
from app.register.models import Party, RestrictionKind, Unit
from app.register.unit_numbers import parse


def test_demo_register(ctx):
    assert demo.seed() == demo.UNITS
    assert demo.seed() == 0  # once only
    db.session.commit()
    numbers = db.session.scalars(select(Unit.key)).all()
    assert len(numbers) == len(set(numbers)) == demo.UNITS
    assert {parse(n).county for n in numbers} == {c for c, _, _ in demo.COUNTIES}
    for party in db.session.scalars(select(Party)):
        assert (ric if party.id_type == IdType.RESIDENT_ID else uscc).is_valid(party.id_number), party.id_number
    seized = history.record(demo.unit_number("220102", 6))
    assert seized.seized
    assert [f.rule for f in rules.blocking(rules.check_unit(seized.unit.key, changes_ownership=True))] == ["seized"]
    objected = history.record(demo.unit_number("220102", 9))
    assert objected.of_kind(RestrictionKind.OBJECTION)
    mortgaged = sum(1 for n in numbers if history.record(n).mortgages)
    assert mortgaged == demo.UNITS // 5
    co_owned = db.session.scalar(select(func.count()).select_from(Party)) - demo.UNITS - len(demo.BANKS) - 1
    assert co_owned == len([n for n in range(demo.UNITS) if n % 7 == 3])
