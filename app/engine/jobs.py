"""The timer sweep: a job boundary that commits once per instance fired.

Due timer rows are taken with FOR UPDATE SKIP LOCKED, so several sweepers (Celery workers, or the
in-process thread of `make run`) can run at once and each timer fires once.
"""

import logging
import threading
import time

from sqlalchemy import select

from app.core.clock import now_utc
from app.engine import runtime
from app.engine.errors import EngineError
from app.engine.models import InstanceStatus, InstanceTimer, ProcessInstance
from app.extensions import db

log = logging.getLogger(__name__)


def sweep_timers(limit: int = 500) -> int:
    """Fire due timers, one instance per transaction; returns how many instances were advanced."""
    done: set[int] = set()
    advanced = 0
    while len(done) < limit:
        query = (
            select(InstanceTimer.instance_id)
            .join(ProcessInstance, ProcessInstance.id == InstanceTimer.instance_id)
            .where(InstanceTimer.fire_at <= now_utc(), ProcessInstance.status == InstanceStatus.RUNNING)
            .order_by(InstanceTimer.fire_at, InstanceTimer.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=InstanceTimer)
        )
        if done:
            query = query.where(InstanceTimer.instance_id.not_in(done))
        instance_id = db.session.scalar(query)
        if instance_id is None:
            db.session.rollback()
            break
        done.add(instance_id)
        try:
            if runtime.fire_timers(instance_id):
                advanced += 1
            db.session.commit()
        except EngineError:
            db.session.rollback()
            log.exception("timer of instance %s could not fire", instance_id)
    return advanced


def start_in_process_sweeper(app) -> None:
    """The embedded column of DESIGN.md: a daemon thread instead of Celery beat (timers, the outbox and
    the archive's scheduled fixity audit)."""

    def loop():
        while True:
            time.sleep(app.config["TIMER_SWEEP_SECONDS"])
            with app.app_context():
                from app.core.outbox import deliver_due
                from app.records.auditing import run_if_due

                for job in (sweep_timers, deliver_due, run_if_due):
                    try:
                        job()
                    except Exception:
                        db.session.rollback()
                        log.exception("%s failed", job.__name__)

    threading.Thread(target=loop, name="timer-sweeper", daemon=True).start()
