"""Login, logout and the language switch."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.core import audit
from app.extensions import db, limiter
from app.orgs.models import User, UserKind
from app.orgs.passwords import hash_password, verify_password
from forms.auth import LoginForm, SignupForm

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


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def signup():
    """Applicants create their own account; one account per ID number, so a party to a joint
    application is the one person who can confirm it."""
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = SignupForm()
    if form.validate_on_submit():
        username = form.username.data.strip()
        if db.session.scalar(select(User.id).where(User.username == username)):
            form.username.errors.append(_("This username is taken."))
        elif db.session.scalar(select(User.id).where(User.id_number == form.id_number.data)):
            form.id_number.errors.append(_("An account with this ID number exists already. Log in with it."))
        else:
            user = User(username=username, display_name=form.display_name.data.strip(), kind=UserKind.APPLICANT,
                        id_type=form.id_type, id_number=form.id_number.data, phone=form.phone.data or "",
                        password_hash=hash_password(form.password.data))
            db.session.add(user)
            db.session.flush()
            audit.record("auth.signup", "user", user.id, actor_id=user.id, ip=request.remote_addr or "")
            session.clear()
            login_user(user)
            session.permanent = True
            flash(_("Welcome. Your account is ready."), "success")
            return redirect(url_for("portal.services"))
    return render_template("auth/signup.html", form=form), 422 if form.errors else 200


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
