"""Drafts of online applications: the fields typed so far and the files already uploaded, kept for
the applicant until they submit or discard them. Files pass the same content checks as on submission
and are stored under the draft; submission reads them back and checks them again."""

from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from app.cases.materials import object_store
from app.cases.models import Draft, Service
from app.cases.uploads import Upload, inspect
from app.core.clock import now_utc
from app.extensions import db

_NOT_SAVED = {"csrf_token", "submission_key", "draft_id", "save_draft", "submit"}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def save(applicant, service: Service, form, draft: Draft | None, uploads: dict[str, Upload]) -> Draft:
    """Keep the form's fields (as typed: a draft need not be valid) and the checked uploads."""
    if draft is None:
        draft = Draft(applicant_id=applicant.id, service_code=service.code, data={}, files={})
        db.session.add(draft)
        db.session.flush()
    draft.data = {name: _plain(value) for name, value in form.data.items()
                  if name not in _NOT_SAVED and not hasattr(value, "filename")}
    files = dict(draft.files)
    store = object_store()
    for code, upload in uploads.items():
        key = f"drafts/{draft.id}/{upload.sha256}.{upload.extension}"
        store.put(key, upload.data, upload.content_type)
        files[code] = {"filename": upload.filename, "content_type": upload.content_type, "size": upload.size,
                       "sha256": upload.sha256, "object_key": key}
    draft.files = files
    draft.updated_at = now_utc()
    db.session.flush()
    return draft


def uploads(draft: Draft | None) -> dict[str, Upload]:
    """The draft's files as uploads again, checked as if just received."""
    if draft is None:
        return {}
    store = object_store()
    limit = current_app.config["MAX_MATERIAL_BYTES"]
    return {code: inspect(info["filename"], store.get(info["object_key"]), limit) for code, info in draft.files.items()}


def own(applicant, draft_id) -> Draft | None:
    try:
        draft_id = int(draft_id)
    except (TypeError, ValueError):
        return None
    return db.session.scalar(select(Draft).where(Draft.id == draft_id, Draft.applicant_id == applicant.id))


def of(applicant) -> list[Draft]:
    return db.session.scalars(select(Draft).where(Draft.applicant_id == applicant.id)
                              .order_by(Draft.updated_at.desc())).all()
