"""Rendering and signing certificates in the background: a job boundary that commits per certificate.

Issuing writes the certificate row with `render_state = pending` and returns. After that commit, the
renderer is woken: a Celery task in production (`CERTIFICATE_RENDERING=celery`), a thread of the web
process by default (`thread`); tests call `render_pending` themselves (`manual`). The renderer takes
pending rows with FOR UPDATE SKIP LOCKED, so several workers can share a batch, and records each
result with the batch's progress.
"""

import hashlib
import logging
import threading
from datetime import date
from functools import lru_cache
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.certificates.models import Certificate, CertificateFile, RenderJob, RenderState
from app.core.background import BackgroundJob, count_progress
from app.extensions import db
from documents import fonts, signing
from documents.certificates import CertificateFace, Renderer

log = logging.getLogger(__name__)
_local = threading.local()


def renderer() -> Renderer:
    """One renderer per thread: it keeps the parsed style sheet and the registered font."""
    path = current_app.config["CERTIFICATE_FONT"]
    if getattr(_local, "renderer_path", None) != path:
        _local.renderer, _local.renderer_path = Renderer(path), path
    return _local.renderer


@lru_cache(maxsize=4)
def _signer(path: str, password: str, mtime: float) -> signing.Signer:
    return signing.Signer(Path(path).read_bytes(), password.encode() if password else None)


def signer() -> signing.Signer:
    """The bureau's signer, from the configured PKCS#12 file (reloaded when the file changes)."""
    path = current_app.config["SIGNING_P12"]
    if not path or not Path(path).is_file():
        raise signing.KeyError_(f"no signing key at {path or '(SIGNING_P12 not set)'}: production needs the "
                                "bureau's PKCS#12 file; `make run` creates a development key")
    return _signer(path, current_app.config["SIGNING_P12_PASSWORD"], Path(path).stat().st_mtime)


def trusted_certificates() -> list:
    """The certificates whose signatures we accept as ours: the current key's and any earlier ones
    configured in SIGNING_TRUSTED_PEM (kept after a key change so older files still verify)."""
    from cryptography import x509

    found = [signer().certificate]
    extra = current_app.config.get("SIGNING_TRUSTED_PEM")
    if extra and Path(extra).is_file():
        found += x509.load_pem_x509_certificates(Path(extra).read_bytes())
    return found


def face_of(certificate: Certificate, verify_url: str) -> CertificateFace:
    face = certificate.face
    return CertificateFace(kind=certificate.kind.value, number=certificate.number, ecert_id=certificate.ecert_id,
                           verify_url=verify_url, issuer=face["issuer"],
                           issued_on=date.fromisoformat(face["issued_on"]),
                           rows=tuple(tuple(row) for row in face["rows"]), notes=face.get("notes", ""))


def verify_url(certificate: Certificate) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/v/{certificate.token}"


def produce(certificate: Certificate) -> CertificateFile:
    """Render, sign and store one certificate's PDF; flushes its file row and makes it current."""
    from app.cases.materials import object_store

    pdf = signer().sign(renderer().pdf(face_of(certificate, verify_url(certificate))),
                        reason="不动产登记电子证照", location=certificate.face["issuer"])
    digest = hashlib.sha256(pdf).hexdigest()
    key = f"certificates/{certificate.year}/{certificate.id}/{digest}.pdf"
    object_store().put(key, pdf, "application/pdf")  # content-addressed: a rollback leaves an unreferenced object
    file = CertificateFile(certificate_id=certificate.id, object_key=key, sha256=digest, size=len(pdf),
                           signer=signer().subject[:400])
    db.session.add(file)
    db.session.flush()
    certificate.file_id = file.id
    certificate.render_state = RenderState.READY
    certificate.render_error = ""
    return file


def render_pending(limit: int | None = None) -> int:
    """Render pending certificates one transaction each; returns how many were rendered."""
    rendered = 0
    while limit is None or rendered < limit:
        certificate = db.session.scalar(
            select(Certificate).where(Certificate.render_state == RenderState.PENDING)
            .order_by(Certificate.id).limit(1).with_for_update(skip_locked=True))
        if certificate is None:
            db.session.rollback()
            break
        try:
            produce(certificate)
            ok = True
        except (fonts.MissingGlyphs, fonts.FontMissing, signing.KeyError_, ValueError, OSError) as exc:
            # What a person must fix (a character the font lacks, a missing key): recorded on the
            # certificate for the register page, and the batch goes on.
            db.session.rollback()
            certificate = db.session.get(Certificate, certificate.id, with_for_update=True)
            certificate.render_state = RenderState.FAILED
            certificate.render_error = str(exc)[:2000]
            log.warning("certificate %s could not be rendered: %s", certificate.number, exc)
            ok = False
        if certificate.render_job_id is not None:
            count_progress(RenderJob, certificate.render_job_id, ok)
        db.session.commit()
        rendered += ok
    return rendered


# Woken after the commit that issued certificates (app.core.background).
job = BackgroundJob("certificate-renderer", "CERTIFICATE_RENDERING", "smartland.render_certificates",
                    render_pending)
stop_thread, kick, init_app = job.stop_thread, job.kick, job.init_app
