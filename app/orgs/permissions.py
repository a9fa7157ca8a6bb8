"""Who may see and do what. Every view asks these functions; nothing else decides access."""

from flask import g
from sqlalchemy import select

from app.orgs.models import OrgUnit, Role, RoleAssignment, Tier, User

TIER_RANK = {Tier.TOWNSHIP: 0, Tier.COUNTY: 1, Tier.CITY: 2}


def _units() -> dict[int, OrgUnit]:
    """All org units, once per request (a city has a few hundred at most)."""
    from app.extensions import db

    if "org_units" not in g:
        g.org_units = {u.id: u for u in db.session.scalars(select(OrgUnit))}
    return g.org_units


def role_pairs(user: User) -> set[tuple[int, Role]]:
    return {(r.org_unit_id, r.role) for r in user.roles}


def descendants_and_self(unit_id: int) -> set[int]:
    units = _units()
    children: dict[int | None, list[int]] = {}
    for unit in units.values():
        children.setdefault(unit.parent_id, []).append(unit.id)
    found, stack = set(), [unit_id]
    while stack:
        current = stack.pop()
        found.add(current)
        stack.extend(children.get(current, []))
    return found


def scope_unit_ids(user: User) -> set[int]:
    """The units whose cases a staff member may see: where they hold any role, and everything below."""
    if not user.is_authenticated or not user.is_staff:
        return set()
    key = f"scope_{user.id}"
    if key not in g:
        scope: set[int] = set()
        for unit_id in {r.org_unit_id for r in user.roles}:
            scope |= descendants_and_self(unit_id)
        setattr(g, key, scope)
    return getattr(g, key)


def has_role(user: User, *roles: Role) -> bool:
    return user.is_authenticated and any(r.role in roles for r in user.roles)


def can_view_case(user: User, case) -> bool:
    """Staff within their jurisdiction; the applicant; and the other parties to a joint application,
    who must see what they are asked to confirm."""
    if not user.is_authenticated:
        return False
    if not user.is_staff:
        return case.applicant_id == user.id or _is_party(user, case)
    return case.jurisdiction_id in scope_unit_ids(user)


def _is_party(user: User, case) -> bool:
    from app.cases.models import CaseParty
    from app.extensions import db

    return bool(user.id_number) and db.session.scalar(select(CaseParty.id).where(
        CaseParty.case_id == case.id, CaseParty.id_number == user.id_number).limit(1)) is not None


def can_work_on(user: User, task) -> bool:
    """Claim or complete: the user holds the task's role in the task's office, and nobody else has claimed it."""
    return (
        user.is_authenticated
        and user.is_staff
        and (task.candidate_org_id, task.candidate_role) in role_pairs(user)
        and task.assignee_id in (None, user.id)
    )


def supervised_unit_ids(user: User) -> set[int]:
    """Units where the user may reassign work: strictly below a unit where they are supervisor."""
    below: set[int] = set()
    for r in user.roles:
        if r.role == Role.SUPERVISOR:
            below |= descendants_and_self(r.org_unit_id) - {r.org_unit_id}
    return below


def can_reassign(user: User, task) -> bool:
    return user.is_authenticated and user.is_staff and task.candidate_org_id in supervised_unit_ids(user)


def can_supervise_case(user: User, case) -> bool:
    """Suspend or resume: a supervisor whose jurisdiction covers the case."""
    return any(
        r.role == Role.SUPERVISOR and case.jurisdiction_id in descendants_and_self(r.org_unit_id) for r in user.roles
    )


def eligible_assignees(task) -> list[User]:
    from app.extensions import db

    return list(db.session.scalars(
        select(User).join(RoleAssignment).where(
            RoleAssignment.org_unit_id == task.candidate_org_id, RoleAssignment.role == task.candidate_role,
            User.active.is_(True),
        ).order_by(User.display_name)
    ))
