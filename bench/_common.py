"""Shared helpers of the benchmarks: timing, statistics, figures, and the benchmark databases.

A *figure* is a dict: {"median", "p95", "n", "unit", "target", "ok"}; `main()` of every benchmark
returns {name: figure}. Values in ms unless `unit` says otherwise.
"""

import gc
import statistics
import time
from contextlib import contextmanager
from datetime import UTC, datetime

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SEED = 20261102
# The same Monday morning in Beijing the test suite uses, in a year the holiday package knows.
BENCH_NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def ms(ns: int) -> float:
    return ns / 1_000_000


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def figure(samples_ms: list[float], *, unit: str = "ms", target: float | None = None,
           target_text: str = "") -> dict:
    """Median / p95 / n of a list of samples; `target` (if given) is checked against the p95 when the
    target text says so, else against the median."""
    med, high = statistics.median(samples_ms), p95(samples_ms)
    fig = {"median": med, "p95": high, "n": len(samples_ms), "unit": unit, "target": target_text, "ok": None}
    if target is not None:
        fig["ok"] = (high if "p95" in target_text else med) <= target
    return fig


def value(v: float, *, unit: str, target_text: str = "", ok: bool | None = None) -> dict:
    """A single derived number (a ratio, a size, a row count)."""
    return {"median": v, "p95": None, "n": 1, "unit": unit, "target": target_text, "ok": ok}


class Timer:
    """Collects perf_counter_ns durations of named phases."""

    def __init__(self):
        self.samples: dict[str, list[float]] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter_ns()
        try:
            yield
        finally:
            self.samples.setdefault(name, []).append(ms(time.perf_counter_ns() - start))

    def add(self, name: str, duration_ms: float) -> None:
        self.samples.setdefault(name, []).append(duration_ms)


@contextmanager
def gc_collected():
    """Start a measured loop from a collected heap, so garbage from set-up is not charged to it."""
    gc.collect()
    yield


def ensure_database(name: str) -> str:
    """Create the PostgreSQL database if missing (autocommit: CREATE DATABASE cannot run in a transaction)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{PG_SERVER}/{name}"


def make_app(database_url: str):
    """The Flask app on a benchmark database: test config (no in-process sweeper, no rate limits)."""
    import tempfile

    from app import create_app

    return create_app("test", SQLALCHEMY_DATABASE_URI=database_url,
                      SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
                      OBJECT_STORE_DIR=tempfile.mkdtemp(prefix="smartland-bench-objects-"))


def fixed_clock():
    """Freeze the application clock (and with it Spiff's timers) at BENCH_NOW, for repeatable deadlines."""
    from app.core.clock import set_clock

    set_clock(lambda: BENCH_NOW)


def release_clock():
    from app.core.clock import set_clock

    set_clock(None)


def fresh_schema(app) -> None:
    """Empty tables, the deployed models and the demo organisation (inside an app context)."""
    from app.demo_data import seed_all
    from app.engine.definitions import deploy_all
    from app.extensions import db

    db.drop_all()
    db.create_all()
    deploy_all(app.config["PROCESSES_DIR"])
    seed_all(with_cases=False)
    db.session.commit()
