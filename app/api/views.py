"""API routes. Message ingress: an outside system tells a waiting case that something happened."""

from flask import Blueprint, g, jsonify, request

from app.engine import runtime
from app.engine.errors import Conflict, EngineError, NotAllowed
from app.extensions import csrf, db
from app.api.auth import require_scope

bp = Blueprint("api", __name__)
csrf.exempt(bp)  # token-authenticated, no cookies


def _error(status: int, code: str, message: str):
    db.session.rollback()
    return jsonify(error=code, message=message), status


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
