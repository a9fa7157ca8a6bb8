"""Object stores: the local directory and the S3 protocol (moto's S3 server on loopback, as MinIO in production)."""

import os
import socket

import pytest

from archive.storage import LocalStore, S3Store


def test_local_store_round_trip_and_refuses_escaping_keys(tmp_path):
    store = LocalStore(str(tmp_path / "objects"))
    store.put("cases/1/a.pdf", b"%PDF-1.7 body")
    assert store.get("cases/1/a.pdf") == b"%PDF-1.7 body"
    with pytest.raises(ValueError, match="escapes"):
        store.put("../outside.txt", b"x")
    assert not (tmp_path / "outside.txt").exists()


@pytest.fixture(scope="module")
def s3_endpoint():
    """The CI's S3 server when configured, else a moto server started here on a free loopback port."""
    if os.environ.get("OBJECT_STORE") == "s3":
        yield os.environ["S3_ENDPOINT"], os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"]
        return
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}", "test-access", "test-secret"
    server.stop()


def test_s3_store_round_trip(s3_endpoint):
    endpoint, access, secret = s3_endpoint
    store = S3Store(endpoint, access, secret, "smartland-storage-test", secure=False, region="us-east-1")
    store.ensure_bucket()
    store.put("cases/2/notice.docx", b"PK\x03\x04 word", content_type="application/octet-stream")
    assert store.get("cases/2/notice.docx") == b"PK\x03\x04 word"
    assert store.ping() == "s3:smartland-storage-test"


def test_healthz_reports_each_component(client):
    response = client.get("/healthz")
    body = response.get_json()
    assert set(body["checks"]) == {"database", "object_store", "job_queue"}
    assert body["checks"]["database"]["ok"] is True
    assert response.status_code == (200 if all(c["ok"] for c in body["checks"].values()) else 503)
