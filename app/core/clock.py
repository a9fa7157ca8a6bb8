"""The one clock the system reads. Tests and the timer sweeper can move it; nothing else calls datetime.now()."""

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# The bureau's local time: what dates on forms and pages mean (working days, "as of" a date).
LOCAL = ZoneInfo("Asia/Shanghai")

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now_utc() -> datetime:
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests); None restores the system clock."""
    global _source
    _source = source or (lambda: datetime.now(UTC))
