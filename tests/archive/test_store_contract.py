"""One contract for every object store the archive can sit on: a local directory, a plain S3 bucket and an S3
bucket with object lock (moto here and in CI, MinIO in production)."""

import base64
import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest

from archive.storage import (
    IntegrityError,
    ListedObject,
    LocalStore,
    LockNotSupported,
    LockState,
    ObjectLocked,
    ObjectMissing,
    StoredObject,
    content_key,
)
from tests.archive.conftest import overwrite_raw


def body(label: str) -> bytes:
    # Distinct per test, so that no two tests could ever meet under one content key.
    return f"%PDF-1.7 {label} {os.urandom(8).hex()}".encode()


def versions(store, key: str) -> list[str | None]:
    return [listed.version_id for listed in store.list_objects(key)]


def count_writes(store, monkeypatch) -> list[str]:
    written, write = [], store._write

    def spy(key, *args):
        written.append(key)
        return write(key, *args)

    monkeypatch.setattr(store, "_write", spy)
    return written


def test_round_trip_under_a_content_key(any_store):
    data = body("round trip")
    sha256 = hashlib.sha256(data).hexdigest()
    stored = any_store.put_content(data, prefix="fonds/7")
    assert stored == StoredObject(any_store.backend, any_store.bucket, f"fonds/7/sha256/{sha256[:2]}/{sha256}",
                                  stored.version_id, len(data), sha256, hashlib.sha512(data).hexdigest())
    assert stored.backend == ("local" if isinstance(any_store, LocalStore) else "s3")
    assert (stored.bucket == "") == (stored.backend == "local")
    # Only a versioned (object-lock) bucket hands out version ids.
    assert (stored.version_id is not None) == any_store.supports_lock
    assert any_store.read(stored.key) == data
    assert any_store.read(stored.key, stored.version_id) == data
    assert any_store.exists(stored.key)
    assert any_store.exists(stored.key, stored.version_id)
    assert any_store.put_content(b"", prefix="fonds/7").size == 0
    assert any_store.put_content(data, prefix="fonds/7/") == stored  # one content key whatever the slash


def test_second_put_of_the_same_bytes_writes_nothing(any_store, monkeypatch):
    data = body("twice")
    first = any_store.put_content(data)
    written = count_writes(any_store, monkeypatch)
    assert any_store.put_content(data) == first
    assert written == []
    assert versions(any_store, first.key) == [first.version_id]


def test_damaged_object_under_its_content_key_is_reported(any_store):
    data = body("damaged later")
    stored = any_store.put_content(data)
    overwrite_raw(any_store, stored.key, data[:-1] + b"!")
    with pytest.raises(IntegrityError, match="do not hash to its key"):
        any_store.put_content(data)
    assert any_store.read(stored.key) == data[:-1] + b"!"  # reported, not silently repaired


def test_damaged_object_found_before_the_first_put_is_reported(any_store, monkeypatch):
    data = body("damaged first")
    key = content_key(hashlib.sha256(data).hexdigest())
    overwrite_raw(any_store, key, b"junk")
    written = count_writes(any_store, monkeypatch)
    with pytest.raises(IntegrityError):
        any_store.put_content(data)
    assert written == []


@pytest.mark.parametrize("damage", [lambda b: b[:-1] + bytes([b[-1] ^ 1]), lambda b: b[:-3]],
                         ids=["same-size", "truncated"])
def test_read_back_mismatch_raises_and_leaves_nothing(any_store, monkeypatch, damage):
    data = body("read back")
    read = any_store.read
    monkeypatch.setattr(any_store, "read", lambda key, version_id=None: damage(read(key, version_id)))
    key = content_key(hashlib.sha256(data).hexdigest())
    with pytest.raises(IntegrityError, match="the upload removed"):
        any_store.put_content(data)
    assert not any_store.exists(key)
    assert list(any_store.list_objects(key)) == []


def test_missing_objects_and_versions(any_store):
    with pytest.raises(ObjectMissing):
        any_store.read("archive/sha256/00/nothing")
    assert not any_store.exists("archive/sha256/00/nothing")
    stored = any_store.put_content(body("versions"))
    other_version = "0b6c8f6e-1d2a-4f6e-9c1d-3a9b5e7f2c41"
    with pytest.raises(ObjectMissing):
        any_store.read(stored.key, other_version)
    assert not any_store.exists(stored.key, other_version)


