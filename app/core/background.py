"""Work done in the background after the commit that queued it (certificate rendering, archive filing).

An operation that queues work marks the session (`job.queue()`); when that transaction commits, the
job is woken: a thread of the web process (mode `thread`, the embedded default), a Celery task sent
by name (`celery`, production; beat also runs it periodically in case a kick is lost), or nothing
(`manual`: tests call the job themselves). A rollback forgets the mark. The job itself takes its rows
with FOR UPDATE SKIP LOCKED and commits per item, so any number of workers can share the work.
"""

import logging
import threading
from collections.abc import Callable

from flask import current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.core.clock import now_utc
from app.extensions import db

log = logging.getLogger(__name__)
_jobs: list["BackgroundJob"] = []


class BackgroundJob:
    def __init__(self, name: str, mode_setting: str, task_name: str, run: Callable[[], object]):
        self.name, self.mode_setting, self.task_name, self.run = name, mode_setting, task_name, run
        self._flag = f"{name}_queued"
        self._wake, self._stop = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _jobs.append(self)

    def queue(self) -> None:
        """Wake the job once the current transaction commits."""
        db.session.info[self._flag] = True

    def _start_thread(self, app) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return

            def loop():
                while not self._stop.is_set():
                    self._wake.wait(timeout=app.config["CERTIFICATE_POLL_SECONDS"])
                    self._wake.clear()
                    if self._stop.is_set():
                        break
                    with app.app_context():
                        try:
                            self.run()
                        except Exception:
                            db.session.rollback()
                            log.exception("%s failed", self.name)

            self._stop.clear()
            self._thread = threading.Thread(target=loop, name=self.name, daemon=True)
            self._thread.start()

    def stop_thread(self, timeout: float = 30) -> None:
        """End the thread after its current item (tests; a web process just exits)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def kick(self, app) -> None:
        """Have the queued work done soon, without waiting for it."""
        mode = app.config[self.mode_setting]
        if mode == "thread":
            self._start_thread(app)
            self._wake.set()
        elif mode == "celery":
            from app.celery_jobs import client

            try:
                client(app).send_task(self.task_name)
            except Exception:  # the broker is down: Celery beat's periodic run picks the rows up later
                log.exception("could not queue %s", self.name)

    def init_app(self, app) -> None:
        if app.config[self.mode_setting] == "thread" and not app.testing:
            self._start_thread(app)  # also picks up work left queued by a previous run


def count_progress(model, row_id: int, ok: bool) -> None:
    """Count one item of a batch (a row of MODEL with total, done, failed, finished_at) as done or
    failed, in SQL so concurrent workers do not lose counts; the batch finishes with its last item."""
    column = model.done if ok else model.failed
    db.session.execute(update(model).where(model.id == row_id).values({column.key: column + 1}))
    batch = db.session.get(model, row_id, populate_existing=True)
    if batch.done + batch.failed >= batch.total and batch.finished_at is None:
        batch.finished_at = now_utc()


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    for job in _jobs:
        if session.info.pop(job._flag, False) and has_app_context():
            job.kick(current_app._get_current_object())


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    for job in _jobs:
        session.info.pop(job._flag, None)
