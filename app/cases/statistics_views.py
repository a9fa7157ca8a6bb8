"""The "at most one visit" (最多跑一次) statistics page for staff: figures of the offices they may see."""

from datetime import date, datetime

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.cases import statistics
from app.cases.charts import BarChart, Series, bar_chart
from app.cases.models import Service
from app.cases.statistics import DEFAULT_DAYS, Basis, Period, Report
from app.core.clock import now_utc
from app.extensions import db
from app.orgs.models import OrgUnit

bp = Blueprint("stats", __name__)

# No case predates the system; the bound also keeps a typed year 0001 from overflowing the UTC conversion.
EARLIEST = date(2000, 1, 1)
SHARES = (0, 0.25, 0.5, 0.75, 1)


@bp.route("/statistics")
@login_required
def one_visit():
    if not current_user.is_staff:
        abort(403)
    services = db.session.scalars(select(Service).order_by(Service.code)).all()
    service_code = request.args.get("service", "")
    if service_code not in {s.code for s in services}:
        service_code = ""
    result = statistics.report(current_user, _period(request.args), service_code or None)
    return render_template("cases/statistics.html", report=result, services=services, charts=_charts(result),
                           percent=_percent, number=_number)


def _period(args) -> Period:
    """The period asked for; a date that cannot be read, or a period ending before it starts, is said so and
    the default period shown instead."""
    basis = Basis(args["basis"]) if args.get("basis") in set(Basis) else Basis.CLOSED
    default = Period.default(now_utc(), basis)
    days = {}
    for name, fallback in (("from", default.first), ("to", default.last)):
        value = args.get(name, "").strip()
        try:
            days[name] = _day(value) if value else fallback
        except ValueError:
            flash(_('"%(value)s" is not a date from 2000 on, written like 2026-03-31. Showing the last %(days)d '
                    "days instead.", value=value, days=DEFAULT_DAYS), "error")
            return default
    if days["from"] > days["to"]:
        flash(_("The period starts after it ends. Showing the last %(days)d days instead.", days=DEFAULT_DAYS),
              "error")
        return default
    return Period(days["from"], days["to"], basis)


def _day(value: str) -> date:
    day = datetime.strptime(value, "%Y-%m-%d").date()
    if day < EARLIEST:
        raise ValueError(value)
    return day


def _percent(value: float | None) -> str:
    return "—" if value is None else format_percent(value, "#,##0.#%")


def _number(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0.#")


def _office_name(unit: OrgUnit) -> str:
    return unit.name_en if str(get_locale()) == "en" and unit.name_en else unit.name


def _charts(result: Report) -> list[BarChart]:
    with_closed = [row for row in result.by_office if row.closed]
    charts = []
    if with_closed:
        charts.append(bar_chart(
            "visits", _("Closed cases by physical visits, per office"),
            [Series(_("At most one visit"), "series-visits-one"), Series(_("No visit"), "series-visits-zero")],
            [(_office_name(r.unit), (r.at_most_one_visit_share, r.zero_visits_share)) for r in with_closed],
            _percent, SHARES))
        charts.append(bar_chart(
            "on-time", _("Closed on time, per office"), [Series(_("Closed on time"), "series-on-time")],
            [(_office_name(r.unit), (r.on_time_rate,)) for r in with_closed], _percent, SHARES))
    with_open = [row for row in result.by_office if row.backlog]
    if with_open:
        charts.append(bar_chart(
            "backlog", _("Open cases now, per office"),
            [Series(_("Open cases"), "series-open"), Series(_("Overdue"), "series-overdue")],
            [(_office_name(r.unit), (r.backlog, r.overdue)) for r in with_open], _number))
    return charts
