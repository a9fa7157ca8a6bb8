"""Stores for the archive tests: a local directory, and S3 buckets with and without object lock, on the CI's S3
server when OBJECT_STORE=s3, else on a moto server started here once per session."""

import io
import os
import socket
import uuid
from contextlib import contextmanager

import pytest

from archive.storage import LocalStore, S3Store


@contextmanager
def s3_server():
    """(endpoint, access key, secret key) of the configured S3 server, or of a moto server on a free loopback port."""
    if os.environ.get("OBJECT_STORE") == "s3":
        yield os.environ["S3_ENDPOINT"], os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]
        return
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}", "test-access", "test-secret"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint():
    with s3_server() as endpoint:
        yield endpoint


def make_s3_store(endpoint, *, object_lock: bool) -> S3Store:
    """A store on a bucket of its own: the CI server outlives single tests, and content keys repeat between them."""
    host, access, secret = endpoint
    bucket = f"archive-{'locked' if object_lock else 'plain'}-{uuid.uuid4().hex[:20]}"
    secure = os.environ.get("S3_SECURE", "false").strip().lower() in ("1", "true", "yes", "on")
    store = S3Store(host, access, secret, bucket, secure=secure, region=os.environ.get("S3_REGION", "us-east-1"),
                    object_lock=object_lock)
    store.ensure_bucket()
    return store


def _store(kind: str, request, tmp_path):
    if kind == "local":
        return LocalStore(str(tmp_path / "objects"))
    # Looked up only here, so that a run of the local cases alone starts no S3 server.
    return make_s3_store(request.getfixturevalue("s3_endpoint"), object_lock=kind == "s3-locked")


@pytest.fixture(params=["local", "s3", "s3-locked"])
def any_store(request, tmp_path):
    return _store(request.param, request, tmp_path)


@pytest.fixture(params=["local", "s3"])
def lockless_store(request, tmp_path):
    return _store(request.param, request, tmp_path)


@pytest.fixture(params=["s3", "s3-locked"])
def s3_store(request, tmp_path):
    return _store(request.param, request, tmp_path)


@pytest.fixture
def locked_store(request, tmp_path):
    return _store("s3-locked", request, tmp_path)


def overwrite_raw(store, key: str, data: bytes) -> str | None:
    """Replace an object's bytes behind put_content's back, as damage or tampering would; returns the new version
    id (None on unversioned stores)."""
    if isinstance(store, LocalStore):
        path = store._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return None
    result = store.client.put_object(bucket_name=store.bucket, object_name=key, data=io.BytesIO(data),
                                     length=len(data))
    return None if result.version_id in (None, "null") else result.version_id
