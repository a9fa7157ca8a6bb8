"""The "at most one visit" (最多跑一次) figures, per service, per office, per county and in total.

Which cases count: those that came to a decision (status completed, whatever the outcome: registered,
not accepted, refused) in the period, by the day they closed or, if asked, the day they were submitted.
Withdrawn cases are left out: they never came to a decision, and the 实现率 the province measures is over
finished cases. Every figure is restricted to the offices whose cases the user may see.

- a physical visit is a logged visit through the window channel (online and postal steps are no trip);
- on time: closed no later than the committed deadline, which has already moved by any paused days;
  cases without a deadline are left out of that rate;
- working days taken: working days (holidays and make-up days known) from submission to closing, less
  the days the clock stood still (`paused_days`: waiting on the applicant, or suspended by a supervisor);
- second corrections: correction requests naming a material the first one-time notice (一次性告知) did not.

The backlog is every open case now, whatever the period; it is overdue when its deadline passed while
its clock was running (a suspended case, or one waiting on the applicant, stopped its clock when that began).
"""

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select

from app.cases.models import Case, CaseStatus, Channel, Correction, Service, Visit
from app.core.clock import LOCAL, now_utc
from app.core.deadlines import current_calendar
from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier, User
from app.orgs.permissions import scope_unit_ids

DEFAULT_DAYS = 90


class Basis(enum.StrEnum):
    """Which date of a closed case must fall in the period."""

    CLOSED = "closed"
    SUBMITTED = "submitted"


@dataclass(frozen=True)
class Period:
    first: date  # local dates, both included
    last: date
    basis: Basis = Basis.CLOSED

    @classmethod
    def default(cls, now: datetime, basis: Basis = Basis.CLOSED) -> "Period":
        """The last DEFAULT_DAYS days up to and including today."""
        today = now.astimezone(LOCAL).date()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today, basis)

    def bounds(self) -> tuple[datetime, datetime]:
        """The first and last instants of the period, for comparing with stored (UTC) times."""
        return datetime.combine(self.first, time.min, LOCAL), datetime.combine(self.last, time.max, LOCAL)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Row:
    """The figures of one group of cases: a service, an office, a county, or all of them (neither set)."""

    service: Service | None = None
    unit: OrgUnit | None = None
    closed: int = 0
    at_most_one_visit: int = 0
    zero_visits: int = 0
    applied_online: int = 0
    with_deadline: int = 0
    on_time: int = 0
    working_days: int = 0  # summed over the closed cases
    second_corrections: int = 0
    backlog: int = 0
    overdue: int = 0

    @property
    def at_most_one_visit_share(self) -> float | None:
        return _share(self.at_most_one_visit, self.closed)

    @property
    def zero_visits_share(self) -> float | None:
        return _share(self.zero_visits, self.closed)

    @property
    def online_share(self) -> float | None:
        return _share(self.applied_online, self.closed)

    @property
    def on_time_rate(self) -> float | None:
        return _share(self.on_time, self.with_deadline)

    @property
    def average_working_days(self) -> float | None:
        return self.working_days / self.closed if self.closed else None

    def add_closed(self, *, trips: int, online: bool, on_time: bool | None, working_days: int,
                   second_corrections: int) -> None:
        self.closed += 1
        self.at_most_one_visit += trips <= 1
        self.zero_visits += trips == 0
        self.applied_online += online
        if on_time is not None:
            self.with_deadline += 1
            self.on_time += on_time
        self.working_days += working_days
        self.second_corrections += second_corrections

    def add_open(self, count: int, overdue: int) -> None:
        self.backlog += count
        self.overdue += overdue


@dataclass
class Report:
    period: Period
    service_code: str | None
    by_service: list[Row]
    by_office: list[Row]  # by unit code, so an office follows its county
    by_county: list[Row]
    total: Row


