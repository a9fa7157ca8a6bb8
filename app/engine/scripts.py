"""Service tasks: the vetted handlers a model may call, by name, for anything with side effects.

A model names the handler in `<spiffworkflow:serviceTaskOperator id="...">`; its parameters are
expressions over task data. The handler gets the case and the evaluated parameters, runs inside the
operation that advanced the workflow (so its writes commit or roll back with the workflow's state),
and returns a JSON-able dict that becomes the task's result variable. Packages register their
handlers at import; deploying a model that names an unknown handler fails.
"""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import select

HANDLERS: dict[str, Callable] = {}
_actor: ContextVar[int | None] = ContextVar("engine_actor", default=None)
_emitted: ContextVar[list | None] = ContextVar("engine_emitted", default=None)


def handler(name: str):
    def register(fn: Callable) -> Callable:
        HANDLERS[name] = fn
        return fn

    return register


@contextmanager
def acting(actor_id: int | None):
    """Whose action is advancing the workflow, for handlers that record it (a registrar's entry).
    Yields the list of timeline events the handlers emit, which the operation saves after its own."""
    token, events = _actor.set(actor_id), _emitted.set([])
    try:
        yield _emitted.get()
    finally:
        _actor.reset(token)
        _emitted.reset(events)


def emit(event: dict) -> None:
    """A handler's timeline event (built with `runtime.event`), saved with the step that ran it."""
    events = _emitted.get()
    if events is None:
        raise RuntimeError("emit() outside an engine operation")
    events.append(event)


def current_actor() -> int | None:
    return _actor.get()


def call(operation: str, data: dict, params: dict) -> dict:
    from app.cases.models import Case
    from app.extensions import db

    fn = HANDLERS.get(operation)
    if fn is None:
        raise LookupError(f"no service task handler named {operation!r}")
    case = db.session.scalar(select(Case).where(Case.case_no == data.get("case_no")))
    if case is None:
        raise LookupError(f"service task {operation!r} ran without a case")
    return fn(case, data, **params) or {}
