"""Celery jobs. Each job is a job boundary: it runs in an app context and commits what its operations flushed."""

from functools import lru_cache

from celery import Celery


@lru_cache(maxsize=2)
def _client(broker: str) -> Celery:
    return Celery("smartland-client", broker=broker)


def client(flask_app) -> Celery:
    """A Celery app for sending tasks by name from the web process (the worker defines them)."""
    return _client(flask_app.config["CELERY_BROKER_URL"] or "redis://127.0.0.1:6379/0")


def make_celery(flask_app) -> Celery:
    celery = Celery("smartland", broker=flask_app.config["CELERY_BROKER_URL"] or "redis://127.0.0.1:6379/0")
    celery.conf.update(
        task_ignore_result=True,
        task_acks_late=True,  # a job lost with its worker runs again; the sweep is safe to repeat
        worker_prefetch_multiplier=1,
        beat_schedule={
            "sweep-timers": {
                "task": "smartland.sweep_timers",
                "schedule": float(flask_app.config["TIMER_SWEEP_SECONDS"]),
            },
            "deliver-outbox": {
                "task": "smartland.deliver_outbox",
                "schedule": float(flask_app.config["OUTBOX_SECONDS"]),
            },
            # Certificates are rendered on a kick after the commit that issued them; this catches any
            # whose kick was lost (broker down, worker restarted).
            "render-certificates": {
                "task": "smartland.render_certificates",
                "schedule": float(flask_app.config["CERTIFICATE_POLL_SECONDS"]),
            },
            # Filing is kicked after the commit that queued it; this catches lost kicks and locks missed.
            "file-archive": {
                "task": "smartland.file_archive",
                "schedule": float(flask_app.config["CERTIFICATE_POLL_SECONDS"]),
            },
            "audit-archive": {
                "task": "smartland.audit_archive",
                "schedule": float(flask_app.config["ARCHIVE_AUDIT_HOURS"]) * 3600,
            },
        },
    )

    @celery.task(name="smartland.sweep_timers")
    def sweep_timers_job() -> int:
        from app.engine.jobs import sweep_timers

        with flask_app.app_context():
            return sweep_timers()

    @celery.task(name="smartland.deliver_outbox")
    def deliver_outbox_job() -> int:
        from app.core.outbox import deliver_due

        with flask_app.app_context():
            return deliver_due()

    @celery.task(name="smartland.render_certificates")
    def render_certificates_job() -> int:
        from app.certificates.rendering import render_pending

        with flask_app.app_context():
            return render_pending()

    @celery.task(name="smartland.file_archive")
    def file_archive_job() -> int:
        from app.records.filing import run_jobs

        with flask_app.app_context():
            return run_jobs()

    @celery.task(name="smartland.audit_archive")
    def audit_archive_job() -> int:
        from app.records.auditing import run_audit

        with flask_app.app_context():
            return run_audit("schedule").failures

    celery.flask_app = flask_app
    return celery

