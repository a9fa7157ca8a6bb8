"""Home, health, and the admin page for each year's holiday schedule."""

from datetime import date

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, text

from app.core import audit
from app.core.calendar import ScheduleError, parse_schedule_text, statutory_holidays
from app.core.deadlines import forget_calendar
from app.core.models import HolidaySchedule
from app.extensions import db
from app.orgs.models import Role
from app.orgs.permissions import has_role

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("cases.workbench" if current_user.is_staff else "cases.my_cases"))


@bp.route("/healthz")
def healthz():
    """Database, object store and job queue, each 'ok' or the error; 503 if any is down."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "detail": db.engine.dialect.name}
    except Exception as exc:
        checks["database"] = {"ok": False, "detail": type(exc).__name__}
    try:
        from archive.storage import store_from_config

        checks["object_store"] = {"ok": True, "detail": store_from_config(current_app.config).ping()}
    except Exception as exc:
        checks["object_store"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:200]}
    broker = current_app.config["CELERY_BROKER_URL"]
    if broker:
        try:
            import redis

            redis.Redis.from_url(broker, socket_timeout=2).ping()
            checks["job_queue"] = {"ok": True, "detail": "redis"}
        except Exception as exc:
            checks["job_queue"] = {"ok": False, "detail": type(exc).__name__}
    else:
        checks["job_queue"] = {"ok": True, "detail": "in-process"}
    healthy = all(c["ok"] for c in checks.values())
    db.session.rollback()
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503


def _admin_only():
    if not has_role(current_user, Role.ADMIN):
        abort(403)


@bp.route("/admin/calendar", methods=["GET", "POST"])
@login_required
def calendar_admin():
    _admin_only()
    if request.method == "POST":
        try:
            year = int(request.form.get("year", ""))
            if not 2000 <= year <= 2200:
                raise ValueError
        except ValueError:
            flash(_("Enter a year between 2000 and 2200."), "error")
            return redirect(url_for("core.calendar_admin"))
        try:
            schedule = parse_schedule_text(year, request.form.get("holidays", ""), request.form.get("workdays", ""))
        except ScheduleError as exc:
            flash(str(exc), "error")
            return render_template("core/calendar.html", rows=_rows(), form=request.form), 422
        row = db.session.get(HolidaySchedule, year) or HolidaySchedule(year=year)
        row.holidays = sorted(d.isoformat() for d in schedule.holidays)
        row.workdays = sorted(d.isoformat() for d in schedule.workdays)
        row.source = (request.form.get("source") or "").strip()[:500]
        row.entered_by_id = current_user.id
        db.session.add(row)
        audit.record("calendar.schedule", "holiday_schedule", year, actor_id=current_user.id,
                     detail={"holidays": row.holidays, "workdays": row.workdays})
        db.session.flush()
        forget_calendar()
        flash(_("The %(year)d schedule is saved; new deadlines use it.", year=year), "success")
        return redirect(url_for("core.calendar_admin"))
    return render_template("core/calendar.html", rows=_rows(), form={})


def _rows():
    rows = db.session.scalars(select(HolidaySchedule).order_by(HolidaySchedule.year.desc())).all()
    next_year = date.today().year + 1
    return {"entered": rows, "next_year": next_year,
            "next_year_fallback": sorted(statutory_holidays(next_year))}
