"""Filing closed cases into the archive, on the local store and on an S3 bucket with object lock:
the package and its 档号, gap-free item numbers, retention rules, locks, failures that leave nothing
behind, fixity audits, four-property checks and the operators' commands."""

import io
import tarfile
from datetime import UTC, datetime, timedelta

import bagit
import pytest
from sqlalchemy import func, select

from app.cases.models import Case, CaseEvent, EventKind, Family, Service
from app.extensions import db
from app.records import auditing, checking, coding, filing, locking, orphans
from app.records.models import (
    ArchiveEvent,
    ArchiveFile,
    ArchiveRecord,
    ArchiveSequence,
    CheckReport,
    FixityResult,
    ItemState,
    StoredObject,
)
from archive import storage
from archive.codes import parse
from archive.package import export_package, read_metadata, read_package
from tests.archive.conftest import overwrite_raw


@pytest.fixture
def store(each_store):
    return each_store


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _year(case: Case) -> int:
    return coding.series_of(case)[2]


def test_a_closed_transfer_is_filed_as_one_valid_bag_with_everything_in_it(closed_transfer, file_now, store,
                                                                           tmp_path):
    case = closed_transfer
    batch = file_now(case)
    assert (batch.total, batch.done, batch.failed) == (1, 1, 0), batch.items[0].error
    assert batch.finished_at is not None
    record = db.session.scalars(select(ArchiveRecord)).one()
    assert record.archival_code == f"Z109-WS·{_year(case)}-Y-BDC-0001"
    assert parse(record.archival_code).item == 1

    # The object: content-addressed, recorded with backend, bucket, version and both checksums.
    package = record.package
    assert package.key == f"archive/sha256/{package.sha256[:2]}/{package.sha256}"
    assert (package.backend, package.bucket) == (store.backend, store.bucket)
    data = store.read(package.key, package.version_id or None)
    assert len(data) == package.size

    # Every material, notice and certificate of the case is in it, with the metadata and timeline.
    members = read_package(data)
    kinds = sorted(f.kind for f in record.files)
    assert kinds.count("material") >= 3
    assert "certificate" in kinds
    assert "document" in kinds
    assert {f.path for f in record.files} <= set(members)
    assert {"data/metadata.json", "data/metadata.xml", "manifest-sha256.txt", "manifest-sha512.txt"} <= set(members)
    metadata = read_metadata(data)
    assert metadata["archival_code"] == record.archival_code
    assert metadata["case_no"] == case.case_no
    assert metadata["unit_no"] == case.unit_no
    assert metadata["timeline"][0]["kind"] == "submitted"
    assert any(e["kind"] == "task_completed" and e["task"] == "register_entry" for e in metadata["decisions"])
    assert {p["name"] for p in metadata["parties"]} >= {"王伟", "张三"}
    assert (record.file_count, record.byte_count) == (len(record.files), sum(f.size for f in record.files))

    # bagit-python accepts it as a complete and valid bag (SHA-256 and SHA-512).
    bag = bagit.Bag(str(export_package(data, tmp_path / "bag")))
    bag.validate()
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["External-Identifier"] == record.archival_code

    # The filing check passed and is kept; the case's timeline and the record's trail say so.
    report = db.session.scalars(select(CheckReport).where(CheckReport.record_id == record.id)).one()
    assert (report.stage, report.passed) == ("GD", True)
    assert {item["property"] for item in report.report["items"]} == {"authenticity", "integrity", "usability",
                                                                      "security"}
    assert db.session.scalar(select(ArchiveEvent.kind).where(ArchiveEvent.record_id == record.id,
                                                             ArchiveEvent.kind == "filed")) == "filed"
    archived = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind == EventKind.ARCHIVE)).one()
    assert archived.detail == {"action": "filed", "archival_code": record.archival_code}


