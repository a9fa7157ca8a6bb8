"""`flask --app wsgi archive verify [--all | 档号…] | export 档号 DIR | sweep-orphans | lock | init-store`.

For operators and cron: `verify` exits non-zero when any package fails its fixity audit or its
four-property check, so a cron job's mail or a monitoring check sees it.
"""

from datetime import timedelta
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.records.models import ArchiveEvent, ArchiveRecord

group = AppGroup("archive", help="The electronic archive: verify packages, export bags, sweep orphans, apply locks.")


def _records(codes: tuple[str, ...], every: bool) -> list[ArchiveRecord]:
    if every == bool(codes):
        raise click.UsageError("give either --all or one or more archival codes (档号)")
    if every:
        return list(db.session.scalars(select(ArchiveRecord).order_by(ArchiveRecord.id)))
    found = []
    for code in codes:
        record = db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.archival_code == code))
        if record is None:
            raise click.ClickException(f"no record with archival code {code}")
        found.append(record)
    return found


@group.command("verify")
@click.argument("codes", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every filed record.")
def verify(codes, every):
    """Fixity audit and four-property check (BC) of the given records; exit 1 on any failure."""
    from app.records import auditing, checking

    records = _records(codes, every)
    run = auditing.run_audit("cli", [r.id for r in records])
    failed = 0
    for record in records:
        record = db.session.get(ArchiveRecord, record.id)
        report = checking.check_record(record, None)
        db.session.commit()
        problems = [] if record.audit_ok else auditing.latest_problems(record)
        ok = record.audit_ok and report.passed
        failed += not ok
        click.echo(f"{'OK  ' if ok else 'FAIL'} {record.archival_code}")
        for problem in problems:
            click.echo(f"     fixity: {problem}")
        for item in report.failures():
            click.echo(f"     {item.code} {item.name}: {item.reason}")
    click.echo(f"{len(records)} record(s), {failed} failed, {run.bytes_read} bytes read")
    if failed:
        raise SystemExit(1)


@group.command("export")
@click.argument("code")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(code, directory):
    """Write the package of record CODE out as a BagIt bag in DIRECTORY (new or empty)."""
    from app.records.checking import read_package
    from archive import fixity
    from archive.package import PackageError, export_package

    record = _records((code,), False)[0]
    data = read_package(record)
    outcome = fixity.audit(data, sha256=record.package.sha256, size=record.package.size,
                           sha512=record.package.sha512)
    if not outcome.ok:
        raise click.ClickException("the stored package does not match its checksums: "
                                   + "; ".join(p.describe("en") for p in outcome.problems))
    try:
        export_package(data, directory)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.add(ArchiveEvent(record_id=record.id, case_id=record.case_id, kind="exported",
                                detail={"directory": str(directory)}))
    db.session.commit()
    click.echo(f"{record.archival_code} → {directory}")


@group.command("sweep-orphans")
@click.option("--grace-hours", type=float, default=None, help="Only uploads older than this (default from config).")
def sweep_orphans(grace_hours):
    """Remove uploads under archive/ that no record refers to (left by filings that rolled back)."""
    from app.records import orphans

    result = orphans.sweep(None if grace_hours is None else timedelta(hours=grace_hours))
    for key in result.removed:
        click.echo(f"removed {key}")
    for key in result.kept_locked:
        click.echo(f"locked, kept {key}")
    click.echo(f"{len(result.removed)} removed, {result.referenced} referenced")


@group.command("lock")
def lock():
    """Apply object lock and legal holds the records ask for but the store does not have yet."""
    from app.records import locking

    click.echo(f"{locking.apply_pending()} package(s) updated")


@group.command("init-store")
def init_store():
    """Create the S3 bucket (with object lock when S3_OBJECT_LOCK is set); MinIO enables lock only at creation."""
    from app.cases.materials import object_store

    store = object_store()
    if hasattr(store, "ensure_bucket"):
        store.ensure_bucket()
    click.echo(f"{store.ping()} (object lock: {'yes' if store.supports_lock else 'no'})")
