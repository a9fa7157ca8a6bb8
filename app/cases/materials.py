"""Materials of a case: stored in the object store under their SHA-256, listed against the
service's checklist, read back for those who may see the case."""

import hashlib
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.cases.models import Case, EventKind, Material
from app.cases.uploads import Upload
from app.engine.runtime import event, record_change
from app.extensions import db


def object_store():
    from archive.storage import store_from_config

    return store_from_config(current_app.config)


def object_key(case: Case, upload: Upload) -> str:
    # Content-addressed under the case: no name the applicant chose ever reaches the store.
    return f"materials/{case.case_no}/{upload.sha256}.{upload.extension}"


def store(case: Case, uploads: dict[str, Upload], actor_id: int | None) -> list[Material]:
    """Put each upload (keyed by material code) in the object store and add its row (not flushed).

    The objects are written first: if the transaction later rolls back, what is left in the store is
    an unreferenced object under a content hash, never a row pointing at nothing."""
    objects, rows = object_store(), []
    for code, upload in uploads.items():
        if case.service.material(code) is None:
            raise ValueError(f"{code!r} is not a material of service {case.service_code}")
        key = object_key(case, upload)
        objects.put(key, upload.data, upload.content_type)
        rows.append(Material(case_id=case.id, code=code, filename=upload.filename, content_type=upload.content_type,
                             size=upload.size, sha256=upload.sha256, object_key=key, uploaded_by_id=actor_id))
    db.session.add_all(rows)
    return rows


def recorded(case: Case, rows: list[Material], actor_id: int | None) -> tuple[list[dict], dict]:
    """The timeline event and the audit detail that record stored materials."""
    if not rows:
        return [], {}
    names = [f"{case.service.material(m.code)['name']}: {m.filename}" for m in rows]
    return ([event(case, EventKind.MATERIAL_ADDED, actor_id, detail={"files": names})],
            {"materials": [[m.code, m.sha256] for m in rows]})


def attach(case: Case, uploads: dict[str, Upload], actor_id: int | None) -> list[Material]:
    """Store the uploads and record them: one timeline event and audit entry."""
    rows = store(case, uploads, actor_id)
    if rows:
        db.session.flush()
        events, detail = recorded(case, rows, actor_id)
        record_change(case, actor_id, events, "material.add", detail)
    return rows


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    name: str
    name_en: str
    required: bool
    files: list[Material]

    @property
    def missing(self) -> bool:
        return self.required and not self.files


def checklist(case: Case) -> list[ChecklistItem]:
    """The service's materials in order, each with the current (not replaced) files submitted for it."""
    current = db.session.scalars(select(Material).where(Material.case_id == case.id,
                                                        Material.replaced_by_id.is_(None))
                                 .order_by(Material.id)).all()
    return [ChecklistItem(m["code"], m["name"], m.get("name_en", ""), bool(m.get("required")),
                          [f for f in current if f.code == m["code"]]) for m in case.service.materials]


def read(stored) -> bytes:
    """The bytes of a stored file (a material, a case document, a certificate file: anything with
    `object_key` and `sha256`), checked against the checksum recorded when it was written."""
    data = object_store().get(stored.object_key)
    if hashlib.sha256(data).hexdigest() != stored.sha256:
        # Not the user's doing: the store was damaged or tampered with. The request fails loudly.
        raise OSError(f"object {stored.object_key} does not match its recorded checksum")
    return data
