"""Four-property checks (四性检测): a good package passes, and each item fails for its own reason."""

import io
import json
import tarfile
import zipfile
import zlib

import pytest

from archive.checks import ITEMS, CheckItem, Expectation, Report, four_property_check
from archive.package import PayloadFile, build_package, read_package
from tests.archive.test_package import (
    CERTIFICATE_PDF,
    DAY,
    flip_byte,
    retar,
    sample_files,
    sample_metadata,
    sample_package,
    tiny_docx,
    tiny_pdf,
)

CODE = "Z109-WS·2026-Y-BDC-0001"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00" + b"\x00" * 64


@pytest.fixture(scope="module")
def package():
    return sample_package()


def expectation(package, **changes) -> Expectation:
    values = {
        "archival_code": CODE, "sha256": None, "sha512": None, "size": None,
        "file_count": len(package.files), "byte_count": sum(e.size for e in package.files),
        "files": {e.path: e.sha256 for e in package.files}, "series_numbers": (1,), "duplicates": 0,
        "locked": True, "read_back_verified": True, "events_logged": True,
    }
    return Expectation(**(values | changes))


def stored(package, **changes) -> Expectation:
    return expectation(package, **({"sha256": package.sha256, "sha512": package.sha512, "size": package.size}
                                   | changes))


def item(report: Report, code: str) -> CheckItem:
    return next(i for i in report.items if i.code == code)


def results(report: Report) -> dict[str, str]:
    return {i.code: i.result for i in report.items}


def failed(report: Report) -> set[str]:
    return {i.code for i in report.failures()}


def verifier(calls: list):
    def verify(pdf: bytes) -> tuple[bool, str]:
        calls.append(pdf)
        return True, "signed by 长春市自然资源局"

    return verify


def with_file(path: str, data: bytes, media_type: str, kind: str = "material", **metadata):
    files = [*sample_files(), PayloadFile(path, data, kind, "附件", media_type=media_type)]
    return sample_package(files, **metadata)


# A good package


def test_a_good_package_passes_at_filing(package):
    report = four_property_check(package.data, expectation(package))
    assert report.stage == "GD"
    assert [i.code for i in report.items] == list(ITEMS)
    assert all((i.property, i.name) == ITEMS[i.code][:2] for i in report.items)
    skipped = {"1-1", "1-5", "4-1"}  # no verifier, not stored yet, no scanner
    assert {code: r for code, r in results(report).items() if r != "pass"} == dict.fromkeys(skipped, "skipped")
    assert report.passed
    assert report.failures() == []
    assert all(i.reason and i.reason_en for i in report.items)
    assert "no signature verifier" in item(report, "1-1").reason_en
    assert "certificates/0004-certificate.pdf" in item(report, "1-1").reason
    assert "未配置病毒扫描程序" in item(report, "4-1").reason


def test_a_good_stored_package_passes_everything(package):
    calls, scanned = [], []
    report = four_property_check(package.data, stored(package), stage="BC", verify_signature=verifier(calls),
                                 scan=lambda data: scanned.append(data))
    assert set(results(report).values()) == {"pass"}
    assert calls == [CERTIFICATE_PDF]  # only the signed file goes to the verifier
    assert len(scanned) == len(read_package(package.data))
    assert "signed file(s) verified: data/certificates/0004-certificate.pdf" in item(report, "1-1").reason_en
    assert item(report, "2-2-3").reason == "序列 Z109-WS·2026-Y-BDC 的件号 1–1 连续无缺号"


def test_report_round_trips_through_json(package):
    report = four_property_check(package.data, expectation(package, duplicates=1))
    stored_form = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert stored_form["passed"] is False
    assert stored_form["items"][0]["code"] == "1-1"
    assert Report.from_dict(stored_form) == report


def test_an_unknown_stage_is_refused(package):
    with pytest.raises(ValueError, match="stage"):
        four_property_check(package.data, expectation(package), stage="YJ")


# Authenticity


def test_signatures_that_do_not_verify(package):
    report = four_property_check(package.data, expectation(package),
                                 verify_signature=lambda pdf: (False, "certificate revoked"))
    assert failed(report) == {"1-1"}
    assert item(report, "1-1").reason_en == ("data/certificates/0004-certificate.pdf: the signature does not verify: "
                                             "certificate revoked")


