"""Partner agencies that call the API. Only a hash of each token is stored."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import now_utc
from app.core.types import UTCDateTime
from app.extensions import db


class PartnerClient(db.Model):
    __tablename__ = "partner_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255), default="")  # space-separated, e.g. "messages:send"
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes.split()


class PartnerQuery(db.Model):
    """Every register query a partner makes: who asked, under which document, about what."""

    __tablename__ = "partner_query"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_client.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # unit | party
    subject: Mapped[str] = mapped_column(String(32))  # the unit number or ID number asked about
    document_no: Mapped[str] = mapped_column(String(100))  # 协助查询通知书 or ruling number
    officer: Mapped[str] = mapped_column(String(100))  # the officer named on the request
    results: Mapped[int] = mapped_column(Integer, default=0)
