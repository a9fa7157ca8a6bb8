"""Object stores behind one small interface: a local directory for development, MinIO (S3 API) in production.

`put`/`get` carry case materials. The electronic archive uses the content-addressed, write-once side:
`put_content` stores bytes under their SHA-256 and reads every upload back before trusting it; retention
and legal hold are S3 object lock (WORM), available only on buckets created with it.

Deleting something that is not there is not an error on either store (S3 answers 204 for absent keys and
versions, so the local store does the same). On a versioned bucket, `delete(key)` without a version only
adds a delete marker: `read(key)` then raises ObjectMissing while every version stays readable by its id."""

import base64
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from stat import S_ISREG
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    backend: str  # "local" or "s3"
    bucket: str  # "" for local
    key: str
    version_id: str | None  # None unless the bucket is versioned
    size: int
    sha256: str
    sha512: str


@dataclass(frozen=True)
class LockState:
    mode: str | None  # "COMPLIANCE", "GOVERNANCE" or None
    retain_until: datetime | None  # UTC
    legal_hold: bool


@dataclass(frozen=True)
class ListedObject:
    key: str
    version_id: str | None
    size: int
    modified: datetime  # UTC


class ObjectMissing(LookupError):
    """No object under that key, or no such version of it."""


class IntegrityError(OSError):
    """What was read back is not what was sent, or an object under a content key does not hash to its key."""


class ObjectLocked(PermissionError):
    """The store refused a delete because of retention or legal hold."""


class LockNotSupported(OSError):
    """Retention or legal hold asked of a store or bucket without object lock."""


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def get(self, key: str) -> bytes: ...
    def ping(self) -> str: ...


class ArchiveStore(ObjectStore, Protocol):
    backend: str
    bucket: str

    @property
    def supports_lock(self) -> bool: ...
    def put_content(self, data: bytes, *, prefix: str = "archive",
                    content_type: str = "application/octet-stream") -> StoredObject: ...
    def read(self, key: str, version_id: str | None = None) -> bytes: ...
    def exists(self, key: str, version_id: str | None = None) -> bool: ...
    def delete(self, key: str, version_id: str | None = None) -> None: ...
    def list_objects(self, prefix: str) -> Iterator[ListedObject]: ...
    def set_retention(self, key: str, version_id: str | None, until: datetime) -> None: ...
    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None: ...
    def lock_state(self, key: str, version_id: str | None) -> LockState: ...


def content_key(sha256: str, prefix: str = "archive") -> str:
    return f"{prefix.rstrip('/')}/sha256/{sha256[:2]}/{sha256}"


class _ContentAddressed:
    """put_content on top of the store's own _fetch, _write, read and delete."""

    backend: str
    bucket: str

    def put_content(self, data: bytes, *, prefix: str = "archive",
                    content_type: str = "application/octet-stream") -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        key = content_key(digest, prefix)
        try:
            existing, version_id = self._fetch(key, None)
        except ObjectMissing:
            pass
        else:
            # Write-once: the same bytes are already there, and a second copy would only hide damage to the first.
            if hashlib.sha256(existing).hexdigest() != digest:
                raise IntegrityError(f"{key} holds {len(existing)} bytes that do not hash to its key")
            return self._stored(key, version_id, existing)

        version_id = self._write(key, data, content_type, digest)
        try:
            back = self.read(key, version_id)
        except ObjectMissing:
            back = None
        if back is None or len(back) != len(data) or hashlib.sha256(back).hexdigest() != digest:
            try:
                self.delete(key, version_id)
                outcome = "removed"
            except Exception as exc:  # the integrity failure is what to report, not why cleanup failed
                outcome = f"could not be removed ({exc!r})"
            got = "nothing" if back is None else f"{len(back)} bytes"
            raise IntegrityError(f"{key}: sent {len(data)} bytes, read back {got} that differ; the upload {outcome}")
        return self._stored(key, version_id, data)

    def _stored(self, key: str, version_id: str | None, data: bytes) -> StoredObject:
        return StoredObject(self.backend, self.bucket, key, version_id, len(data),
                            hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest())

    def read(self, key: str, version_id: str | None = None) -> bytes:
        return self._fetch(key, version_id)[0]