def test_a_verifier_that_breaks_fails_the_item(package):
    def broken(pdf):
        raise RuntimeError("no trust roots")

    report = four_property_check(package.data, expectation(package), verify_signature=broken)
    assert "RuntimeError: no trust roots" in item(report, "1-1").reason


def test_no_signed_files_is_skipped():
    package = sample_package([f for f in sample_files() if f.kind != "certificate"])
    report = four_property_check(package.data, expectation(package), verify_signature=verifier([]))
    assert item(report, "1-1").result == "skipped"
    assert "no signed PDF" in item(report, "1-1").reason_en


def test_values_outside_the_code_tables():
    package = sample_package(retention="永久", category="GW")
    report = four_property_check(package.data, expectation(package))
    assert item(report, "1-2-3").result == "fail"
    assert "retention is '永久', not one of Y/D30/D10" in item(report, "1-2-3").reason_en
    assert "category is 'GW'" in item(report, "1-2-3").reason_en


@pytest.mark.parametrize(("changes", "expected"), [
    ({"closed_at": "2026-03-01T09:00:00+08:00"}, "submitted_at (2026-03-02T09:00:00+08:00) is after closed_at"),
    ({"closed_at": "2026-03-10 16:30"}, "closed_at (2026-03-10 16:30) has no UTC offset"),
    ({"closed_at": "10/03/2026"}, "closed_at is '10/03/2026', not an ISO 8601 time"),
    ({"year": 1800}, "year 1800 is implausible"),
    ({"year": 2016}, "year 2016 does not agree with closed_at"),
    ({"filed_at": "2026-03-09T00:00:00+08:00"}, "closed_at (2026-03-10T16:30:00+08:00) is after filed_at"),
    ({"timeline": [{"at": "2026-03-05T10:00:00+08:00"}, {"at": "2026-03-02T09:00:00+08:00"}]},
     "timeline entry 2 (2026-03-02T09:00:00+08:00) is before the one before it (2026-03-05T10:00:00+08:00)"),
])
def test_implausible_values(changes, expected):
    package = sample_package(**changes)
    report = four_property_check(package.data, expectation(package))
    assert item(report, "1-2-4").result == "fail"
    assert expected in item(report, "1-2-4").reason_en


def test_control_characters_in_metadata(package):
    metadata = read_package(package.data)["data/metadata.json"].replace("申请人身份证明".encode(), b"\\u0007ID")
    report = four_property_check(retar(package.data, {"data/metadata.json": metadata}), expectation(package))
    assert item(report, "1-2-5").result == "fail"
    assert item(report, "1-2-5").reason == "字段 files[2].title 含控制字符 U+0007"


def test_archival_code_must_match_the_record(package):
    report = four_property_check(package.data, expectation(package, archival_code="Z109-WS·2026-Y-BDC-0002",
                                                            series_numbers=(1, 2)))
    assert item(report, "1-2-6").result == "fail"
    assert "differs from the recorded Z109-WS·2026-Y-BDC-0002" in item(report, "1-2-6").reason_en


def test_archival_code_in_metadata_must_parse_and_agree_with_the_fields():
    report = four_property_check(sample_package(archival_code="Z109-WS.2026-Y-BDC-0001").data,
                                 expectation(sample_package()))
    assert "U+00B7" in item(report, "1-2-6").reason_en
    package = sample_package(org="DJZX")
    report = four_property_check(package.data, expectation(package))
    assert "org is 'DJZX' but the archival code says 'BDC'" in item(report, "1-2-6").reason_en


def test_archival_code_in_dat13_style_is_accepted():
    package = sample_package(archival_code="Z109-WS·2026·Y·BDC-0001")
    assert item(four_property_check(package.data, expectation(package)), "1-2-6").result == "pass"


def test_a_duplicate_archival_code(package):
    report = four_property_check(package.data, expectation(package, duplicates=2))
    assert failed(report) == {"1-2-7"}
    assert item(report, "1-2-7").reason == f"另有 2 条记录使用同一档号 {CODE}"


def test_content_that_disagrees_with_its_description(package):
    metadata = json.loads(read_package(package.data)["data/metadata.json"])
    entry = next(e for e in metadata["files"] if e["path"] == "data/materials/0003-site-photo.png")
    entry["size"] += 1
    entry["media_type"] = "image/jpeg"
    damaged = retar(package.data, {"data/metadata.json": json.dumps(metadata, ensure_ascii=False).encode()})
    reason = item(four_property_check(damaged, expectation(package)), "1-3").reason_en
    assert f"data/materials/0003-site-photo.png: size should be {entry['size']} bytes, found {entry['size'] - 1}" \
        in reason
    assert "data/materials/0003-site-photo.png is declared image/jpeg but its content is image/png" in reason


