"""Fixity audits: the fast path on an unchanged package, and a diagnosis of what changed otherwise."""

import hashlib

import pytest

from archive import fixity
from archive.fixity import FixityOutcome, audit
from archive.package import Problem
from tests.archive.test_package import flip_byte, read_package, retar, sample_package, tiny_pdf


@pytest.fixture(scope="module")
def package():
    return sample_package()


def recorded(package, **changes):
    return {"sha256": package.sha256, "size": package.size, "sha512": package.sha512} | changes


def test_an_unchanged_package_passes_on_digests_alone(package, monkeypatch):
    def must_not_run(data):
        raise AssertionError("the fast path opened the bag")

    monkeypatch.setattr(fixity, "validate_package", must_not_run)
    outcome = audit(package.data, **recorded(package))
    assert outcome == FixityOutcome(ok=True, problems=(), bytes_read=package.size)
    assert audit(package.data, sha256=package.sha256, size=package.size).ok
    assert audit(package.data, **recorded(package, sha256=package.sha256.upper())).ok


def test_a_missing_object(package):
    assert audit(None, **recorded(package)) == FixityOutcome(ok=False, problems=(Problem("object_missing"),),
                                                               bytes_read=0)


def test_a_changed_byte_names_the_file(package):
    path = "data/materials/0001-id-card.pdf"
    damaged = retar(package.data, {path: flip_byte(tiny_pdf())})
    outcome = audit(damaged, **recorded(package))
    assert not outcome.ok
    assert outcome.bytes_read == len(damaged)
    assert outcome.problems[0] == Problem("package_checksum", algorithm="sha256", expected=package.sha256,
                                          actual=hashlib.sha256(damaged).hexdigest())
    assert outcome.problems[1] == Problem("package_checksum", algorithm="sha512", expected=package.sha512,
                                          actual=hashlib.sha512(damaged).hexdigest())
    changed = [p for p in outcome.problems if p.kind == "changed"]
    assert [(p.path, p.algorithm) for p in changed] == [(path, "sha256"), (path, "sha512")]
    assert changed[0].expected == hashlib.sha256(tiny_pdf()).hexdigest()
    assert changed[0].actual == hashlib.sha256(flip_byte(tiny_pdf())).hexdigest()


def test_a_changed_byte_in_place_keeps_the_size(package):
    files = read_package(package.data)
    target = files["data/materials/0001-id-card.pdf"]
    at = package.data.index(target) + 5
    damaged = flip_byte(package.data, at)
    outcome = audit(damaged, **recorded(package))
    assert [p.kind for p in outcome.problems] == ["package_checksum", "package_checksum", "changed", "changed"]
    assert outcome.problems[2].path == "data/materials/0001-id-card.pdf"


def test_a_removed_file(package):
    path = "data/documents/0002-acceptance-notice.docx"  # big enough to change the tar's size
    damaged = retar(package.data, {path: None})
    outcome = audit(damaged, sha256=package.sha256, size=package.size)
    kinds = [p.kind for p in outcome.problems]
    assert kinds == ["size", "package_checksum", "missing", "oxum"]
    assert outcome.problems[0] == Problem("size", expected=str(package.size), actual=str(len(damaged)))
    assert outcome.problems[2].path == path


def test_an_extra_file(package):
    outcome = audit(retar(package.data, add={"data/materials/0099-extra.pdf": b"%PDF-1.7"}), **recorded(package))
    extra = [p for p in outcome.problems if p.kind == "extra"]
    assert [p.path for p in extra] == ["data/materials/0099-extra.pdf"]
    assert not outcome.ok


def test_a_deleted_manifest(package):
    outcome = audit(retar(package.data, {"manifest-sha256.txt": None}), **recorded(package))
    assert Problem("missing_manifest", path="manifest-sha256.txt") in outcome.problems
    assert {p.kind for p in outcome.problems} <= {"size", "package_checksum", "missing_manifest"}


def test_a_wrong_sha512_alone_fails(package):
    outcome = audit(package.data, **recorded(package, sha512="0" * 128))
    assert not outcome.ok
    assert outcome.problems == (Problem("package_checksum", algorithm="sha512", expected="0" * 128,
                                        actual=package.sha512),)


def test_garbage_is_unreadable(package):
    outcome = audit(b"not a tar", **recorded(package))
    assert [p.kind for p in outcome.problems] == ["size", "package_checksum", "package_checksum", "unreadable"]
