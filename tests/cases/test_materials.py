"""Materials: what an upload must be to be accepted, and how an accepted one is stored and read back."""

import hashlib

import pytest
from sqlalchemy import select

from app.cases import materials
from app.cases.models import CaseEvent, EventKind, Material
from app.cases.uploads import UploadError, inspect, safe_name
from app.core.models import AuditEntry
from app.extensions import db
from tests import samples

MB = 2**20


@pytest.mark.parametrize(("name", "data", "mime", "stored_as"), [
    ("宗地图.pdf", samples.pdf(), "application/pdf", "宗地图.pdf"),
    ("扫描件.PNG", samples.png(), "image/png", "扫描件.png"),
    ("photo.jpeg", samples.jpeg(), "image/jpeg", "photo.jpeg"),
    ("photo.jpg", samples.jpeg(), "image/jpeg", "photo.jpg"),
    ("no extension", samples.pdf(), "application/pdf", "no extension.pdf"),
])
def test_accepted_files(name, data, mime, stored_as):
    upload = inspect(name, data, MB)
    assert (upload.content_type, upload.filename, upload.size) == (mime, stored_as, len(data))
    assert upload.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(("name", "data", "says"), [
    ("合同.pdf", samples.exe(), "not a PDF, JPEG or PNG"),  # an executable named as a PDF
    ("setup.exe", samples.exe(), "not a PDF, JPEG or PNG"),
    ("notes.png", b"just some text, not an image", "not a PDF, JPEG or PNG"),
    ("map.png", samples.pdf(), "named as another type"),  # a real PDF under an image's name
    ("scan.pdf", samples.jpeg(), "named as another type"),
    ("empty.pdf", b"", "empty"),
])
def test_refused_files_say_why(name, data, says):
    with pytest.raises(UploadError, match=says):
        inspect(name, data, MB)


def test_an_oversized_file_is_refused_with_the_limit():
    with pytest.raises(UploadError, match="the limit is 1 MB"):
        inspect("big.pdf", samples.pdf() + b"\0" * MB, MB)


@pytest.mark.parametrize(("raw", "safe"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\windows\\system32\\宗地图.pdf", "宗地图.pdf"),
    ("/abs/path/map.pdf", "map.pdf"),
    (".hidden.pdf", "hidden.pdf"),
    ("a<b>:c|d?.pdf", "a_b__c_d_.pdf"),
    ("   ", "material.pdf"),
])
def test_names_lose_their_paths_and_reserved_characters(raw, safe):
    assert safe_name(raw, "pdf") == safe


def test_a_very_long_name_is_shortened_and_keeps_its_extension():
    name = safe_name("很" * 300 + ".pdf", "pdf")
    assert len(name) <= 100
    assert name.endswith(".pdf")


def test_attached_material_is_stored_under_its_hash_and_read_back(make_case, users):
    case = make_case()
    data = samples.pdf("site plan")
    [row] = materials.attach(case, {"site_plan": inspect("宗地图.pdf", data, MB)}, users["zhangsan"].id)
    db.session.commit()
    assert row.object_key == f"materials/{case.case_no}/{hashlib.sha256(data).hexdigest()}.pdf"
    assert materials.object_store().get(row.object_key) == data
    assert materials.read(row) == data
    [item, optional] = materials.checklist(case)
    assert (item.code, item.missing, [f.id for f in item.files]) == ("site_plan", False, [row.id])
    assert (optional.code, optional.missing, optional.files) == ("id_copy", False, [])
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert EventKind.MATERIAL_ADDED in kinds
    assert db.session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "material.add")) == {
        "materials": [["site_plan", row.sha256]]}


def test_a_required_material_not_submitted_is_missing(make_case):
    case = make_case()
    [item, _] = materials.checklist(case)
    assert item.missing


def test_a_file_changed_in_the_store_is_not_served(make_case, users):
    case = make_case()
    [row] = materials.attach(case, {"site_plan": inspect("a.pdf", samples.pdf(), MB)}, users["zhangsan"].id)
    db.session.commit()
    materials.object_store().put(row.object_key, samples.pdf("forged"), "application/pdf")
    with pytest.raises(OSError, match="checksum"):
        materials.read(row)


def test_a_material_the_service_does_not_list_is_refused(make_case, users):
    case = make_case()
    with pytest.raises(ValueError, match="not a material"):
        materials.attach(case, {"tax_receipt": inspect("a.pdf", samples.pdf(), MB)}, users["zhangsan"].id)
    db.session.rollback()
    assert db.session.scalar(select(Material.id)) is None