def test_content_without_description_and_description_without_content(package):
    damaged = retar(package.data, {"data/materials/0003-site-photo.png": None},
                    add={"data/materials/0009-late.pdf": tiny_pdf()})
    reason = item(four_property_check(damaged, expectation(package)), "1-4").reason_en
    assert "data/materials/0003-site-photo.png is described in the metadata but has no content" in reason
    assert "data/materials/0009-late.pdf is not described in the metadata" in reason


def test_package_digest_mismatch_fails_package_authenticity_not_signatures(package):
    report = four_property_check(package.data, stored(package, sha256="ab" * 32, size=package.size + 1), stage="BC",
                                 verify_signature=verifier([]))
    assert failed(report) == {"1-5"}
    assert item(report, "1-1").result == "pass"
    reason = item(report, "1-5").reason_en
    assert f"the package's SHA256 should be {'ab' * 32}, found {package.sha256}" in reason
    assert f"the package should be {package.size + 1} bytes, found {package.size}" in reason


def test_a_stored_package_without_recorded_digests_fails(package):
    report = four_property_check(package.data, expectation(package), stage="BC")
    assert item(report, "1-5").result == "fail"


# Integrity


def test_wrong_totals(package):
    report = four_property_check(package.data, expectation(package, file_count=5, byte_count=10))
    assert failed(report) == {"2-1"}
    actual = sum(e.size for e in package.files)
    assert item(report, "2-1").reason == f"总件数应为 5，实为 4；总字节数应为 10，实为 {actual}"


def test_missing_mandatory_metadata():
    metadata = sample_metadata(timeline=[], case_no="")
    del metadata["closed_at"]
    package = build_package(sample_files(), metadata, {}, DAY)
    report = four_property_check(package.data, expectation(package))
    assert failed(report) == {"2-2"}
    assert item(report, "2-2").reason_en == "mandatory fields missing: case_no, closed_at, timeline"


def test_a_gap_in_the_series_names_the_missing_numbers(package):
    report = four_property_check(package.data, expectation(package, series_numbers=(1, 2, 4, 7, 8, 9)))
    assert failed(report) == {"2-2-3"}
    assert item(report, "2-2-3").reason == "序列 Z109-WS·2026-Y-BDC 的件号 1–9 中缺少 3, 5–6"
    assert "missing item number(s) 3, 5–6 of 1–9" in item(report, "2-2-3").reason_en


def test_this_item_missing_from_its_series(package):
    report = four_property_check(package.data, expectation(package, series_numbers=()))
    assert "item number 1 is not recorded" in item(report, "2-2-3").reason_en


def test_content_that_differs_from_the_registration(package):
    files = expectation(package).files | {"data/materials/0001-id-card.pdf": "0" * 64, "data/materials/0005-x.pdf": "1"}
    reason = item(four_property_check(package.data, expectation(package, files=files)), "2-3").reason_en
    assert "data/materials/0001-id-card.pdf: SHA-256 should be " + "0" * 64 in reason
    assert "the registered file data/materials/0005-x.pdf is not in the package" in reason


def test_a_damaged_bag_fails_package_completeness(package):
    damaged = retar(package.data, {"data/materials/0001-id-card.pdf": flip_byte(tiny_pdf())})
    report = four_property_check(damaged, expectation(package))
    reason = item(report, "2-4").reason
    assert "文件 data/materials/0001-id-card.pdf 的 sha256 摘要不符" in reason
    assert {"1-3", "2-3", "2-4"} <= failed(report)


# Usability


def test_broken_metadata_xml(package):
    report = four_property_check(retar(package.data, {"data/metadata.xml": b"<archiveRecord><oops>"}),
                                 expectation(package))
    assert item(report, "3-1").result == "fail"
    assert "data/metadata.xml does not parse" in item(report, "3-1").reason_en