def test_item_numbers_run_without_gaps_and_a_refused_filing_gives_its_number_back(closed_case, file_now, users,
                                                                                  monkeypatch):
    first, second, third = closed_case(), closed_case(), closed_case()
    file_now(first)
    # The second fails its check: nothing is filed and its number is not used up.
    from archive import checks

    real = checks.four_property_check

    def failing(package, expect, **kwargs):
        report = real(package, expect, **kwargs)
        bad = checks.CheckItem("integrity", "2-1", "数据总量", "fail", "总件数不符", "file count differs")
        return checks.Report(report.stage, (*report.items, bad))

    monkeypatch.setattr("app.records.checking.four_property_check", failing)
    batch = file_now(second)
    assert (batch.done, batch.failed) == (0, 1)
    assert "2-1" in batch.items[0].error
    assert batch.items[0].state == ItemState.FAILED
    monkeypatch.setattr("app.records.checking.four_property_check", real)
    file_now(third, second)
    codes = db.session.scalars(select(ArchiveRecord.archival_code).order_by(ArchiveRecord.item_no)).all()
    assert [parse(c).item for c in codes] == [1, 2, 3]
    assert db.session.scalar(select(ArchiveRecord.item_no).where(ArchiveRecord.case_id == third.id)) == 2
    assert db.session.scalar(select(ArchiveSequence.last)) == 3


def test_retention_comes_from_the_configured_rules(ctx, closed_case, monkeypatch):
    case = closed_case()
    assert coding.retention_of(case) == "D30"  # the demo service is of the "common" family: the catch-all rule
    assert coding.series_of(case)[4] == "ZH"
    for family, outcome, expected in [("registration", "completed", "Y"), ("enforcement", "completed", "Y"),
                                      ("market", "completed", "D30"), ("market", "withdrawn", "D10")]:
        service = Service(code=f"{family}_x", family=Family(family))
        assert coding.retention_of(Case(service=service, service_code=service.code, outcome=outcome)) == expected
    monkeypatch.setitem(ctx.config, "ARCHIVE_RETENTION_RULES",
                        [{"service": "demo_review", "outcome": "withdrawn", "retention": "D10"}, {"retention": "Y"}])
    assert coding.retention_of(case) == "D10"
    monkeypatch.setitem(ctx.config, "ARCHIVE_RETENTION_RULES", [{"service": "other", "retention": "Y"}])
    with pytest.raises(ValueError, match="catch-all"):
        coding.retention_of(case)


def test_a_certificate_not_yet_rendered_keeps_the_case_out_until_it_is(users, units, register_units, uploads,
                                                                        file_now):
    from app.certificates import rendering
    from tests.register.test_certificates import run_transfer
    from tests.register.test_services import complete

    case = run_transfer(users, units, register_units["owned"], "wangwei", "zhangsan", uploads)
    complete(case, users["nanguan_registrar"], "issue", decision="issue", channel="online")
    batch = file_now(case)
    assert batch.failed == 1
    assert "PDF" in batch.items[0].error
    assert _count(ArchiveRecord) == 0
    assert rendering.render_pending() == 1
    assert file_now(case).done == 1


def test_a_failure_between_upload_and_commit_leaves_no_record_and_the_sweep_removes_the_upload(closed_case, users,
                                                                                               store):
    case = closed_case()
    record = filing.file_case(case, users["city_archivist"])
    key, version = record.package.key, record.package.version_id or None
    db.session.rollback()  # the commit never happens: the connection was lost, the worker died
    assert _count(StoredObject) == 0
    assert _count(ArchiveRecord) == 0
    assert store.exists(key, version)
    assert orphans.sweep(timedelta(hours=1)).removed == []  # too recent: may still be on its way to a commit
    result = orphans.sweep(timedelta(0))
    assert len(result.removed) == 1
    assert result.removed[0].startswith(key)
    assert not store.exists(key, version)
    # The 档号 was given back too: the next filing is item 1.
    db.session.commit()
    assert filing.file_case(case, users["city_archivist"]).item_no == 1


def test_the_sweep_keeps_every_referenced_package(closed_case, file_now, store):
    file_now(closed_case(), closed_case())
    result = orphans.sweep(timedelta(0))
    assert result.removed == []
    assert result.referenced == 2
    for record in db.session.scalars(select(ArchiveRecord)):
        assert store.exists(record.package.key, record.package.version_id or None)