class LocalStore(_ContentAddressed):
    """Files under a directory. For development and the embedded default only: no replication, no locking."""

    backend = "local"
    bucket = ""

    def __init__(self, root: str):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        # Checked on the key's text (no filesystem walk): relative, and no part that climbs out.
        parts = Path(key).parts
        if not parts or Path(key).is_absolute() or any(part in ("..", ".") for part in parts):
            raise ValueError(f"object key escapes the store: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see half a file

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def ping(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK):
            raise OSError(f"{self.root} is not writable")
        return f"local:{self.root}"

    def _fetch(self, key: str, version_id: str | None) -> tuple[bytes, None]:
        path = self._path(key)
        if version_id is not None:  # files have no versions
            raise ObjectMissing(f"{key} version {version_id}")
        try:
            return path.read_bytes(), None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None

    def _write(self, key: str, data: bytes, content_type: str, sha256: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own, so that two writers of the same content never share a temporary file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())  # an archived object must survive a crash right after we report it stored
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def exists(self, key: str, version_id: str | None = None) -> bool:
        return version_id is None and self._path(key).is_file()

    def delete(self, key: str, version_id: str | None = None) -> None:
        path = self._path(key)
        if version_id is None:
            path.unlink(missing_ok=True)

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        # A string prefix as on S3 ("a/b" also finds "a/bc/x"): walk the deepest directory it names, then filter.
        head = prefix.rpartition("/")[0]
        base = self._path(head) if head else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.name.endswith(".part") or not key.startswith(prefix):
                continue
            try:
                info = path.stat()
            except FileNotFoundError:  # deleted while we walked
                continue
            if S_ISREG(info.st_mode):
                yield ListedObject(key, None, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    @property
    def supports_lock(self) -> bool:
        return False

    def set_retention(self, key: str, version_id: str | None, until: datetime) -> None:
        raise LockNotSupported("the local store has no object lock")

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        raise LockNotSupported("the local store has no object lock")

    def lock_state(self, key: str, version_id: str | None) -> LockState:
        return LockState(None, None, False)


_MISSING_CODES = {"NoSuchKey", "NoSuchVersion"}
# A version id the bucket never issued (any id, on an unversioned bucket) is a 400 "Invalid version id specified";
# to a HEAD, which has no body to name the error, the SDK gives the code BadRequest.
_BAD_VERSION_CODES = {"InvalidArgument", "BadRequest"}


@contextmanager
def _s3_missing(key: str, version_id: str | None):
    from minio.error import S3Error

    try:
        yield
    except S3Error as exc:
        if exc.code in _MISSING_CODES or (version_id is not None and exc.code in _BAD_VERSION_CODES):
            raise ObjectMissing(key if version_id is None else f"{key} version {version_id}") from exc
        raise


def _version(value: str | None) -> str | None:
    # Unversioned buckets answer with the literal version "null".
    return None if value in (None, "", "null") else value


class S3Store(_ContentAddressed):
    """MinIO, or any S3-compatible server, through the minio SDK."""

    backend = "s3"

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool, region: str,
                 object_lock: bool = False):
        from minio import Minio

        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket
        self.object_lock = object_lock

    def ensure_bucket(self, object_lock: bool | None = None) -> None:
        """Create the bucket if missing; with object lock (hence versioning) when asked, else as configured."""
        lock = self.object_lock if object_lock is None else object_lock
        if not self.client.bucket_exists(bucket_name=self.bucket):
            self.client.make_bucket(bucket_name=self.bucket, object_lock=lock)
            self.__dict__.pop("supports_lock", None)
        elif lock and not self.supports_lock:
            # S3 cannot add object lock to a bucket after the fact here; carrying on would archive without WORM.
            raise LockNotSupported(f"bucket {self.bucket} exists without object lock")

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        # Every upload carries its SHA-256 for the server to check, not only the archive's.
        self._write(key, data, content_type, hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes:
        response = self.client.get_object(bucket_name=self.bucket, object_name=key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def ping(self) -> str:
        if not self.client.bucket_exists(bucket_name=self.bucket):
            raise OSError(f"bucket {self.bucket} does not exist")
        return f"s3:{self.bucket}"

    def _fetch(self, key: str, version_id: str | None) -> tuple[bytes, str | None]:
        with _s3_missing(key, version_id):
            response = self.client.get_object(bucket_name=self.bucket, object_name=key, version_id=version_id)
        try:
            return response.read(), _version(response.headers.get("x-amz-version-id"))
        finally:
            response.close()
            response.release_conn()

    def _write(self, key: str, data: bytes, content_type: str, sha256: str) -> str | None:
        from minio.helpers import MIN_PART_SIZE

        # minio 7.2.20's put_object has neither a checksum nor a headers parameter, but passes "x-amz-*" metadata
        # keys through as request headers (signed like the rest). The server then checks the body against the
        # digest, and buckets with object lock accept the upload. AWS SDKs name the algorithm alongside it; moto
        # only records the checksum when they do.
        checksum = {"x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(sha256)).decode(),
                    "x-amz-sdk-checksum-algorithm": "SHA256"}
        result = self.client.put_object(
            bucket_name=self.bucket, object_name=key, data=io.BytesIO(data), length=len(data),
            content_type=content_type, metadata=checksum,
            # One PUT: a whole-object checksum means nothing on a multipart upload (at most 5 GiB, then).
            part_size=max(len(data), MIN_PART_SIZE))
        return _version(result.version_id)

    def exists(self, key: str, version_id: str | None = None) -> bool:
        try:
            with _s3_missing(key, version_id):
                self.client.stat_object(bucket_name=self.bucket, object_name=key, version_id=version_id)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str, version_id: str | None = None) -> None:
        from minio.error import S3Error

        try:
            self.client.remove_object(bucket_name=self.bucket, object_name=key, version_id=version_id)
        except S3Error as exc:
            # Servers word a lock refusal differently (AWS, MinIO and moto all say AccessDenied), so ask the
            # object itself. Without a version S3 only adds a delete marker, which no lock prevents.
            if exc.code == "AccessDenied" and version_id is not None and self.supports_lock:
                state = self.lock_state(key, version_id)
                if state.legal_hold or (state.retain_until is not None and state.retain_until > datetime.now(UTC)):
                    raise ObjectLocked(f"{key} version {version_id} is under retention or legal hold") from exc
            raise

    def list_objects(self, prefix: str) -> Iterator[ListedObject]:
        for obj in self.client.list_objects(bucket_name=self.bucket, prefix=prefix, recursive=True,
                                            include_version=True):
            if not obj.is_delete_marker:
                yield ListedObject(obj.object_name, _version(obj.version_id), obj.size, obj.last_modified)

    @cached_property
    def supports_lock(self) -> bool:
        from minio.error import S3Error

        try:
            self.client.get_object_lock_config(bucket_name=self.bucket)
        except S3Error as exc:
            if exc.code == "ObjectLockConfigurationNotFoundError":
                return False
            raise
        return True

    def _require_lock(self) -> None:
        if not self.supports_lock:
            raise LockNotSupported(f"bucket {self.bucket} has no object lock")

    def set_retention(self, key: str, version_id: str | None, until: datetime) -> None:
        from minio.commonconfig import COMPLIANCE
        from minio.retention import Retention

        if until.tzinfo is None:
            raise ValueError("retention must end at a timezone-aware time")
        self._require_lock()
        with _s3_missing(key, version_id):
            self.client.set_object_retention(bucket_name=self.bucket, object_name=key, version_id=version_id,
                                             config=Retention(COMPLIANCE, until.astimezone(UTC)))

    def set_legal_hold(self, key: str, version_id: str | None, on: bool) -> None:
        self._require_lock()
        change = self.client.enable_object_legal_hold if on else self.client.disable_object_legal_hold
        with _s3_missing(key, version_id):
            change(bucket_name=self.bucket, object_name=key, version_id=version_id)

    def lock_state(self, key: str, version_id: str | None) -> LockState:
        from minio.time import from_iso8601utc

        if not self.supports_lock:
            return LockState(None, None, False)
        # Read from HEAD rather than GetObjectRetention/GetObjectLegalHold: one request, and moto 5.2.5 does not
        # implement GET ?retention (it answers with the object's body).
        with _s3_missing(key, version_id):
            headers = self.client.stat_object(bucket_name=self.bucket, object_name=key, version_id=version_id).metadata
        until = headers.get("x-amz-object-lock-retain-until-date")
        return LockState(headers.get("x-amz-object-lock-mode") or None, from_iso8601utc(until) if until else None,
                         headers.get("x-amz-object-lock-legal-hold") == "ON")


def store_from_config(config: dict) -> ObjectStore:
    if config["OBJECT_STORE"] == "s3":
        return S3Store(config["S3_ENDPOINT"], config["S3_ACCESS_KEY"], config["S3_SECRET_KEY"], config["S3_BUCKET"],
                       config["S3_SECURE"], config["S3_REGION"], object_lock=config.get("S3_OBJECT_LOCK", False))
    return LocalStore(config["OBJECT_STORE_DIR"])