def test_delete_of_an_unlocked_object(any_store):
    stored = any_store.put_content(body("delete"))
    any_store.delete(stored.key, stored.version_id)
    assert not any_store.exists(stored.key)
    with pytest.raises(ObjectMissing):
        any_store.read(stored.key, stored.version_id)
    assert versions(any_store, stored.key) == []
    any_store.delete(stored.key, stored.version_id)  # already gone: not an error


def test_put_after_delete_writes_again(any_store):
    data = body("again")
    stored = any_store.put_content(data)
    any_store.delete(stored.key, stored.version_id)
    again = any_store.put_content(data)
    assert any_store.read(again.key, again.version_id) == data
    assert versions(any_store, again.key) == [again.version_id]


def test_list_objects_sees_uploads_under_a_string_prefix(any_store):
    before = datetime.now(UTC) - timedelta(seconds=5)
    a = any_store.put_content(body("a"), prefix="t/a")
    ab = any_store.put_content(body("ab-longer"), prefix="t/ab")
    any_store.put_content(body("elsewhere"), prefix="u")
    listed = sorted(any_store.list_objects("t/a"), key=lambda o: o.key)
    assert [(o.key, o.version_id, o.size) for o in listed] == sorted(
        [(a.key, a.version_id, a.size), (ab.key, ab.version_id, ab.size)])
    for item in listed:
        assert isinstance(item, ListedObject)
        assert item.modified.utcoffset() == timedelta(0)
        assert before <= item.modified <= datetime.now(UTC) + timedelta(seconds=5)
    assert [o.key for o in any_store.list_objects("t/a/")] == [a.key]
    assert list(any_store.list_objects("nothing/here")) == []


def test_local_listing_skips_temporary_files(tmp_path):
    store = LocalStore(str(tmp_path))
    stored = store.put_content(b"kept")
    (tmp_path / (stored.key + ".x1y2.part")).write_bytes(b"half")
    assert [o.key for o in store.list_objects("archive/")] == [stored.key]


def test_local_store_refuses_keys_that_escape(tmp_path):
    store = LocalStore(str(tmp_path / "objects"))
    with pytest.raises(ValueError, match="escapes"):
        store.put_content(b"x", prefix="../outside")
    with pytest.raises(ValueError, match="escapes"):
        store.read("/etc/passwd")
    with pytest.raises(ValueError, match="escapes"):
        list(store.list_objects("../"))
    assert not (tmp_path / "outside").exists()


