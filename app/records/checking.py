"""Four-property checks (四性检测, DA/T 70) of filed records: at filing (GD) and on demand (BC).

The library (`archive.checks`) judges a package against what the system's own records say it should
be; this module gathers those expectations, reads the package and keeps the report.
"""

import hashlib
import shlex
import subprocess

from flask import current_app
from sqlalchemy import func, select

from app.cases.materials import object_store
from app.core.clock import now_utc
from app.extensions import db
from app.orgs.models import User
from app.records.models import ArchiveEvent, ArchiveRecord, CheckReport
from archive import storage
from archive.checks import Expectation, Report, four_property_check


def _verifier():
    """Checks a certificate PDF's signature against the bureau's keys; None (item skipped) without a key."""
    from app.certificates import rendering
    from documents import signing

    try:
        trusted = rendering.trusted_certificates()
    except signing.KeyError_:
        return None

    def verify(pdf: bytes) -> tuple[bool, str]:
        verdict = signing.verify(pdf, trusted)
        return verdict.ok, verdict.problem or verdict.signer

    return verify


def _scanner():
    """The configured virus scanner (file on standard input; exit 0 clean, 1 infected), or None."""
    command = current_app.config["ARCHIVE_VIRUS_SCANNER"]
    if not command:
        return None
    argv = shlex.split(command)

    def scan(data: bytes) -> str | None:
        done = subprocess.run(argv, input=data, capture_output=True, timeout=120, check=False)  # noqa: S603
        if done.returncode == 0:
            return None
        if done.returncode == 1:
            return done.stdout.decode(errors="replace").strip()[:200] or "infected"
        raise OSError(f"virus scanner exited with {done.returncode}: {done.stderr.decode(errors='replace')[:200]}")

    return scan


def series_numbers(record: ArchiveRecord) -> tuple[int, ...]:
    return tuple(db.session.scalars(select(ArchiveRecord.item_no).where(
        ArchiveRecord.fonds == record.fonds, ArchiveRecord.category == record.category,
        ArchiveRecord.year == record.year, ArchiveRecord.retention == record.retention,
        ArchiveRecord.org_code == record.org_code).order_by(ArchiveRecord.item_no)))


def _locked(record: ArchiveRecord, store, stage: str) -> bool | None:
    """Whether the package is under object lock: asked of the store itself. None where the store has
    no lock, and at filing, where the lock is applied only after the record is committed."""
    if stage == "GD" or not store.supports_lock:
        return None
    package = record.package
    state = store.lock_state(package.key, package.version_id or None)
    return state.mode == "COMPLIANCE" and state.retain_until is not None and state.retain_until > now_utc()


def run(record: ArchiveRecord, data: bytes | None, actor: User | None, *, stage: str,
        expected_files: dict[str, str] | None = None, read_back_verified: bool) -> Report:
    """Check DATA (the record's package; None when it could not be read) and keep the report (flushed)."""
    package = record.package
    duplicates = db.session.scalar(select(func.count()).select_from(ArchiveRecord).where(
        ArchiveRecord.archival_code == record.archival_code, ArchiveRecord.id != record.id))
    logged = db.session.scalar(select(ArchiveEvent.id).where(ArchiveEvent.record_id == record.id,
                                                             ArchiveEvent.kind == "filed").limit(1)) is not None
    store = object_store()
    expect = Expectation(
        archival_code=record.archival_code, sha256=package.sha256, sha512=package.sha512, size=package.size,
        file_count=record.file_count, byte_count=record.byte_count,
        files=expected_files if expected_files is not None else {f.path: f.sha256 for f in record.files},
        series_numbers=series_numbers(record), duplicates=duplicates, locked=_locked(record, store, stage),
        read_back_verified=read_back_verified, events_logged=logged)
    report = four_property_check(data, expect, stage=stage, verify_signature=_verifier(), scan=_scanner())
    at = now_utc()
    db.session.add(CheckReport(record_id=record.id, stage=stage, at=at, by_id=actor.id if actor else None,
                               passed=report.passed, report=report.to_dict()))
    db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="checked",
                                actor_id=actor.id if actor else None,
                                detail={"stage": stage, "passed": report.passed,
                                        "failed": [i.code for i in report.failures()]}))
    record.checked_at, record.check_passed = at, report.passed
    db.session.flush()
    return report


def read_package(record: ArchiveRecord) -> bytes | None:
    package = record.package
    try:
        return object_store().read(package.key, package.version_id or None)
    except storage.ObjectMissing:
        return None


def check_record(record: ArchiveRecord, actor: User | None) -> Report:
    """The on-demand check (长期保存 stage): read the package back from the store and check it."""
    data = read_package(record)
    verified = data is not None and hashlib.sha256(data).hexdigest() == record.package.sha256
    return run(record, data, actor, stage="BC", read_back_verified=verified)
