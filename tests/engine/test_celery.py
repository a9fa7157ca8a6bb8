"""The timer sweep as a Celery job through a real Redis broker and an in-process worker."""

import os

import pytest
import redis
from sqlalchemy import select

from app.cases.models import CaseEvent, EventKind
from app.extensions import db
from tests.engine.test_flow import complete, only_task

BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running")
def test_sweep_job_fires_due_timers_through_redis(app, make_case, users, clock):
    from celery.contrib.testing.worker import start_worker

    from app.celery_jobs import make_celery

    case = make_case()
    complete(only_task(case), users["nanling_clerk"], decision="accept")
    clock.advance(days=6)
    app.config["CELERY_BROKER_URL"] = BROKER
    celery = make_celery(app)
    celery.conf.update(task_ignore_result=False, result_backend=BROKER)
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        fired = celery.tasks["smartland.sweep_timers"].delay().get(timeout=30)
    assert fired == 1
    db.session.expire_all()
    events = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.TIMER_FIRED)).all()
    assert [e.task_bpmn_id for e in events] == ["review_warning"]
