"""API routes: message ingress (an outside system tells a waiting case that something happened), the
courts' register queries and orders, and the OpenAPI document describing them all."""

from functools import wraps

from flask import Blueprint, g, jsonify, request
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from app.api.auth import require_scope
from app.api.models import PartnerQuery
from app.api.openapi import DOCUMENT
from app.core import audit
from app.core.clock import now_utc
from app.engine import runtime
from app.engine.errors import Conflict, EngineError, ModelError, NotAllowed
from app.extensions import csrf, db
from app.register import court, history
from app.register.applications import identify
from app.register.unit_numbers import UnitNumberError, parse

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # token-authenticated, no cookies


def _error(status: int, code: str, message: str, **extra):
    db.session.rollback()
    return jsonify(error=code, message=message, **extra), status


def _in_english(view):
    """Partner systems get one language: messages built by shared code (unit numbers, ID numbers,
    engine refusals) would otherwise follow the site's default locale."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with force_locale("en"):
            return view(*args, **kwargs)

    return wrapped


@bp.route("/openapi.json")
def openapi():
    """Public: partners read it before they have a token."""
    return jsonify(DOCUMENT)


@bp.route("/messages", methods=["POST"])
@require_scope("messages:send")
def post_message():
    """Body: {"message_id", "name", "correlation": {"case_no": ...}, "payload": {...}}."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", "The body must be a JSON object.")
    message_id, name = body.get("message_id"), body.get("name")
    correlation, payload = body.get("correlation"), body.get("payload", {})
    if not (isinstance(message_id, str) and 0 < len(message_id) <= 64):
        return _error(400, "bad_request", "message_id must be a string of 1 to 64 characters.")
    if not (isinstance(name, str) and 0 < len(name) <= 64):
        return _error(400, "bad_request", "name must be a string of 1 to 64 characters.")
    if not isinstance(correlation, dict) or not all(isinstance(v, str | int) for v in correlation.values()):
        return _error(400, "bad_request", "correlation must be an object of string or number values.")
    if not isinstance(payload, dict) or "typename" in payload:
        return _error(400, "bad_request", "payload must be an object (without a 'typename' key).")
    try:
        record, delivered = runtime.deliver_message(name, correlation, payload, message_id,
                                                    sender=f"partner:{g.partner.name}")
    except Conflict as exc:
        return _error(409, "not_waiting", str(exc))
    except NotAllowed as exc:
        return _error(409, "not_running", str(exc))
    except EngineError as exc:
        return _error(422, "model_error", str(exc))
    return jsonify(message_id=record.message_id, delivered=delivered, duplicate=not delivered)


# --------------------------------------------------------------------------- courts: register queries

QUERY_FIELDS = {"document_no": "the assistance-query notice (协助查询通知书) or ruling number",
                "officer": "the name of the officer making the query"}


def _query_grounds() -> tuple[dict, list[str]]:
    """The document and officer every register query must name: a query without them is refused
    before anything is read, and so leaves no trace in the query log."""
    grounds, problems = {}, []
    for name, what in QUERY_FIELDS.items():
        value = (request.args.get(name) or "").strip()
        if not value:
            problems.append(f"{name} ({what}) is required.")
        elif len(value) > court.TEXT_LIMIT:
            problems.append(f"{name} must be at most {court.TEXT_LIMIT} characters.")
        grounds[name] = value
    return grounds, problems


def _log_query(kind: str, subject: str, grounds: dict, results: int):
    """Who asked about whom, under which document (the ledger a court query leaves). Committed here,
    not at the request boundary, so a query answered "not found" is logged all the same."""
    at = now_utc()
    db.session.add(PartnerQuery(partner_id=g.partner.id, at=at, kind=kind, subject=subject, results=results,
                                **grounds))
    audit.record("register.partner_query", kind, subject, ip=request.remote_addr or "",
                 detail={"partner": g.partner.name, **grounds, "results": results})
    db.session.commit()
    return at


@bp.route("/register/units/<unit_no>")
@require_scope("register:query")
@_in_english
def register_unit(unit_no: str):
    grounds, problems = _query_grounds()
    if problems:
        return _error(400, "bad_request", " ".join(problems), problems=problems)
    try:
        number = parse(unit_no)
    except UnitNumberError as exc:
        return _error(400, "bad_request", str(exc), problems=[str(exc)])
    record = history.record(number.value)
    found = court.summaries([record]) if record is not None else []
    answered_at = _log_query("unit", number.value, grounds, len(found))
    if not found:
        return jsonify(error="not_found", message=f"Unit {number.value} is not in the register."), 404
    return jsonify({**found[0], "answered_at": answered_at.isoformat()})


@bp.route("/register/parties/<id_number>/units")
@require_scope("register:query")
@_in_english
def register_party_units(id_number: str):
    grounds, problems = _query_grounds()
    if problems:
        return _error(400, "bad_request", " ".join(problems), problems=problems)
    try:
        id_type, number = identify(id_number)
    except ValueError as exc:
        return _error(400, "bad_request", str(exc), problems=[str(exc)])
    found = court.summaries(court.holder_records(number))
    answered_at = _log_query("party", number, grounds, len(found))
    # An empty list is an answer too: the court must be told explicitly that nothing is registered.
    return jsonify(id_number=number, id_type=id_type.value, units=found, answered_at=answered_at.isoformat())


# --------------------------------------------------------------------------- courts: orders


@bp.route("/court-orders", methods=["POST"])
@require_scope("court:orders")
@_in_english
def post_court_order():
    """Body: {"request_id", "order": "seize" | "release", "unit_no" | "seizure_key", "document_no",
    "court_name", "court_id_number", "officer"}. 201 when lodged, 200 when the request id was seen."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "bad_request", "The body must be a JSON object.")
    try:
        order = court.read_order(body)
    except court.OrderInvalid as exc:
        return _error(400, "bad_request", str(exc), problems=exc.problems)
    try:
        return _lodge(order)
    except IntegrityError:
        # The same request sent twice at once: the copy that lost the race for the submission key
        # finds the winner's case when tried again, and is answered as a repeat.
        db.session.rollback()
        return _lodge(order)


def _lodge(order: court.CourtOrder):
    try:
        case = court.earlier(g.partner, order)
        if case is not None:
            return jsonify(court.answer(case)), 200
        case = court.lodge(g.partner, order, now_utc())
        audit.record("api.court_order", "case", case.case_no, ip=request.remote_addr or "",
                     detail={"partner": g.partner.name, "request_id": order.request_id, "order": order.order,
                             "document_no": order.document_no, "officer": order.officer})
        answer = court.answer(case)
        db.session.commit()
    except court.OrderRefused as exc:
        return _error(exc.status, exc.code, str(exc))
    except ModelError as exc:
        return _error(422, "model_error", str(exc))
    except EngineError as exc:  # the register changed under the order (its seizure released meanwhile)
        return _error(409, "conflict", str(exc))
    return jsonify(answer), 201
