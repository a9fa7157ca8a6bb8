"""Bearer-token authentication for partners: tokens are random, shown once, stored as SHA-256."""

import hashlib
import hmac
import secrets
from functools import wraps

from flask import g, jsonify, request
from sqlalchemy import select

from app.api.models import PartnerClient
from app.extensions import db


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def require_scope(scope: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.startswith("Bearer ") else ""
            digest = hashlib.sha256(token.encode()).hexdigest()
            client = db.session.scalar(select(PartnerClient).where(PartnerClient.token_sha256 == digest)) \
                if token else None
            if client is None or not client.active or not hmac.compare_digest(client.token_sha256, digest):
                return jsonify(error="unauthorized", message="A valid bearer token is required."), 401
            if not client.has_scope(scope):
                return jsonify(error="forbidden", message=f"This token lacks the scope {scope}."), 403
            g.partner = client
            return view(*args, **kwargs)

        return wrapped

    return decorator