def test_metadata_xml_that_disagrees_with_the_json(package):
    xml = read_package(package.data)["data/metadata.xml"].replace(b"BDC-0001<", b"BDC-0002<")
    reason = item(four_property_check(retar(package.data, {"data/metadata.xml": xml}), expectation(package)),
                  "3-1").reason_en
    assert "gives the archival code 'Z109-WS·2026-Y-BDC-0002', the JSON 'Z109-WS·2026-Y-BDC-0001'" in reason


def test_unparsable_metadata_json(package):
    report = four_property_check(retar(package.data, {"data/metadata.json": b"{not json"}), expectation(package))
    assert "data/metadata.json is not valid JSON" in item(report, "3-1").reason_en
    for code in ("1-2-3", "1-2-4", "1-2-5", "1-2-6", "1-3", "1-4", "2-2", "3-4"):
        assert item(report, code).result == "fail"
        assert item(report, code).reason_en.startswith("cannot check: ") or code == "3-4"


def test_a_format_that_is_not_allowed(package):
    report = four_property_check(package.data, expectation(package),
                                 allowed_media_types=frozenset({"application/pdf", "image/tiff"}))
    reason = item(report, "3-2").reason_en
    assert "data/materials/0003-site-photo.png: the format image/png is not an allowed archival format" in reason
    assert "0002-acceptance-notice.docx: the format application/vnd.openxml" in reason
    gif = with_file("materials/0005-map.gif", b"GIF89a\x01\x00\x01\x00", "image/gif")
    assert "image/gif is not an allowed" in item(four_property_check(gif.data, expectation(gif)), "3-2").reason_en