@dataclass
class _Groups:
    """The rows a case adds to: its service's, its office's, its county's and the total."""

    services: dict[str, Row] = field(default_factory=dict)
    offices: dict[int, Row] = field(default_factory=dict)
    counties: dict[int, Row] = field(default_factory=dict)
    total: Row = field(default_factory=Row)

    def rows_of(self, service_code: str, office_id: int) -> tuple[Row, ...]:
        # A case filed with the city itself has no county: unit_at_tier answers the city, its own roll-up.
        county_id = tree.unit_at_tier(office_id, Tier.COUNTY)
        return (self.services.setdefault(service_code, Row()), self.offices.setdefault(office_id, Row()),
                self.counties.setdefault(county_id, Row()), self.total)

    def report(self, period: Period, service_code: str | None) -> Report:
        services = {s.code: s for s in db.session.scalars(select(Service).where(Service.code.in_(self.services)))}
        units = {u.id: u for u in db.session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_(self.offices.keys() | self.counties.keys())))}
        for code, row in self.services.items():
            row.service = services[code]
        for unit_id, row in (*self.offices.items(), *self.counties.items()):
            row.unit = units[unit_id]
        return Report(
            period=period, service_code=service_code,
            by_service=sorted(self.services.values(), key=lambda r: r.service.code),
            by_office=sorted(self.offices.values(), key=lambda r: r.unit.code),
            by_county=sorted(self.counties.values(), key=lambda r: r.unit.code),
            total=self.total,
        )


def report(user: User, period: Period, service_code: str | None = None, now: datetime | None = None) -> Report:
    now = now or now_utc()
    scope = scope_unit_ids(user)
    calendar = current_calendar()
    groups = _Groups()
    for c in db.session.execute(_closed_cases(scope, period, service_code)):
        taken = calendar.working_days_between(c.submitted_at, c.closed_at) - c.paused_days
        for row in groups.rows_of(c.service_code, c.jurisdiction_id):
            row.add_closed(trips=c.trips, online=c.channel == Channel.ONLINE,
                           on_time=None if c.due_at is None else c.closed_at <= c.due_at,
                           working_days=max(taken, 0), second_corrections=c.second_corrections)
    for cell in db.session.execute(_backlog(scope, service_code, now)):
        for row in groups.rows_of(cell.service_code, cell.jurisdiction_id):
            row.add_open(cell.open, cell.overdue)
    return groups.report(period, service_code)


def _closed_cases(scope: set[int], period: Period, service_code: str | None):
    """One row per closed case, with its window visits and second corrections counted by grouped subqueries."""
    first, last = period.bounds()
    when = Case.closed_at if period.basis == Basis.CLOSED else Case.submitted_at
    conditions = [Case.status == CaseStatus.COMPLETED, Case.closed_at.is_not(None), when >= first, when <= last,
                  Case.jurisdiction_id.in_(scope)]
    if service_code:
        conditions.append(Case.service_code == service_code)
    # Counting only the chosen cases' rows keeps the subqueries as small as the report.
    chosen = select(Case.id).where(*conditions)
    trips = (select(Visit.case_id, func.count().label("n")).where(Visit.channel == Channel.WINDOW,
                                                                  Visit.case_id.in_(chosen))
             .group_by(Visit.case_id).subquery())
    seconds = (select(Correction.case_id, func.count().label("n")).where(Correction.second.is_(True),
                                                                         Correction.case_id.in_(chosen))
               .group_by(Correction.case_id).subquery())
    return (select(Case.service_code, Case.jurisdiction_id, Case.channel, Case.submitted_at, Case.closed_at,
                   Case.due_at, Case.paused_days, func.coalesce(trips.c.n, 0).label("trips"),
                   func.coalesce(seconds.c.n, 0).label("second_corrections"))
            .outerjoin(trips, trips.c.case_id == Case.id)
            .outerjoin(seconds, seconds.c.case_id == Case.id)
            .where(*conditions))


def _backlog(scope: set[int], service_code: str | None, now: datetime):
    """Open cases now and how many of them are overdue, per service and office."""
    overdue = and_(Case.due_at < now,
                   or_(Case.suspended_at.is_(None), Case.due_at < Case.suspended_at),
                   or_(Case.waiting_since.is_(None), Case.due_at < Case.waiting_since))
    conditions = [Case.closed_at.is_(None), Case.jurisdiction_id.in_(scope)]
    if service_code:
        conditions.append(Case.service_code == service_code)
    return (select(Case.service_code, Case.jurisdiction_id, func.count().label("open"),
                   func.coalesce(func.sum(case((overdue, 1), else_=0)), 0).label("overdue"))
            .where(*conditions)
            .group_by(Case.service_code, Case.jurisdiction_id))
