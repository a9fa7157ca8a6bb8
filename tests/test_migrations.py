"""Migrations and models must describe the same schema."""

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db


def test_migrations_match_models(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL", "")
    if base.startswith("postgresql"):
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS smartland_migration_check"))
            conn.execute(text("CREATE DATABASE smartland_migration_check"))
        admin.dispose()
        url = base.rsplit("/", 1)[0] + "/smartland_migration_check"
    else:
        url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app("test", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        db.engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