@pytest.mark.parametrize(("data", "media_type", "expected"), [
    (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf", "has no %%EOF"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 4, "image/png", "has no valid PNG header"),
    (b"II*\x00\xff\xff\x00\x00", "image/tiff", "has no valid TIFF header"),
    (b"PK\x03\x04 broken", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "not a readable zip"),
])
def test_files_that_do_not_open(data, media_type, expected):
    package = with_file("materials/0005-broken.bin", data, media_type)
    reason = item(four_property_check(package.data, expectation(package)), "3-2").reason_en
    assert f"data/materials/0005-broken.bin does not open as {media_type}: {expected}" in reason


def test_an_ofd_and_a_tiff_open():
    ofd = io.BytesIO()
    with zipfile.ZipFile(ofd, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD/>")
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 16
    files = [*sample_files(), PayloadFile("materials/0005-e-licence.ofd", ofd.getvalue(), "material", "电子证照",
                                          media_type="application/ofd"),
             PayloadFile("materials/0006-scan.tif", tiff, "material", "扫描件", media_type="image/tiff")]
    package = sample_package(files)
    report = four_property_check(package.data, expectation(package))
    assert report.passed, report.failures()


def test_an_unreadable_package_is_unusable(package):
    report = four_property_check(b"garbage" * 100, expectation(package))
    assert item(report, "3-4").reason_en.startswith("cannot check: the package cannot be read safely")
    assert not report.passed


# Security


def test_a_virus_is_named(package):
    def scan(data: bytes) -> str | None:
        return "Eicar-Test-Signature" if data == tiny_pdf() else None

    report = four_property_check(package.data, expectation(package), scan=scan)
    assert failed(report) == {"4-1"}
    assert item(report, "4-1").reason == "data/materials/0001-id-card.pdf 发现病毒：Eicar-Test-Signature"


def test_a_broken_scanner_does_not_clear_files(package):
    def scan(data):
        raise ConnectionError("clamd down")

    reason = item(four_property_check(package.data, expectation(package), scan=scan), "4-1").reason_en
    assert "the scan failed: ConnectionError: clamd down" in reason


def test_an_executable_renamed_pdf():
    package = with_file("materials/0005-scan.pdf", EXE, "application/pdf")
    report = four_property_check(package.data, expectation(package))
    assert item(report, "4-1-2").reason_en == "data/materials/0005-scan.pdf is an executable (PE (Windows))"
    assert "declared application/pdf but its content is of an unknown format" in item(report, "1-3").reason_en
    assert "does not start with %PDF-" in item(report, "3-2").reason_en


@pytest.mark.parametrize("script", [b"#!/bin/sh\nrm -rf /\n", b"\x7fELF\x02\x01\x01"])
def test_scripts_and_elf_binaries(script):
    package = with_file("materials/0005-a.pdf", script, "application/pdf")
    assert item(four_property_check(package.data, expectation(package)), "4-1-2").result == "fail"


@pytest.mark.parametrize(("body", "names"), [
    (b"<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>", "/JS /JavaScript"),
    (b"<< /OpenAction << /S /J#61vaScript >> >>", "/JavaScript"),
    (b"<< /OpenAction << /S /Launch /F (cmd.exe) >> >>", "/Launch"),
    (b"<< /Type /EmbeddedFile /Length 3 >>", "/EmbeddedFile"),
])
def test_pdfs_with_active_content(body, names):
    pdf = b"%PDF-1.7\n1 0 obj\n" + body + b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    package = with_file("materials/0005-form.pdf", pdf, "application/pdf")
    reason = item(four_property_check(package.data, expectation(package)), "4-1-2").reason_en
    assert reason == f"data/materials/0005-form.pdf holds active content {names}"


def test_javascript_hidden_in_a_compressed_object_stream():
    hidden = zlib.compress(b"5 0 << /S /JavaScript /JS (app.alert(1)) >>")
    pdf = (b"%%PDF-1.7\n4 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
           % len(hidden) + hidden + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    package = with_file("materials/0005-form.pdf", pdf, "application/pdf")
    assert "/JS /JavaScript" in item(four_property_check(package.data, expectation(package)), "4-1-2").reason_en


def test_a_docx_with_macros():
    source = zipfile.ZipFile(io.BytesIO(tiny_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name))
        archive.writestr("word/vbaProject.bin", b"macro")
    package = with_file("documents/0005-form.docx", out.getvalue(),
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert "macros" in item(four_property_check(package.data, expectation(package)), "4-1-2").reason_en


def test_an_extra_file_fails_carrier_security(package):
    damaged = retar(package.data, add={"run.sh": b"echo hi\n"})
    reason = item(four_property_check(damaged, expectation(package)), "4-2").reason_en
    assert reason == "run.sh is in the package but no manifest lists it."


def test_an_unsafe_tar_fails_carrier_security(package):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("../../etc/cron.d/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    report = four_property_check(out.getvalue(), expectation(package))
    assert "unsafe path" in item(report, "4-2").reason_en
    assert item(report, "4-3").result == "pass"


def test_object_lock_not_applied(package):
    report = four_property_check(package.data, stored(package, locked=False), stage="BC")
    assert failed(report) == {"4-3"}
    assert item(report, "4-3").reason_en == "object lock not applied"


def test_a_store_without_locks_passes_on_the_other_two(package):
    report = four_property_check(package.data, expectation(package, locked=None))
    assert item(report, "4-3").result == "pass"
    assert "object lock not checked" in item(report, "4-3").reason_en
    report = four_property_check(package.data, expectation(package, locked=None, events_logged=False))
    assert item(report, "4-3").reason_en == "the ingest is not in the audit trail"


def test_not_read_back(package):
    report = four_property_check(package.data, expectation(package, read_back_verified=False))
    assert item(report, "4-3").reason == "上传后未回读校验或回读不一致"


# Whatever the package holds, a report


def test_a_missing_package(package):
    report = four_property_check(None, stored(package), stage="BC")
    assert not report.passed
    assert item(report, "2-4").reason_en == "cannot check: the package is missing from the store"
    assert {code for code, r in results(report).items() if r == "pass"} == {"1-2-7", "2-2-3", "4-3"}
    assert item(report, "4-1").result == "fail"


def test_odd_metadata_values_give_a_report_not_an_exception():
    metadata = sample_metadata(year="二〇二六", timeline="see paper file", item=None, closed_at=20260310)
    package = build_package(sample_files(), metadata, {}, DAY)
    report = four_property_check(package.data, expectation(package))
    assert {"1-2-4", "1-2-6", "2-2"} <= failed(report)
    assert "timeline should be a list" in item(report, "2-2").reason_en
    bad_files = json.dumps({"files": [{"path": 3}]}).encode()
    report = four_property_check(retar(package.data, {"data/metadata.json": bad_files}), expectation(package))
    assert "is not an object with a list of files" in item(report, "3-1").reason_en


def test_long_findings_are_shortened(package):
    files = {f"data/x/{n:04d}.pdf": "0" for n in range(15)}
    reason = item(four_property_check(package.data, expectation(package, files=files)), "2-3")
    assert reason.reason.endswith("等共 19 项")
    assert reason.reason_en.endswith("; 9 more")
