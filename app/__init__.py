"""Application factory: configuration, extensions, blueprints, the transaction boundary, CLI commands."""

import os
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from config import CONFIGS, INSTANCE_DIR
from app.extensions import babel, csrf, db, limiter, login_manager, migrate


def create_app(config_name: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(CONFIGS[config_name or os.environ.get("SMARTLAND_ENV", "development")])
    app.config.update(overrides)
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("SECRET_KEY must be set (environment variable SECRET_KEY)")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _init_extensions(app)
    _register_blueprints(app)
    _register_transaction_boundary(app)
    _register_error_pages(app)

    from app.cli import register_cli

    register_cli(app)
    from app import template_helpers

    template_helpers.register(app)
    _check_documents(app, config_name or os.environ.get("SMARTLAND_ENV", "development"))
    if app.config.get("IN_PROCESS_SWEEPER") and not app.testing:
        from app.engine.jobs import start_in_process_sweeper

        start_in_process_sweeper(app)
    return app


def _check_documents(app: Flask, config_name: str) -> None:
    """Certificates need their font, and in production the bureau's key: missing either is a set-up
    error reported now, not a certificate printed with empty boxes or left unsigned later."""
    from app.certificates import rendering
    from documents import fonts

    fonts.load(app.config["CERTIFICATE_FONT"])
    if config_name == "production":
        with app.app_context():
            rendering.signer()
    rendering.init_app(app)
    from app.records import filing

    filing.init_app(app)


def _select_locale() -> str:
    if not has_request_context():  # jobs and CLI speak the default language
        return "zh_Hans_CN"
    chosen = session.get("locale") or (current_user.locale if current_user and current_user.is_authenticated else "")
    if chosen in ("zh_Hans_CN", "en"):
        return chosen
    return "zh_Hans_CN"


def _init_extensions(app: Flask) -> None:
    # Models must be imported before Alembic or create_all look at the metadata.
    from app import models  # noqa: F401
    # Service-task handlers register by name; deploying a model checks the names it calls.
    from app.register import handlers  # noqa: F401
    from app.certificates import handlers as certificate_handlers  # noqa: F401

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    from app.orgs.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id))


def _register_blueprints(app: Flask) -> None:
    from app.api.views import bp as api_bp
    from app.cases.portal_views import bp as portal_bp
    from app.cases.statistics_views import bp as stats_bp
    from app.cases.views import bp as cases_bp
    from app.certificates.views import bp as certificates_bp
    from app.core.views import bp as core_bp
    from app.orgs.views import bp as auth_bp
    from app.records.views import bp as records_bp
    from app.register.views import bp as register_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(register_bp)
    app.register_blueprint(stats_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def _register_error_pages(app: Flask) -> None:
    """Refusals in the user's language with a way back; the API keeps its JSON answers."""
    from flask import render_template, request
    from flask_babel import lazy_gettext as _l

    messages = {
        403: _l("You may not open this page."),
        404: _l("There is no such page, or it is not within your jurisdiction."),
        413: _l("The files sent together are too large. Send fewer or smaller files."),
    }

    def page(exc):
        if request.path.startswith("/api/"):
            return {"error": exc.name}, exc.code
        return render_template("error.html", code=exc.code, message=messages[exc.code]), exc.code

    for code in messages:
        app.register_error_handler(code, page)


def _register_transaction_boundary(app: Flask) -> None:
    """One commit per request: operations only flush; a successful response commits, anything else rolls back."""

    @app.after_request
    def commit_or_rollback(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