def test_packages_are_locked_for_their_retention_where_the_store_can_lock(closed_transfer, file_now, store, users):
    file_now(closed_transfer)
    record = db.session.scalars(select(ArchiveRecord)).one()
    package = record.package
    if not store.supports_lock:
        assert package.locked_at is None
        assert locking.apply_pending() == 0
        report = checking.check_record(record, users["city_archivist"])
        lock_item = next(i for i in report.items if i.code == "4-3")
        assert lock_item.result == "pass"
        return
    assert package.locked_at is not None
    until = locking.retain_until(record)
    assert until.year == record.year + 1 + 100  # permanent: renewed before it ends
    state = store.lock_state(package.key, package.version_id)
    assert state.mode == "COMPLIANCE"
    assert state.retain_until.astimezone(UTC) == until.astimezone(UTC)
    with pytest.raises(storage.ObjectLocked):
        store.delete(package.key, package.version_id)
    assert store.read(package.key, package.version_id) == store.read(package.key, package.version_id)
    # Legal hold follows the record after the commit, and is lifted the same way.
    locking.set_hold(record, users["city_archivist"], True, "（2026）吉0102民初123号 诉讼中")
    db.session.commit()
    assert locking.apply_pending() == 1
    assert store.lock_state(package.key, package.version_id).legal_hold is True
    locking.set_hold(record, users["city_archivist"], False, "诉讼终结")
    db.session.commit()
    locking.apply_pending()
    assert store.lock_state(package.key, package.version_id).legal_hold is False
    assert db.session.get(StoredObject, package.id).legal_hold is False
    report = checking.check_record(db.session.get(ArchiveRecord, record.id), users["city_archivist"])
    assert next(i for i in report.items if i.code == "4-3").result == "pass"


def _retar(data: bytes, change) -> bytes:
    """The package with its members passed through CHANGE(dict) -> dict."""
    members = change(dict(read_package(data)))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _flip(members: dict) -> dict:
    path = next(p for p in sorted(members) if p.startswith("data/materials/"))
    body = bytearray(members[path])
    body[len(body) // 2] ^= 0x01
    members[path] = bytes(body)
    return members


def _drop_file(members: dict) -> dict:
    del members[next(p for p in sorted(members) if p.startswith("data/materials/"))]
    return members


def _add_file(members: dict) -> dict:
    members["data/materials/9999-extra.pdf"] = b"%PDF-1.7\n%%EOF\n"
    return members


def _drop_manifest(members: dict) -> dict:
    del members["manifest-sha256.txt"]
    del members["manifest-sha512.txt"]
    return members


@pytest.mark.parametrize(("tamper", "kind"), [(_flip, "changed"), (_drop_file, "missing"), (_add_file, "extra"),
                                              (_drop_manifest, "missing_manifest")])
def test_the_fixity_audit_reports_each_kind_of_damage_with_expected_and_actual(closed_transfer, file_now, store,
                                                                               tamper, kind, ctx):
    file_now(closed_transfer)
    record = db.session.scalars(select(ArchiveRecord)).one()
    package = record.package
    good = auditing.run_audit("user")
    assert (good.packages, good.failures, good.bytes_read) == (1, 0, package.size)
    new_version = overwrite_raw(store, package.key, _retar(store.read(package.key, package.version_id or None), tamper))
    run = auditing.run_audit("schedule")
    record = db.session.get(ArchiveRecord, record.id)
    if package.version_id:
        # A versioned bucket keeps what was filed: the record reads its own version, untouched.
        assert new_version != package.version_id
        assert (run.failures, record.audit_ok) == (0, True)
        return
    assert (run.packages, run.failures, record.audit_ok) == (1, 1, False)
    result = db.session.scalars(select(FixityResult).order_by(FixityResult.id.desc())).first()
    assert result.run_id == run.id
    kinds = {p["kind"] for p in result.problems}
    assert {"package_checksum", kind} <= kinds
    checksum = next(p for p in result.problems if p["kind"] == "package_checksum")
    assert checksum["expected"] == package.sha256
    assert checksum["actual"] not in ("", package.sha256)
    if kind == "changed":
        changed = next(p for p in result.problems if p["kind"] == "changed")
        assert changed["path"].startswith("data/materials/")
        file_row = db.session.scalars(select(ArchiveFile).where(ArchiveFile.path == changed["path"])).one()
        assert changed["expected"] in (file_row.sha256, file_row.sha512)
        assert changed["actual"] != changed["expected"]
    # Every audit's result is kept, good and bad.
    assert _count(FixityResult) == 2
    # The on-demand four-property check fails too, naming integrity.
    report = checking.check_record(record, None)
    assert not report.passed
    assert "integrity" in {i.property for i in report.failures()}


def test_a_package_missing_from_the_store_is_reported_as_missing(closed_case, file_now, store, ctx):
    file_now(closed_case())
    record = db.session.scalars(select(ArchiveRecord)).one()
    if store.supports_lock:
        pytest.skip("a locked package cannot be deleted: that is the point of the lock (tested above)")
    store.delete(record.package.key, record.package.version_id or None)
    run = auditing.run_audit("cli")
    assert run.failures == 1
    result = db.session.scalars(select(FixityResult)).one()
    assert [p["kind"] for p in result.problems] == ["object_missing"]


def test_verify_and_export_commands(closed_transfer, file_now, store, ctx, tmp_path):
    file_now(closed_transfer)
    record = db.session.scalars(select(ArchiveRecord)).one()
    code = record.archival_code
    runner = ctx.test_cli_runner()
    result = runner.invoke(args=["archive", "verify", "--all"])
    assert result.exit_code == 0, result.output
    assert f"OK   {code}" in result.output
    assert runner.invoke(args=["archive", "verify"]).exit_code != 0  # neither --all nor a code
    assert runner.invoke(args=["archive", "verify", "Z109-WS·2000-Y-BDC-9999"]).exit_code != 0

    out = tmp_path / "export"
    result = runner.invoke(args=["archive", "export", code, str(out)])
    assert result.exit_code == 0, result.output
    bagit.Bag(str(out)).validate()
    assert (out / "data" / "metadata.json").is_file()
    assert runner.invoke(args=["archive", "export", code, str(out)]).exit_code != 0  # not into a full directory

    if record.package.version_id:
        return  # a versioned bucket: tampering makes a new version the record does not read (tested above)
    overwrite_raw(store, record.package.key, _retar(store.read(record.package.key), _flip))
    result = runner.invoke(args=["archive", "verify", code])
    assert result.exit_code == 1
    assert f"FAIL {code}" in result.output
    assert "fixity:" in result.output
    assert runner.invoke(args=["archive", "export", code, str(tmp_path / "again")]).exit_code != 0


def test_a_scheduled_audit_runs_when_due(closed_case, file_now, ctx):
    file_now(closed_case())
    assert auditing.run_if_due() == 1
    assert auditing.run_if_due() == 0  # ran within ARCHIVE_AUDIT_HOURS
    db.session.rollback()


def test_sending_back_and_resubmitting_moves_a_case_off_and_onto_the_intake_queue(closed_case, users, units):
    case = closed_case()
    scope = {units["220102001"].id}
    assert db.session.scalars(filing.intake_query(scope)).all() == [case]
    returned = filing.send_back(case, users["city_archivist"], "缺少身份证明原件扫描件")
    db.session.commit()
    assert db.session.scalars(filing.intake_query(scope)).all() == []
    with pytest.raises(filing.FilingError):
        filing.file_case(case, users["city_archivist"])
    assert db.session.scalars(filing.open_returns(scope)).all() == [returned]
    filing.resubmit(returned, users["nanguan_registrar"], "已补扫描件")
    db.session.commit()
    assert db.session.scalars(filing.intake_query(scope)).all() == [case]
    notes = db.session.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case.id,
                                                            CaseEvent.kind == EventKind.ARCHIVE)).all()
    assert notes == ["缺少身份证明原件扫描件", "已补扫描件"]


