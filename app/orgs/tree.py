"""The org-unit tree held in memory: a city has a few hundred units and they change rarely, while
every engine save resolves lanes against it. Any change made through the ORM in this process drops
the copy at once; other processes see a change within `TTL_SECONDS`."""

import time

from sqlalchemy import event, select

from app.orgs.models import OrgUnit, Tier

TTL_SECONDS = 60.0
_tree: dict[int, tuple[int | None, Tier]] | None = None
_townships: list[tuple[int, str]] = []
_loaded_at = 0.0


def forget() -> None:
    global _tree
    _tree = None


def _nodes() -> dict[int, tuple[int | None, Tier]]:
    global _tree, _townships, _loaded_at
    if _tree is None or time.monotonic() - _loaded_at > TTL_SECONDS:
        from app.extensions import db

        rows = db.session.execute(select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.tier, OrgUnit.code, OrgUnit.name)
                                  .order_by(OrgUnit.code)).all()
        names = {r.id: r.name for r in rows}
        _townships = [(r.id, f"{names.get(r.parent_id, '')} {r.name}") for r in rows if r.tier == Tier.TOWNSHIP]
        _tree, _loaded_at = {r.id: (r.parent_id, r.tier) for r in rows}, time.monotonic()
    return _tree


def townships() -> list[tuple[int, str]]:
    """(id, "county township") of every township, in code order: the service points of the forms."""
    _nodes()
    return list(_townships)


def unit_at_tier(unit_id: int, tier: Tier) -> int:
    """The id of the unit of that tier above (or at) `unit_id`; the unit itself when there is none,
    as for a case filed directly with a county whose model gives work to a township lane."""
    nodes = _nodes()
    if unit_id not in nodes:  # a unit created by another process since the copy was taken
        forget()
        nodes = _nodes()
    current: int | None = unit_id
    while current is not None:
        parent_id, unit_tier = nodes[current]
        if unit_tier == tier:
            return current
        current = parent_id
    return unit_id


@event.listens_for(OrgUnit, "after_insert")
@event.listens_for(OrgUnit, "after_update")
@event.listens_for(OrgUnit, "after_delete")
def _changed(mapper, connection, target) -> None:
    forget()
