"""The register as staff read it: a unit's page, now or as it stood on a past date."""

from datetime import date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.core import audit
from app.core.clock import LOCAL
from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier
from app.orgs.permissions import scope_unit_ids
from app.register import history
from app.register.unit_numbers import UnitNumberError, parse

bp = Blueprint("register", __name__)


def may_read_county(user, county_code: str) -> bool:
    """Staff of the county, of its townships, or above it."""
    county = db.session.scalar(select(OrgUnit.id).where(OrgUnit.code == county_code))
    if county is None or not user.is_staff:
        return False
    return county in scope_unit_ids(user) or any(
        tree.unit_at_tier(r.org_unit_id, Tier.COUNTY) == county for r in user.roles)


@bp.route("/register")
@login_required
def search():
    if not current_user.is_staff:
        abort(403)
    raw = (request.args.get("unit_no") or "").strip()
    if raw:
        try:
            number = parse(raw)
        except UnitNumberError as exc:
            flash(str(exc), "error")
        else:
            return redirect(url_for("register.unit_page", unit_no=number.value, at=request.args.get("at") or None))
    return render_template("register/search.html", raw=raw)


@bp.route("/register/units/<unit_no>")
@login_required
def unit_page(unit_no: str):
    try:
        number = parse(unit_no)
    except UnitNumberError:
        abort(404)
    if not may_read_county(current_user, number.county):
        abort(404)  # outside one's jurisdiction the unit does not exist as far as the user can tell
    at, as_of = None, request.args.get("at") or ""
    if as_of:
        try:
            # The end of that day in Changchun: "as it stood on" a date includes the day's entries.
            at = datetime.combine(date.fromisoformat(as_of) + timedelta(days=1), time(), LOCAL)
        except ValueError:
            flash(_("Give the date as YYYY-MM-DD."), "error")
            return redirect(url_for("register.unit_page", unit_no=number.value))
    record = history.record(number.value, at)
    if record is None and at is None:
        abort(404)
    audit.record("register.view", "unit", number.value, actor_id=current_user.id, ip=request.remote_addr or "",
                 detail={"at": as_of} if as_of else {})
    return render_template("register/unit.html", number=number, record=record, as_of=as_of)
