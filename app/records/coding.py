"""Archival reference codes (档号) for filed cases: series from configuration, item numbers without gaps."""

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.cases.models import Case
from app.core.clock import LOCAL
from app.extensions import db
from app.records.models import ArchiveSequence
from archive.codes import RETENTION, ArchivalCode


def retention_of(case: Case) -> str:
    """The retention period (保管期限) of CASE's file: the first configured rule that matches."""
    facts = {"family": case.service.family.value, "service": case.service_code, "outcome": case.outcome}
    for rule in current_app.config["ARCHIVE_RETENTION_RULES"]:
        if all(facts.get(key) == value for key, value in rule.items() if key != "retention"):
            if rule["retention"] not in RETENTION:
                raise ValueError(f"ARCHIVE_RETENTION_RULES names an unknown retention code {rule['retention']!r}")
            return rule["retention"]
    raise ValueError("ARCHIVE_RETENTION_RULES has no rule for this case; end the list with a catch-all rule")


def series_of(case: Case) -> tuple[str, str, int, str, str]:
    """(fonds, category, year, retention, organisation) of the series the case is filed in. The year
    is the year the case closed (the files' year of formation), in the bureau's time zone."""
    config = current_app.config
    return (config["ARCHIVE_FONDS"], config["ARCHIVE_CATEGORY"], case.closed_at.astimezone(LOCAL).year,
            retention_of(case), config["ARCHIVE_ORG_CODES"][case.service.family.value])


def next_code(case: Case) -> ArchivalCode:
    """Take the next item number of the case's series. The counter row stays locked until the
    caller's transaction ends: fillers queue behind it and a rollback gives the number back."""
    fonds, category, year, retention, org = series_of(case)
    table = ArchiveSequence.__table__
    bump = (update(table)
            .where(table.c.fonds == fonds, table.c.category == category, table.c.year == year,
                   table.c.retention == retention, table.c.org == org)
            .values(last=table.c.last + 1).returning(table.c.last))
    item = db.session.execute(bump).scalar()
    if item is None:
        try:
            with db.session.begin_nested():  # the series' first item: whoever inserts second retries the update
                db.session.add(ArchiveSequence(fonds=fonds, category=category, year=year, retention=retention,
                                               org=org, last=1))
            item = 1
        except IntegrityError:
            item = db.session.execute(bump).scalar_one()
    return ArchivalCode(fonds, category, year, retention, org, item)
