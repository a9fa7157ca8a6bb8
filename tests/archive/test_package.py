"""Archival packages: one case as one BagIt bag in a tar. Building, reading safely, exporting, and
diagnosing each kind of damage. The sample builders here are shared with the check and fixity tests."""

import hashlib
import io
import json
import random
import struct
import tarfile
import xml.etree.ElementTree as ET
import zlib
from datetime import UTC, date, datetime

import bagit
import docx
import pytest

from archive.package import (
    FileEntry,
    PackageError,
    PayloadFile,
    Problem,
    build_package,
    export_package,
    read_metadata,
    read_package,
    validate_package,
)

NS = "{urn:smartland:archive:1}"
DAY = date(2026, 3, 11)
CERTIFICATE_PDF = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> >>\nendobj\n"
                   b"2 0 obj\n<< /FT /Sig /V << /Type /Sig /ByteRange [0 10 20 30] /Contents <00> >> >>\nendobj\n"
                   b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def tiny_pdf(text: str = "id card") -> bytes:
    return (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Title (" + text.encode() + b") >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def tiny_docx(text: str = "受理通知书") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


DOCX_BYTES = tiny_docx()  # python-docx stamps zip times: made once so builds can be compared byte for byte


def sample_files() -> list[PayloadFile]:
    created = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    return [
        PayloadFile("materials/0001-id-card.pdf", tiny_pdf(), "material", "申请人身份证明", "身份证.pdf",
                    "application/pdf", created),
        PayloadFile("documents/0002-acceptance-notice.docx", DOCX_BYTES, "document", "受理通知书", "受理通知书.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", created),
        PayloadFile("materials/0003-site-photo.png", tiny_png(), "material", "现场照片", "现场照片.png", "image/png"),
        PayloadFile("certificates/0004-certificate.pdf", CERTIFICATE_PDF, "certificate", "不动产权证书",
                    media_type="application/pdf", created_at=created),
    ]


def sample_metadata(**changes) -> dict:
    metadata = {
        "archival_code": "Z109-WS·2026-Y-BDC-0001",
        "title": "张三 国有建设用地使用权及房屋所有权首次登记",
        "fonds": "Z109",
        "category": "WS",
        "year": 2026,
        "retention": "Y",
        "org": "BDC",
        "item": 1,
        "case_no": "BDC-2026-000123",
        "service": "不动产首次登记",
        "applicant": {"name": "张三", "phone": None},
        "submitted_at": "2026-03-02T09:00:00+08:00",
        "closed_at": "2026-03-10T16:30:00+08:00",
        "timeline": [
            {"at": "2026-03-02T09:00:00+08:00", "event": "受理", "actor": "李四"},
            {"at": "2026-03-05T10:00:00+08:00", "event": "审核 <通过> & 登簿", "actor": "王五"},
            {"at": "2026-03-10T16:30:00+08:00", "event": "办结", "actor": "王五"},
        ],
    }
    metadata.update(changes)
    return metadata


BAG_INFO = {"Source-Organization": "长春市自然资源局", "External-Identifier": "case-123"}


def sample_package(files: list[PayloadFile] | None = None, **metadata_changes):
    return build_package(sample_files() if files is None else files, sample_metadata(**metadata_changes), BAG_INFO,
                         DAY)


def retar(data: bytes, replace: dict[str, bytes | None] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The package with members replaced (None: removed) or added, as damage or tampering would leave it."""
    replace, add = replace or {}, add or {}
    files = read_package(data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in list(files.items()) + list(add.items()):
            content = replace.get(name, content)
            if content is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def flip_byte(content: bytes, at: int = 20) -> bytes:
    return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1:]


def raw_tar(*members: tarfile.TarInfo, content: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in members:
            if info.isreg():
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
            else:
                tar.addfile(info)
    return out.getvalue()


@pytest.fixture(scope="module")
def package():
    return sample_package()


# Payload files


@pytest.mark.parametrize("path", ["../x.pdf", "/abs.pdf", "a//b.pdf", "a/./b.pdf", "a/../b.pdf", "身份证.pdf",
                                  "a b.pdf", "a\\b.pdf", "", "dir/", "metadata.json", "metadata.xml"])
def test_payload_path_must_be_plain_relative_ascii(path):
    with pytest.raises(ValueError, match="payload path"):
        PayloadFile(path, b"x", "material", "t")


@pytest.mark.parametrize("path", ["a.pdf", "materials/0001-id_card.v2.pdf", "x/metadata.json", ".hidden"])
def test_payload_path_accepts_plain_segments(path):
    assert PayloadFile(path, b"x", "material", "t").path == path


@pytest.mark.parametrize("kind", ["", "Material", "a very long kind name", "证书"])
def test_payload_kind_must_be_a_short_word(kind):
    with pytest.raises(ValueError, match="kind"):
        PayloadFile("a.pdf", b"x", kind, "t")


def test_payload_data_must_be_bytes():
    with pytest.raises(ValueError, match="bytes"):
        PayloadFile("a.pdf", "text", "material", "t")


# Building


def test_members_sit_at_the_tar_root(package):
    names = sorted(read_package(package.data))
    assert names == ["bag-info.txt", "bagit.txt", "data/certificates/0004-certificate.pdf",
                     "data/documents/0002-acceptance-notice.docx", "data/materials/0001-id-card.pdf",
                     "data/materials/0003-site-photo.png", "data/metadata.json", "data/metadata.xml",
                     "manifest-sha256.txt", "manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"]


def test_every_payload_file_is_in_both_manifests_and_tag_files_in_tag_manifests(package):
    files = read_package(package.data)
    payload = {name for name in files if name.startswith("data/")}
    for alg in ("sha256", "sha512"):
        lines = files[f"manifest-{alg}.txt"].decode().splitlines()
        listed = {line.split(maxsplit=1)[1]: line.split()[0] for line in lines}
        assert set(listed) == payload
        assert all(listed[name] == hashlib.new(alg, files[name]).hexdigest() for name in payload)
        tags = dict(reversed(line.split()) for line in files[f"tagmanifest-{alg}.txt"].decode().splitlines())
        assert set(tags) == {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"}
        assert all(tags[name] == hashlib.new(alg, files[name]).hexdigest() for name in tags)


def test_bag_declarations(package):
    files = read_package(package.data)
    assert files["bagit.txt"] == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    info = files["bag-info.txt"].decode()
    assert "Bagging-Date: 2026-03-11\n" in info
    assert "Source-Organization: 长春市自然资源局\n" in info
    assert "External-Identifier: case-123\n" in info
    payload = [content for name, content in files.items() if name.startswith("data/")]
    oxum = f"{sum(map(len, payload))}.{len(payload)}"
    assert f"Payload-Oxum: {oxum}\n" in info
    assert package.payload_oxum == oxum


def test_package_digests_and_file_entries(package):
    assert package.size == len(package.data)
    assert package.sha256 == hashlib.sha256(package.data).hexdigest()
    assert package.sha512 == hashlib.sha512(package.data).hexdigest()
    assert [e.path for e in package.files] == sorted(f"data/{f.path}" for f in sample_files())
    photo = next(e for e in package.files if e.path.endswith("site-photo.png"))
    png = tiny_png()
    assert photo == FileEntry(path="data/materials/0003-site-photo.png", kind="material", title="现场照片",
                              original_name="现场照片.png", media_type="image/png", size=len(png),
                              sha256=hashlib.sha256(png).hexdigest(), sha512=hashlib.sha512(png).hexdigest(),
                              created_at=None)
    card = next(e for e in package.files if e.path.endswith("id-card.pdf"))
    assert card.created_at == "2026-03-02T09:15:00+00:00"


def test_metadata_json_keeps_chinese_and_lists_the_files(package):
    raw = read_package(package.data)["data/metadata.json"]
    assert "张三".encode() in raw  # not \u-escaped
    metadata = read_metadata(package.data)
    assert metadata["title"] == sample_metadata()["title"]
    assert metadata["applicant"] == {"name": "张三", "phone": None}
    assert metadata["files"] == [json.loads(json.dumps(e.__dict__)) for e in package.files]
    assert list(metadata) == sorted(metadata)


def test_metadata_xml_says_the_same(package):
    raw = read_package(package.data)["data/metadata.xml"]
    assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.fromstring(raw)
    assert root.tag == f"{NS}archiveRecord"
    assert root.findtext(f"{NS}archival_code") == "Z109-WS·2026-Y-BDC-0001"
    assert root.findtext(f"{NS}year") == "2026"
    assert root.find(f"{NS}applicant/{NS}phone").get("nil") == "true"
    events = root.findall(f"{NS}timeline/{NS}item/{NS}event")
    assert [e.text for e in events] == ["受理", "审核 <通过> & 登簿", "办结"]
    assert b"&lt;\xe9\x80\x9a\xe8\xbf\x87&gt; &amp;" in raw
    assert len(root.findall(f"{NS}files/{NS}item")) == 4
    assert root.find(f"{NS}files/{NS}item/{NS}created_at").text == "2026-03-02T09:15:00+00:00"


def test_same_input_gives_the_same_bytes(package):
    shuffled = sample_files()
    random.Random(7).shuffle(shuffled)
    again = sample_package(shuffled)
    assert again.data == package.data
    assert again.sha256 == package.sha256
    later = build_package(sample_files(), sample_metadata(), BAG_INFO, date(2026, 3, 12))
    assert later.data != package.data


def test_tar_members_carry_fixed_owner_and_time(package):
    with tarfile.open(fileobj=io.BytesIO(package.data)) as tar:
        members = tar.getmembers()
    midnight = datetime(2026, 3, 11, tzinfo=UTC).timestamp()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert all(m.isreg() and m.mtime == midnight and m.uid == m.gid == 0 and m.uname == m.gname == ""
               for m in members)


@pytest.mark.parametrize(("paths", "message"), [
    (["a.pdf", "A.PDF"], "collide"),
    (["a.pdf", "a.pdf"], "collide"),
    (["a", "a/b.pdf"], "under the file"),
])
def test_conflicting_paths_are_refused(paths, message):
    with pytest.raises(ValueError, match=message):
        build_package([PayloadFile(p, b"x", "material", "t") for p in paths], {}, {}, DAY)


@pytest.mark.parametrize(("metadata", "message"), [
    ({"files": []}, "reserved"),
    ({"title": "bell\x07"}, "U\\+0007"),
    ({"timeline": [{"note": "a\x00b"}]}, "timeline.0.note"),
    ({"标题": "x"}, "ASCII identifier"),
    ({"bad-key": "x"}, "ASCII identifier"),
    ({"amount": b"bytes"}, "unsupported type"),
])
def test_bad_metadata_is_refused(metadata, message):
    with pytest.raises(ValueError, match=message):
        build_package([], metadata, {}, DAY)


@pytest.mark.parametrize("bag_info", [{"Source:Organization": "x"}, {"": "x"}, {" Lead": "x"},
                                      {"Contact-Name": "张三\n李四"}])
def test_bag_info_must_be_one_line_labels_and_values(bag_info):
    with pytest.raises(ValueError, match="bag-info"):
        build_package([], {}, bag_info, DAY)


def test_dates_in_metadata_become_iso_text():
    built = build_package([], {"closed_at": datetime(2026, 3, 10, 8, 30, tzinfo=UTC), "day": date(2026, 3, 1)},
                          {}, DAY)
    assert read_metadata(built.data) == {"closed_at": "2026-03-10T08:30:00+00:00", "day": "2026-03-01", "files": []}


def test_read_package_gives_every_file(package):
    files = read_package(package.data)
    assert files["data/materials/0001-id-card.pdf"] == tiny_pdf()
    assert files["data/documents/0002-acceptance-notice.docx"] == DOCX_BYTES


def test_exported_bag_validates_with_bagit(package, tmp_path):
    target = export_package(package.data, tmp_path / "bag")
    assert target == tmp_path / "bag"
    assert (target / "data/materials/0003-site-photo.png").read_bytes() == tiny_png()
    bag = bagit.Bag(str(target))
    assert bag.validate() is True
    assert bag.is_valid()
    assert bag.version_info == (1, 0)
    assert bag.info["Payload-Oxum"] == package.payload_oxum


def test_export_into_an_existing_empty_directory(package, tmp_path):
    export_package(package.data, tmp_path)
    assert (tmp_path / "bagit.txt").is_file()


def test_export_refuses_a_non_empty_directory_or_a_file(package, tmp_path):
    (tmp_path / "old.txt").write_text("keep")
    with pytest.raises(PackageError, match="not an empty directory"):
        export_package(package.data, tmp_path)
    with pytest.raises(PackageError, match="not an empty directory"):
        export_package(package.data, tmp_path / "old.txt")
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_tampered_export_fails_bagit_too(package, tmp_path):
    damaged = retar(package.data, {"data/materials/0001-id-card.pdf": flip_byte(tiny_pdf())})
    bag = bagit.Bag(str(export_package(damaged, tmp_path / "bag")))
    with pytest.raises(bagit.BagValidationError):
        bag.validate()


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


@pytest.mark.parametrize(("data", "message"), [
    (raw_tar(tarfile.TarInfo("../x")), "unsafe path"),
    (raw_tar(tarfile.TarInfo("data/../../x")), "unsafe path"),
    (raw_tar(tarfile.TarInfo("/etc/passwd")), "absolute"),
    (raw_tar(tarfile.TarInfo("C:/x")), "absolute"),
    (raw_tar(symlink("data/link", "/etc/passwd")), "link"),
    (raw_tar(special("data/hard", tarfile.LNKTYPE)), "link"),
    (raw_tar(special("data/dev", tarfile.CHRTYPE)), "not a regular file"),
    (raw_tar(special("data/fifo", tarfile.FIFOTYPE)), "not a regular file"),
    (raw_tar(tarfile.TarInfo("data/a"), tarfile.TarInfo("data/a")), "appears twice"),
    (b"this is not a tar archive at all" * 20, "not a readable tar"),
    (b"", "not a readable tar"),
])
def test_unsafe_or_unreadable_tars_are_refused(data, message, tmp_path):
    with pytest.raises(PackageError, match=message):
        read_package(data)
    with pytest.raises(PackageError):
        export_package(data, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    [problem] = validate_package(data)
    assert problem.kind == "unreadable"
    assert message.split()[-1] in problem.actual


@pytest.mark.parametrize("cut", [1500, 1024, 3000])
def test_truncated_tar_is_unreadable(package, cut):
    with pytest.raises(PackageError, match=r"truncated|unexpected end"):
        read_package(package.data[:cut])
    [problem] = validate_package(package.data[:cut])
    assert problem.kind == "unreadable"


def test_directory_members_are_allowed(package):
    files = read_package(package.data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(special("data/", tarfile.DIRTYPE))
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    assert read_package(out.getvalue()) == files
    assert validate_package(out.getvalue()) == []


# Diagnosis


def test_a_good_package_has_no_problems(package):
    assert validate_package(package.data) == []


def test_a_changed_byte_is_reported_per_algorithm_with_both_digests(package):
    path = "data/materials/0001-id-card.pdf"
    damaged_pdf = flip_byte(tiny_pdf())
    problems = validate_package(retar(package.data, {path: damaged_pdf}))
    assert problems == [
        Problem("changed", path=path, algorithm="sha256", expected=hashlib.sha256(tiny_pdf()).hexdigest(),
                actual=hashlib.sha256(damaged_pdf).hexdigest()),
        Problem("changed", path=path, algorithm="sha512", expected=hashlib.sha512(tiny_pdf()).hexdigest(),
                actual=hashlib.sha512(damaged_pdf).hexdigest()),
    ]


def test_a_removed_file_is_missing_and_the_oxum_disagrees(package):
    path = "data/materials/0003-site-photo.png"
    problems = validate_package(retar(package.data, {path: None}))
    octets, streams = map(int, package.payload_oxum.split("."))
    assert problems == [Problem("missing", path=path),
                        Problem("oxum", path="bag-info.txt", expected=package.payload_oxum,
                                actual=f"{octets - len(tiny_png())}.{streams - 1}")]


def test_an_added_file_is_extra(package):
    problems = validate_package(retar(package.data, add={"data/materials/9999-extra.pdf": b"%PDF-1.7 sneaked in"}))
    assert [p.kind for p in problems] == ["extra", "oxum"]
    assert problems[0].path == "data/materials/9999-extra.pdf"
    assert problems[1].actual.endswith(".7")


def test_a_file_added_outside_data_is_extra(package):
    problems = validate_package(retar(package.data, add={"run.sh": b"#!/bin/sh\n"}))
    assert problems == [Problem("extra", path="run.sh")]


def test_a_deleted_manifest_is_reported_as_such(package):
    problems = validate_package(retar(package.data, {"manifest-sha256.txt": None}))
    assert problems == [Problem("missing_manifest", path="manifest-sha256.txt")]


def test_all_payload_manifests_deleted(package):
    problems = validate_package(retar(package.data, {"manifest-sha256.txt": None, "manifest-sha512.txt": None}))
    assert problems == [Problem("missing_manifest", path="manifest-sha256.txt"),
                        Problem("missing_manifest", path="manifest-sha512.txt")]


def test_an_edited_tag_file_is_changed(package):
    info = read_package(package.data)["bag-info.txt"].replace(b"case-123", b"case-999")
    problems = validate_package(retar(package.data, {"bag-info.txt": info}))
    assert {(p.kind, p.path) for p in problems} == {("changed", "bag-info.txt")}
    assert len(problems) == 2


def test_a_malformed_manifest_line_is_unreadable(package):
    manifest = read_package(package.data)["manifest-sha256.txt"] + b"garbage\n"
    problems = validate_package(retar(package.data, {"manifest-sha256.txt": manifest}))
    assert Problem("unreadable", path="manifest-sha256.txt", actual="malformed line 'garbage'") in problems


def test_problem_descriptions_name_path_and_values():
    problem = Problem("changed", path="data/a.pdf", algorithm="sha256", expected="aa11", actual="bb22")
    assert problem.describe() == "文件 data/a.pdf 的 sha256 摘要不符：应为 aa11，实为 bb22。"
    assert problem.describe("en") == "data/a.pdf: the sha256 digest has changed: expected aa11, found bb22."
    assert problem.describe("zh_Hans_CN") == problem.describe("zh")
    assert "data/x" in Problem("missing", path="data/x").describe("en")
    assert "1.2" in Problem("oxum", expected="1.2", actual="3.4").describe()
    unreadable = Problem("unreadable", path="manifest-sha256.txt", actual="not UTF-8")
    assert unreadable.describe("en") == "The package cannot be read safely (manifest-sha256.txt): not UTF-8."
    assert Problem("object_missing").describe() == "存储中找不到信息包。"
