"""Configuration classes. Every setting can be overridden by an environment variable of the same name."""

import os
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


def _env(name: str, default):
    """Read NAME from the environment, coerced to the type of its default."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


class Config:
    SECRET_KEY = _env("SECRET_KEY", "")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'smartland.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict] = {"pool_pre_ping": True}
    # Object store: "local" (a directory, development only) or "s3" (MinIO / any S3 server).
    OBJECT_STORE = _env("OBJECT_STORE", "local")
    OBJECT_STORE_DIR = _env("OBJECT_STORE_DIR", str(INSTANCE_DIR / "objects"))
    S3_ENDPOINT = _env("S3_ENDPOINT", "127.0.0.1:9000")
    S3_ACCESS_KEY = _env("S3_ACCESS_KEY", "")
    S3_SECRET_KEY = _env("S3_SECRET_KEY", "")
    S3_BUCKET = _env("S3_BUCKET", "smartland")
    S3_SECURE = _env("S3_SECURE", False)
    S3_REGION = _env("S3_REGION", "us-east-1")
    # Create the bucket with object lock (WORM; MinIO can only enable it at creation) so archived
    # packages carry compliance-mode retention and legal holds.
    S3_OBJECT_LOCK = _env("S3_OBJECT_LOCK", False)
    # Background jobs: without a broker they run in-process (embedded column of DESIGN.md).
    CELERY_BROKER_URL = _env("CELERY_BROKER_URL", "")
    TIMER_SWEEP_SECONDS = _env("TIMER_SWEEP_SECONDS", 30)
    IN_PROCESS_SWEEPER = _env("IN_PROCESS_SWEEPER", False)
    # Uploads: each material file at most this size; a whole request (several files) at most MAX_CONTENT_LENGTH.
    MAX_MATERIAL_BYTES = _env("MAX_MATERIAL_BYTES", 10 * 2**20)
    MAX_CONTENT_LENGTH = _env("MAX_CONTENT_LENGTH", 40 * 2**20)
    # Other agencies' inboxes for outbox messages: the tax bureau's receiving endpoint and our token there.
    OUTBOX_DESTINATIONS: ClassVar[dict] = {"tax": {"url": _env("TAX_ENDPOINT", ""), "token": _env("TAX_TOKEN", "")}}
    OUTBOX_SECONDS = _env("OUTBOX_SECONDS", 15)
    OUTBOX_TIMEOUT_SECONDS = _env("OUTBOX_TIMEOUT_SECONDS", 10)
    # Certificates (电子证照): the font they are set in (extracted by `make setup`), the bureau's signing
    # key (PKCS#12; production must set it), earlier signing certificates still trusted (PEM), the public
    # address their QR codes point to, and the national codes in their identifiers.
    CERTIFICATE_FONT = _env("CERTIFICATE_FONT", str(INSTANCE_DIR / "fonts" / "NotoSerifCJKsc-Regular.otf"))
    SIGNING_P12 = _env("SIGNING_P12", "")
    SIGNING_P12_PASSWORD = _env("SIGNING_P12_PASSWORD", "")
    SIGNING_TRUSTED_PEM = _env("SIGNING_TRUSTED_PEM", "")
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    PROVINCE_ABBREVIATION = _env("PROVINCE_ABBREVIATION", "吉")
    # 证照类型代码 (type owner's code + serial) from the national e-certificate catalogue; the defaults are
    # placeholders of the right shape until the province's catalogue values are configured.
    ECERT_TYPE_CODES: ClassVar[dict] = {"title": _env("ECERT_TYPE_TITLE", "11100000000013338W001"),
                                        "proof": _env("ECERT_TYPE_PROOF", "11100000000013338W002")}
    # thread: a renderer thread in the web process; celery: a Celery task; manual: only when called (tests).
    CERTIFICATE_RENDERING = _env("CERTIFICATE_RENDERING", "celery" if _env("CELERY_BROKER_URL", "") else "thread")
    CERTIFICATE_POLL_SECONDS = _env("CERTIFICATE_POLL_SECONDS", 30)
    VERIFY_RATE_LIMIT = _env("VERIFY_RATE_LIMIT", "20 per minute")
    # The electronic archive (数字档案室): the fonds (全宗号) and category (门类) of its 档号, the
    # organisation/problem code per business family, and retention (保管期限) by rules: the first rule
    # whose given keys (family, service, outcome) all match wins. Registration files and the register
    # are permanent, and so are enforcement case files.
    ARCHIVE_FONDS = _env("ARCHIVE_FONDS", "Z109")
    ARCHIVE_CATEGORY = _env("ARCHIVE_CATEGORY", "WS")
    ARCHIVE_ORG_CODES: ClassVar[dict] = {"registration": "BDC", "enforcement": "ZF", "market": "TDSC",
                                         "common": "ZH"}
    ARCHIVE_RETENTION_RULES: ClassVar[list] = [
        {"family": "registration", "retention": "Y"},
        {"family": "enforcement", "retention": "Y"},
        {"family": "market", "outcome": "withdrawn", "retention": "D10"},
        {"family": "market", "retention": "D30"},
        {"retention": "D30"},
    ]
    # Object-lock retention of a permanent (Y) package: S3 needs a date, renewed before it ends.
    ARCHIVE_PERMANENT_LOCK_YEARS = _env("ARCHIVE_PERMANENT_LOCK_YEARS", 100)
    # Filing runs like certificate rendering: thread, celery, or manual (tests).
    ARCHIVE_FILING = _env("ARCHIVE_FILING", "celery" if _env("CELERY_BROKER_URL", "") else "thread")
    # Scheduled fixity audit (Celery beat), and how old an unreferenced upload must be before the sweep removes it.
    ARCHIVE_AUDIT_HOURS = _env("ARCHIVE_AUDIT_HOURS", 24)
    ARCHIVE_ORPHAN_GRACE_HOURS = _env("ARCHIVE_ORPHAN_GRACE_HOURS", 24)
    # A virus scanner reading a file on standard input, exit 0 clean, 1 infected (e.g. "clamdscan --no-summary -").
    ARCHIVE_VIRUS_SCANNER = _env("ARCHIVE_VIRUS_SCANNER", "")
    # How long an approved access request to a record's files lasts.
    ARCHIVE_ACCESS_DAYS = _env("ARCHIVE_ACCESS_DAYS", 7)
    PROCESSES_DIR = _env("PROCESSES_DIR", str(BASE_DIR / "processes"))
    # Sessions expire after inactivity; cookies are HTTP-only and same-site.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=_env("SESSION_MINUTES", 30))
    SESSION_REFRESH_EACH_REQUEST = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_DURATION = timedelta(0)
    WTF_CSRF_TIME_LIMIT = 3600
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_Hans_CN", "en")
    # Deadline colours: a task turns amber when this many working days or fewer remain.
    DUE_SOON_WORKING_DAYS = _env("DUE_SOON_WORKING_DAYS", 2)
    QUEUE_PAGE_SIZE = _env("QUEUE_PAGE_SIZE", 25)


class DevelopmentConfig(Config):
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    # Created by `make run` (flask certificates dev-key) when no key is configured.
    SIGNING_P12 = _env("SIGNING_P12", str(INSTANCE_DIR / "signing" / "development.p12"))
    SIGNING_P12_PASSWORD = _env("SIGNING_P12_PASSWORD", "development")
    IN_PROCESS_SWEEPER = _env("IN_PROCESS_SWEEPER", True)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-only"  # noqa: S105  (tests only)
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", False)
    CERTIFICATE_RENDERING = "manual"
    ARCHIVE_FILING = "manual"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", True)


CONFIGS = {"development": DevelopmentConfig, "test": TestConfig, "production": ProductionConfig}