def test_s3_upload_carries_its_sha256(s3_store, monkeypatch):
    data = body("checksum")
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    puts, urlopen = [], s3_store.client._http.urlopen

    def spy(method, url, **kwargs):
        if method == "PUT":
            puts.append({name.lower(): value for name, value in kwargs["headers"].items()})
        return urlopen(method, url, **kwargs)

    monkeypatch.setattr(s3_store.client._http, "urlopen", spy)
    stored = s3_store.put_content(data, content_type="application/pdf")
    s3_store.put("materials/x.pdf", data, "application/pdf")  # the plain writes of materials carry it too
    sent, plain = puts
    assert plain["x-amz-checksum-sha256"] == digest
    assert sent["x-amz-checksum-sha256"] == digest
    signed = sent["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    assert "x-amz-checksum-sha256" in signed
    # moto keeps the value it was sent (it does not check it) and returns it when asked for checksums.
    head = s3_store.client.stat_object(bucket_name=s3_store.bucket, object_name=stored.key,
                                       extra_headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.metadata.get("x-amz-checksum-sha256") == digest
    assert head.content_type == "application/pdf"


def test_large_objects_go_up_in_one_put(s3_store, monkeypatch):
    # A whole-object SHA-256 header is meaningless on a multipart upload, which the SDK starts above 5 MiB.
    data = os.urandom(6 * 1024 * 1024)
    methods, urlopen = [], s3_store.client._http.urlopen

    def spy(method, url, **kwargs):
        methods.append((method, "uploads" in url))
        return urlopen(method, url, **kwargs)

    monkeypatch.setattr(s3_store.client._http, "urlopen", spy)
    stored = s3_store.put_content(data)
    assert [m for m in methods if m[0] in ("PUT", "POST")] == [("PUT", False)]
    assert s3_store.read(stored.key, stored.version_id) == data


def test_delete_refused_for_another_reason_is_not_reported_as_locked(locked_store, monkeypatch):
    from minio.error import S3Error

    stored = locked_store.put_content(body("denied"))

    def refuse(**kwargs):
        raise S3Error(None, "AccessDenied", "Access Denied.", None, None, None)

    monkeypatch.setattr(locked_store.client, "remove_object", refuse)
    with pytest.raises(S3Error) as refused:  # ObjectLocked is no S3Error: this fails if the denial were mistaken
        locked_store.delete(stored.key, stored.version_id)
    assert refused.value.code == "AccessDenied"


def test_stores_without_lock_refuse_retention_and_hold(lockless_store):
    stored = lockless_store.put_content(body("no lock"))
    assert lockless_store.supports_lock is False
    with pytest.raises(LockNotSupported):
        lockless_store.set_retention(stored.key, stored.version_id, datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(LockNotSupported):
        lockless_store.set_legal_hold(stored.key, stored.version_id, True)
    assert lockless_store.lock_state(stored.key, stored.version_id) == LockState(None, None, False)
    lockless_store.delete(stored.key, stored.version_id)
    assert not lockless_store.exists(stored.key)


def test_ensure_bucket_will_not_pass_off_a_plain_bucket_as_locked(s3_store):
    if s3_store.supports_lock:
        s3_store.ensure_bucket(object_lock=True)  # already locked: nothing to do
    else:
        with pytest.raises(LockNotSupported):
            s3_store.ensure_bucket(object_lock=True)
    s3_store.ensure_bucket(object_lock=False)


def test_compliance_retention_refuses_delete(locked_store):
    data = body("retained")
    stored = locked_store.put_content(data)
    assert locked_store.supports_lock is True
    assert locked_store.lock_state(stored.key, stored.version_id) == LockState(None, None, False)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    locked_store.set_retention(stored.key, stored.version_id, until)
    assert locked_store.lock_state(stored.key, stored.version_id) == LockState("COMPLIANCE", until, False)
    with pytest.raises(ObjectLocked):
        locked_store.delete(stored.key, stored.version_id)
    assert locked_store.read(stored.key, stored.version_id) == data
    assert versions(locked_store, stored.key) == [stored.version_id]


def test_retention_needs_an_aware_time(locked_store):
    stored = locked_store.put_content(body("naive"))
    with pytest.raises(ValueError, match="timezone"):
        locked_store.set_retention(stored.key, stored.version_id, datetime(2099, 1, 1))


def test_legal_hold_refuses_delete_until_released(locked_store):
    data = body("held")
    stored = locked_store.put_content(data)
    locked_store.set_legal_hold(stored.key, stored.version_id, True)
    assert locked_store.lock_state(stored.key, stored.version_id) == LockState(None, None, True)
    with pytest.raises(ObjectLocked):
        locked_store.delete(stored.key, stored.version_id)
    assert locked_store.read(stored.key, stored.version_id) == data
    locked_store.set_legal_hold(stored.key, stored.version_id, False)
    assert locked_store.lock_state(stored.key, stored.version_id) == LockState(None, None, False)
    locked_store.delete(stored.key, stored.version_id)
    assert not locked_store.exists(stored.key, stored.version_id)


def test_overwrite_makes_a_new_version_and_keeps_the_original(locked_store):
    data = body("original")
    stored = locked_store.put_content(data)
    new_version = overwrite_raw(locked_store, stored.key, b"replacement")
    assert new_version not in (None, stored.version_id)
    assert locked_store.read(stored.key) == b"replacement"
    assert locked_store.read(stored.key, stored.version_id) == data
    assert sorted(versions(locked_store, stored.key)) == sorted([stored.version_id, new_version])


def test_delete_without_version_only_hides_the_object(locked_store):
    data = body("marker")
    stored = locked_store.put_content(data)
    locked_store.delete(stored.key)
    assert not locked_store.exists(stored.key)
    with pytest.raises(ObjectMissing):
        locked_store.read(stored.key)
    assert locked_store.read(stored.key, stored.version_id) == data
    assert versions(locked_store, stored.key) == [stored.version_id]  # the delete marker is not listed
