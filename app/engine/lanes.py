"""Lanes are named `<tier>:<role>`, optionally followed by a label for people reading the diagram
(`township:clerk 乡镇（街道）窗口`). The tier resolves against the case's jurisdiction to a candidate unit."""

from app.orgs import tree
from app.orgs.models import Role, Tier


class LaneError(ValueError):
    pass


def parse_lane(lane: str | None) -> tuple[Tier, Role]:
    key = (lane or "").split(maxsplit=1)[0] if (lane or "").strip() else ""
    tier, _, role = key.partition(":")
    try:
        return Tier(tier), Role(role)
    except ValueError:
        raise LaneError(f"lane {lane!r} is not '<tier>:<role>' with a known tier and role") from None


def candidate_unit_id(jurisdiction_id: int, tier: Tier) -> int:
    """The office that gets the work: the case's own unit at that tier, walking up the parent chain."""
    return tree.unit_at_tier(jurisdiction_id, tier)
