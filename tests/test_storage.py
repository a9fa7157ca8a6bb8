"""Object stores: the local directory and the S3 protocol (moto's S3 server on loopback, as MinIO in production)."""

import uuid

import pytest

from archive.storage import LocalStore, S3Store, store_from_config
from tests.archive.conftest import s3_server


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
    with s3_server() as endpoint:
        yield endpoint


def test_s3_store_round_trip(s3_endpoint):
    endpoint, access, secret = s3_endpoint
    store = S3Store(endpoint, access, secret, "smartland-storage-test", secure=False, region="us-east-1")
    store.ensure_bucket()
    store.put("cases/2/notice.docx", b"PK\x03\x04 word", content_type="application/octet-stream")
    assert store.get("cases/2/notice.docx") == b"PK\x03\x04 word"
    assert store.ping() == "s3:smartland-storage-test"


@pytest.mark.parametrize("object_lock", [False, True])
def test_store_from_config_creates_the_bucket_as_configured(s3_endpoint, object_lock):
    endpoint, access, secret = s3_endpoint
    bucket = f"smartland-config-{uuid.uuid4().hex[:12]}"
    store = store_from_config({"OBJECT_STORE": "s3", "S3_ENDPOINT": endpoint, "S3_ACCESS_KEY": access,
                               "S3_SECRET_KEY": secret, "S3_BUCKET": bucket, "S3_SECURE": False,
                               "S3_REGION": "us-east-1", "S3_OBJECT_LOCK": object_lock})
    store.ensure_bucket()
    assert store.supports_lock is object_lock
    assert (store.put_content(b"config").version_id is not None) is object_lock


def test_healthz_reports_each_component(client):
    response = client.get("/healthz")
    body = response.get_json()
    assert set(body["checks"]) == {"database", "object_store", "job_queue"}
    assert body["checks"]["database"]["ok"] is True
    assert response.status_code == (200 if all(c["ok"] for c in body["checks"].values()) else 503)
