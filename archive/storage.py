"""Object stores behind one small interface: a local directory for development, MinIO (S3 API) in production."""

import io
import os
from pathlib import Path
from typing import Protocol


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    def get(self, key: str) -> bytes: ...
    def ping(self) -> str: ...


class LocalStore:
    """Files under a directory. For development and the embedded default only: no replication, no locking."""

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


class S3Store:
    """MinIO, or any S3-compatible server, through the minio SDK."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool, region: str):
        from minio import Minio

        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)

    def get(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def ping(self) -> str:
        if not self.client.bucket_exists(self.bucket):
            raise OSError(f"bucket {self.bucket} does not exist")
        return f"s3:{self.bucket}"


def store_from_config(config: dict) -> ObjectStore:
    if config["OBJECT_STORE"] == "s3":
        return S3Store(config["S3_ENDPOINT"], config["S3_ACCESS_KEY"], config["S3_SECRET_KEY"], config["S3_BUCKET"],
                       config["S3_SECURE"], config["S3_REGION"])
    return LocalStore(config["OBJECT_STORE_DIR"])
