"""Test harness. The database is real (PostgreSQL when TEST_DATABASE_URL points at it, else a SQLite
file) and tests commit for real, because the concurrency, sweeper and crash tests need several
connections to see each other's work. Each test starts from empty tables instead of a rolled-back
transaction; the deployed process definitions are kept across tests."""

import os
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.core.clock import set_clock
from app.core.deadlines import forget_calendar
from app.orgs import tree
from app.extensions import db

KEEP = {"process_definition"}


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    options = {"pool_pre_ping": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    from documents.signing import make_development_pkcs12

    key = tmp_path_factory.mktemp("signing") / "test.p12"
    key.write_bytes(make_development_pkcs12("长春市自然资源局", b"test"))
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=options,
                     OBJECT_STORE_DIR=str(tmp_path_factory.mktemp("objects")),
                     SIGNING_P12=str(key), SIGNING_P12_PASSWORD="test")
    if app.config["OBJECT_STORE"] == "s3":
        from archive.storage import store_from_config

        store_from_config(app.config).ensure_bucket()
    with app.app_context():
        db.drop_all()
        db.create_all()
        from app.engine.definitions import deploy_all

        deploy_all(app.config["PROCESSES_DIR"])
        db.session.commit()
    return app


def _empty_tables():
    tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in KEEP]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


class Clock:
    """A clock the test moves by hand; the engine, the sweeper and Spiff's timers all read it."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock():
    # A Monday morning in Beijing, in a year the holiday package knows.
    clock = Clock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    set_clock(clock)
    yield clock
    set_clock(None)


@pytest.fixture
def ctx(app, clock):
    """An app context with empty tables, the demo organisation and people; no cases."""
    with app.app_context():
        _empty_tables()
        forget_calendar()
        tree.forget()  # TRUNCATE bypasses the ORM events that drop the org-unit copy
        from app.demo_data import seed_all

        seed_all(with_cases=False)
        db.session.commit()
        yield app
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def users(ctx):
    from sqlalchemy import select

    from app.orgs.models import User

    return {u.username: u for u in db.session.scalars(select(User))}


@pytest.fixture
def units(ctx):
    from sqlalchemy import select

    from app.orgs.models import OrgUnit

    return {u.code: u for u in db.session.scalars(select(OrgUnit))}


@pytest.fixture
def make_case(ctx, users, units):
    """Open a demo case in a township as the applicant zhangsan, committed."""
    from app.cases.models import Service
    from app.cases.operations import open_case

    def make(township: str = "220102001", area: float = 800.0, title: str = "测试宗地"):
        applicant = users["zhangsan"]
        case = open_case(db.session.get(Service, "demo_review"), units[township], title, {"area_m2": area},
                         applicant=applicant, actor_id=applicant.id)
        db.session.commit()
        return case

    return make


class _FreshContextClient(FlaskClient):
    """Each request in its own app context (its own `g` and session), as on a real server; the
    test's own app context stays underneath for direct database checks."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(ctx):
    ctx.test_client_class = _FreshContextClient
    try:
        return ctx.test_client()
    finally:
        ctx.test_client_class = None


def login(client, username: str, password: str | None = None):
    from app.demo_data import DEMO_PASSWORD

    client.get("/login")
    token = _csrf(client, "/login")
    return client.post("/login", data={"username": username, "password": password or DEMO_PASSWORD,
                                       "csrf_token": token})


def _csrf(client, path: str) -> str:
    import re

    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1) if match else ""


@pytest.fixture
def csrf():
    return _csrf
