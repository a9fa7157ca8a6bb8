"""Login, logout and the language switch."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.core import audit
from app.extensions import db, limiter
from app.orgs.models import User
from app.orgs.passwords import verify_password
from forms.auth import LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None, fallback: str) -> str:
    if not target or urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if verify_password(user.password_hash if user else None, form.password.data) and user.active:
            session.clear()
            login_user(user)
            session.permanent = True
            audit.record("auth.login", "user", user.id, actor_id=user.id, ip=request.remote_addr or "")
            home = url_for("cases.workbench") if user.is_staff else url_for("cases.my_cases")
            return redirect(_safe_next(request.args.get("next"), home))
        audit.record("auth.login_failed", "user", form.username.data.strip()[:64], ip=request.remote_addr or "")
        flash(_("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        audit.record("auth.logout", "user", current_user.id, actor_id=current_user.id, ip=request.remote_addr or "")
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(_safe_next(request.form.get("next"), url_for("core.index")))