def test_a_case_still_running_is_not_filed(make_case, users):
    case = make_case()
    with pytest.raises(filing.FilingError):
        filing.file_case(case, users["city_archivist"])
    assert _count(ArchiveSequence) == 0


def test_filing_twice_is_refused(closed_case, file_now, users):
    case = closed_case()
    file_now(case)
    with pytest.raises(filing.FilingError):
        filing.file_case(case, users["city_archivist"])
    db.session.rollback()
    assert _count(ArchiveRecord) == 1


def test_the_filed_at_year_is_the_local_year_the_case_closed(closed_case, clock):
    case = closed_case()
    case.closed_at = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 2027-01-01 01:00 in Changchun
    assert coding.series_of(case)[2] == 2027
    db.session.rollback()


def test_concurrent_filers_take_every_item_number_once(closed_case, ctx, store, users):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set TEST_DATABASE_URL)")
    from tests.engine.test_concurrency import race

    case_ids = [closed_case().id for _ in range(4)]
    archivist_id = users["city_archivist"].id

    def job_for(case_id):
        def job():
            from app.orgs.models import User

            case, archivist = db.session.get(Case, case_id), db.session.get(User, archivist_id)
            return lambda: filing.file_case(case, archivist).item_no
        return job

    outcomes = race(ctx, [job_for(i) for i in case_ids])
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert sorted(o.value for o in outcomes) == [1, 2, 3, 4]
    db.session.rollback()
    assert db.session.scalar(select(ArchiveSequence.last)) == 4
