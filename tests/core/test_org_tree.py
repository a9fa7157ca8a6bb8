"""The in-memory org-unit tree that lanes resolve against."""

from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier


def test_a_unit_resolves_to_its_ancestor_at_each_tier(units):
    township = units["220102001"]
    assert tree.unit_at_tier(township.id, Tier.TOWNSHIP) == township.id
    assert tree.unit_at_tier(township.id, Tier.COUNTY) == units["220102"].id
    assert tree.unit_at_tier(township.id, Tier.CITY) == units["220100"].id
    # A county has no township above it: township work stays with the county.
    assert tree.unit_at_tier(units["220122"].id, Tier.TOWNSHIP) == units["220122"].id


def test_a_change_through_the_orm_is_seen_at_once(units):
    township = units["220102001"]
    assert tree.unit_at_tier(township.id, Tier.COUNTY) == units["220102"].id
    township.parent_id = units["220122"].id  # moved to 农安县
    db.session.flush()
    assert tree.unit_at_tier(township.id, Tier.COUNTY) == units["220122"].id
    new = OrgUnit(code="220122199", name="新设镇", tier=Tier.TOWNSHIP, parent_id=units["220122"].id)
    db.session.add(new)
    db.session.flush()
    assert tree.unit_at_tier(new.id, Tier.COUNTY) == units["220122"].id
