"""The one-visit (最多跑一次) statistics: figures computed from cases with known visits, corrections and
dates; what each user may see; the period filter; the page with its charts and tables."""

import itertools
import re
from datetime import date, datetime

import pytest

from app.cases import charts, statistics
from app.cases.models import Case, CaseStatus, Channel, Correction, Visit, VisitPurpose
from app.cases.statistics import Basis, Period
from app.core.clock import LOCAL, now_utc
from app.extensions import db
from tests.test_routes import LOGIN, OK, Browser, check

NANLING, ZIQIANG, NONGAN_TOWN = "220102001", "220102002", "220122100"
_serial = itertools.count(1)


def local(day: str, hour: int = 10) -> datetime:
    """A Beijing time on the given day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=LOCAL)


def add_case(units, office: str, *, submitted: str, closed: str | None = None, due: str | None = None,
             status: CaseStatus | None = None, channel: Channel = Channel.ONLINE, window_visits: int = 0,
             paused_days: int = 0, corrections: tuple[bool, ...] = (), service: str = "demo_review",
             closed_hour: int = 16, **times) -> Case:
    """A case straight into the tables, with `window_visits` trips to the counter and one online step
    (which must not count), and correction rounds (True: a second correction)."""
    serial = next(_serial)
    case = Case(case_no=f"{office[:6]}-2026-{serial:07d}", service_code=service, title=f"统计测试 {serial}",
                jurisdiction_id=units[office].id, channel=channel, submitted_at=local(submitted),
                closed_at=local(closed, closed_hour) if closed else None, due_at=local(due, 23) if due else None,
                status=status or (CaseStatus.COMPLETED if closed else CaseStatus.RUNNING), paused_days=paused_days,
                **{k: local(v) for k, v in times.items()})
    db.session.add(case)
    db.session.flush()
    purposes = [VisitPurpose.SUBMISSION, VisitPurpose.PICKUP, VisitPurpose.CORRECTION, VisitPurpose.SIGNING]
    for k in range(window_visits):
        db.session.add(Visit(case_id=case.id, purpose=purposes[k % len(purposes)], channel=Channel.WINDOW,
                             at=case.submitted_at, org_unit_id=case.jurisdiction_id))
    db.session.add(Visit(case_id=case.id, purpose=VisitPurpose.IDENTITY_CHECK, channel=Channel.ONLINE,
                         at=case.submitted_at, org_unit_id=case.jurisdiction_id))
    for round_, second in enumerate(corrections, start=1):
        db.session.add(Correction(case_id=case.id, round=round_, items=["site_plan"], second=second,
                                  requested_at=case.submitted_at))
    return case


@pytest.fixture
def cases(ctx, units, clock):
    """Cases of 南岭街道 and 自强街道 (南关区) and 农安镇 (农安县). The clock stands at Monday 2026-11-02
    09:00 in Beijing, so the default period is 2026-08-05 to 2026-11-02."""
    made = {
        # Closed in the default period.
        "A": add_case(units, NANLING, submitted="2026-10-19", closed="2026-10-23", due="2026-10-23",
                      channel=Channel.WINDOW, window_visits=1),  # 4 working days, on time, one visit
        "B": add_case(units, NANLING, submitted="2026-10-23", closed="2026-10-27", due="2026-10-26"),  # over a
        # weekend: 2 working days; a day late; online, no visit
        "C": add_case(units, NANLING, submitted="2026-10-26", closed="2026-10-30", due="2026-11-06",
                      channel=Channel.WINDOW, window_visits=2, paused_days=1,
                      corrections=(False, True)),  # 4 working days less 1 paused; two visits; a second correction
        "F": add_case(units, ZIQIANG, submitted="2026-09-30", closed="2026-10-12", channel=Channel.POST,
                      window_visits=1),  # over National Day and the make-up Saturday: 4 working days; no deadline
        "G": add_case(units, NONGAN_TOWN, submitted="2026-10-19", closed="2026-10-20", due="2026-10-30",
                      channel=Channel.WINDOW, window_visits=3),
        # Not counted: withdrawn; closed before the period.
        "D": add_case(units, NANLING, submitted="2026-10-20", closed="2026-10-28", status=CaseStatus.WITHDRAWN,
                      channel=Channel.WINDOW, window_visits=2),
        "E": add_case(units, NANLING, submitted="2026-06-29", closed="2026-07-01", due="2026-07-03"),
        # Open now.
        "H": add_case(units, NANLING, submitted="2026-10-20", due="2026-10-30"),  # overdue
        "I": add_case(units, NANLING, submitted="2026-10-28", due="2026-11-10"),
        "J": add_case(units, NANLING, submitted="2026-10-12", due="2026-10-28", status=CaseStatus.SUSPENDED,
                      suspended_at="2026-10-20"),  # its clock stopped before the deadline: not overdue
        "K": add_case(units, NANLING, submitted="2026-10-12", due="2026-10-28",
                      waiting_since="2026-10-29"),  # overdue before it began waiting on the applicant
        "L": add_case(units, ZIQIANG, submitted="2026-10-12", due="2026-10-27", waiting_since="2026-10-20"),
        "M": add_case(units, NONGAN_TOWN, submitted="2026-09-01", due="2026-10-01"),  # overdue
    }
    db.session.commit()
    return made


def default_report(user, **kwargs):
    return statistics.report(user, Period.default(now_utc()), **kwargs)


def by_code(rows):
    return {(row.unit or row.service).code: row for row in rows}


def test_default_period_is_the_last_90_days_in_beijing(clock):
    period = Period.default(clock.now)
    assert (period.first, period.last, period.basis) == (date(2026, 8, 5), date(2026, 11, 2), Basis.CLOSED)
    # 23:30 on 1 November in UTC is already 2 November in Beijing.
    assert Period.default(datetime.fromisoformat("2026-11-01T23:30+00:00")).last == date(2026, 11, 2)


def test_figures_of_a_county(cases, users):
    report = default_report(users["nanguan_reviewer"])
    total = report.total
    assert total.closed == 4  # A, B, C, F: not the withdrawn D, not E closed in July, not 农安's G
    assert total.at_most_one_visit_share == pytest.approx(3 / 4)  # all but C, whose online step is no trip
    assert total.zero_visits_share == pytest.approx(1 / 4)  # B
    assert total.online_share == pytest.approx(1 / 4)
    assert total.on_time_rate == pytest.approx(2 / 3)  # A and C of A, B, C; F has no deadline
    assert total.average_working_days == pytest.approx((4 + 2 + 3 + 4) / 4)
    assert total.second_corrections == 1
    assert (total.backlog, total.overdue) == (5, 2)  # H, I, J, K, L; H and K overdue

    offices = by_code(report.by_office)
    assert list(offices) == [NANLING, ZIQIANG]
    nanling = offices[NANLING]
    assert (nanling.closed, nanling.at_most_one_visit, nanling.zero_visits, nanling.applied_online) == (3, 2, 1, 1)
    assert (nanling.on_time, nanling.with_deadline, nanling.working_days) == (2, 3, 9)
    assert nanling.average_working_days == pytest.approx(3.0)
    assert (nanling.second_corrections, nanling.backlog, nanling.overdue) == (1, 4, 2)
    ziqiang = offices[ZIQIANG]
    assert (ziqiang.closed, ziqiang.at_most_one_visit_share, ziqiang.zero_visits_share) == (1, 1.0, 0.0)
    assert ziqiang.on_time_rate is None
    assert ziqiang.average_working_days == 4  # 9-30 to 10-12: 10-08, 10-09, Saturday 10-10 (make-up day), 10-12
    assert (ziqiang.backlog, ziqiang.overdue) == (1, 0)  # L began waiting before its deadline

    [county] = report.by_county
    assert county.unit.code == "220102"
    assert (county.closed, county.backlog, county.overdue, county.working_days) == (4, 5, 2, 13)
    [service] = report.by_service
    assert (service.service.code, service.closed, service.backlog) == ("demo_review", 4, 5)


def test_scope(cases, users):
    nongan = default_report(users["nongan_reviewer"])
    assert [row.unit.code for row in nongan.by_office] == [NONGAN_TOWN]
    assert (nongan.total.closed, nongan.total.zero_visits, nongan.total.at_most_one_visit) == (1, 0, 0)
    assert (nongan.total.backlog, nongan.total.overdue) == (1, 1)
    town_clerk = default_report(users["ziqiang_clerk"])
    assert [row.unit.code for row in town_clerk.by_office] == [ZIQIANG]
    city = default_report(users["city_supervisor"])
    assert [row.unit.code for row in city.by_office] == [NANLING, ZIQIANG, NONGAN_TOWN]
    assert [row.unit.code for row in city.by_county] == ["220102", "220122"]
    assert (city.total.closed, city.total.backlog, city.total.overdue) == (5, 6, 3)
    assert city.total.working_days == 13 + 1


def test_period_and_basis(cases, users):
    reviewer = users["nanguan_reviewer"]
    july = statistics.report(reviewer, Period(date(2026, 6, 1), date(2026, 7, 31)))
    assert july.total.closed == 1  # E
    assert july.total.backlog == 5  # the backlog is now, whatever the period
    closed = statistics.report(reviewer, Period(date(2026, 10, 23), date(2026, 10, 26)))
    assert closed.total.closed == 1  # A closed on the 23rd; B closed on the 27th
    submitted = statistics.report(reviewer, Period(date(2026, 10, 23), date(2026, 10, 26), Basis.SUBMITTED))
    assert submitted.total.closed == 2  # B and C were submitted then


def test_period_days_are_beijing_days(ctx, units, users, clock):
    # Midnight starting 5 August in Beijing is still 4 August in UTC; 23:00 on 4 August in Beijing is before it.
    add_case(units, NANLING, submitted="2026-08-03", closed="2026-08-05", closed_hour=0)
    add_case(units, NANLING, submitted="2026-08-03", closed="2026-08-04", closed_hour=23)
    db.session.commit()
    assert default_report(users["nanguan_reviewer"]).total.closed == 1


def test_service_filter(cases, units, users):
    add_case(units, NANLING, service="reg_transfer", submitted="2026-10-19", closed="2026-10-21")
    add_case(units, NANLING, service="reg_transfer", submitted="2026-10-19")
    db.session.commit()
    reviewer = users["nanguan_reviewer"]
    everything = default_report(reviewer)
    assert list(by_code(everything.by_service)) == ["demo_review", "reg_transfer"]
    assert (everything.total.closed, everything.total.backlog) == (5, 6)
    transfers = default_report(reviewer, service_code="reg_transfer")
    assert (transfers.total.closed, transfers.total.zero_visits, transfers.total.backlog) == (1, 1, 1)
    assert [row.unit.code for row in transfers.by_office] == [NANLING]


def test_an_office_with_only_open_cases_has_no_rates(ctx, units, users, clock):
    add_case(units, ZIQIANG, submitted="2026-10-28", due="2026-11-10")
    db.session.commit()
    [row] = default_report(users["nanguan_reviewer"]).by_office
    assert (row.closed, row.backlog, row.overdue) == (0, 1, 0)
    assert (row.at_most_one_visit_share, row.on_time_rate, row.average_working_days) == (None, None, None)


# --------------------------------------------------------------------------- charts


def test_bar_chart_layout():
    series = [charts.Series("≤1", "a"), charts.Series("0", "b")]
    chart = charts.bar_chart("x", "Visits", series, [("南岭街道", (0.5, None)), ("自强街道", (1.0, 0.25))],
                             lambda v: "—" if v is None else f"{v:.0%}", (0, 0.5, 1))
    first, second = chart.categories
    assert [bar.width for bar in first.bars] == [charts.PLOT_WIDTH / 2, 0]
    assert [bar.figure for bar in first.bars] == ["50%", "—"]
    assert [bar.width for bar in second.bars] == [charts.PLOT_WIDTH, charts.PLOT_WIDTH / 4]
    assert second.bars[1].tooltip == "自强街道 · 0: 25%"
    assert second.bars[0].y > first.bars[1].y  # categories one below the other
    assert [tick.text for tick in chart.ticks] == ["0%", "50%", "100%"]
    assert chart.ticks[-1].x == charts.LABEL_WIDTH + charts.PLOT_WIDTH
    assert chart.height > chart.axis_y > second.bars[1].y


@pytest.mark.parametrize(("largest", "ticks"), [(0, [0, 1]), (1, [0, 1]), (4, [0, 1, 2, 3, 4]), (7, [0, 2, 4, 6, 8]),
                                                (40, [0, 10, 20, 30, 40])])
def test_count_ticks(largest, ticks):
    assert charts.count_ticks(largest) == ticks


# --------------------------------------------------------------------------- the page


@pytest.fixture
def browser(ctx):
    return lambda username=None: Browser(ctx, username)


def table(html: str, testid: str) -> dict[str, dict[str, str]]:
    """{row key (unit or service code, or "total"): {figure: text}} of one table on the page."""
    section = html[html.index(f'data-testid="{testid}"'):]
    section = section[:section.index("</table>")]
    rows = {}
    for key, body in re.findall(r'<tr (?:data-unit|data-service|data-testid)="([^"]+)">(.*?)</tr>', section, re.S):
        rows[key] = dict(re.findall(r'data-figure="(\w+)"[^>]*>([^<]*)<', body))
    return rows


def flash_errors(html: str) -> list[str]:
    return re.findall(r'<div class="flash error"[^>]*>([^<]*)</div>', html)


@pytest.mark.parametrize(("who", "expected", "sees"), [
    (None, LOGIN, None), ("zhangsan", 403, None), ("changchun_dev", 403, None),
    ("nanling_clerk", OK, {NANLING}), ("ziqiang_clerk", OK, {ZIQIANG}), ("nanguan_reviewer", OK, {NANLING, ZIQIANG}),
    ("nanguan_supervisor", OK, {NANLING, ZIQIANG}), ("nongan_town_clerk", OK, {NONGAN_TOWN}),
    ("nongan_reviewer", OK, {NONGAN_TOWN}), ("city_supervisor", OK, {NANLING, ZIQIANG, NONGAN_TOWN}),
    ("admin", OK, {NANLING, ZIQIANG, NONGAN_TOWN}),
])
def test_statistics_page_by_user(cases, browser, who, expected, sees):
    response = browser(who).get("/statistics")
    check(response, expected)
    if expected == OK:
        assert set(table(response.get_data(as_text=True), "by-office")) == sees | {"total"}


def test_statistics_page_of_a_county_reviewer(cases, browser):
    b = browser("nanguan_reviewer")
    response = b.get("/statistics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert 'href="/statistics"' in html  # in the staff navigation
    for key in ("visits", "on-time", "backlog"):
        chart = html[html.index(f'data-testid="chart-{key}"'):]
        chart = chart[:chart.index("</svg>")]
        assert re.search(r'<svg role="img" aria-label="[^"]+"', chart)
        assert "<title>" in chart
        assert '<rect class="bar' in chart
    visits = html[html.index('data-testid="chart-visits"'):html.index('data-testid="chart-on-time"')]
    assert re.search(r"<title>南岭街道 · [^<:]+: 66.7%</title>", visits)  # the bar for at most one visit
    assert "农安镇" not in html

    offices = table(html, "by-office")
    assert offices[NANLING] == {"closed": "3", "at_most_one_visit": "66.7%", "zero_visits": "33.3%",
                                "online": "33.3%", "on_time": "66.7%", "working_days": "3",
                                "second_corrections": "1", "backlog": "4", "overdue": "2"}
    assert offices[ZIQIANG]["on_time"] == "—"
    assert offices["total"] == {"closed": "4", "at_most_one_visit": "75%", "zero_visits": "25%", "online": "25%",
                                "on_time": "66.7%", "working_days": "3.2", "second_corrections": "1",
                                "backlog": "5", "overdue": "2"}
    assert table(html, "by-county")["220102"]["closed"] == "4"
    assert table(html, "by-service")["demo_review"]["backlog"] == "5"
    assert flash_errors(html) == []


def test_statistics_page_filters(cases, browser):
    b = browser("nanguan_reviewer")
    html = b.get("/statistics", query_string={"from": "2026-10-23", "to": "2026-10-26", "basis": "submitted",
                                              "service": "demo_review"}).get_data(as_text=True)
    assert table(html, "by-office")["total"]["closed"] == "2"
    assert 'name="from" value="2026-10-23"' in html
    assert '<option value="submitted" selected' in html
    # An unknown service shows every service.
    html = b.get("/statistics", query_string={"service": "no_such_service"}).get_data(as_text=True)
    assert table(html, "by-office")["total"]["closed"] == "4"


@pytest.mark.parametrize(("args", "named"), [
    ({"from": "2026-02-30"}, "2026-02-30"), ({"to": "yesterday"}, "yesterday"), ({"from": "1999-12-31"}, "1999-12-31"),
    ({"from": "0001-01-01"}, "0001-01-01"), ({"from": "2026-10-30", "to": "2026-10-01"}, None),
])
def test_statistics_page_with_bad_dates_says_so_and_shows_the_default_period(cases, browser, args, named):
    response = browser("nanguan_reviewer").get("/statistics", query_string=args)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    [message] = flash_errors(html)
    assert "90" in message  # the days shown instead
    if named:
        assert f"&#34;{named}&#34;" in message
    assert 'name="from" value="2026-08-05"' in html
    assert 'name="to" value="2026-11-02"' in html
    assert table(html, "by-office")["total"]["closed"] == "4"


def test_statistics_page_without_cases(ctx, browser):
    html = browser("nanguan_reviewer").get("/statistics").get_data(as_text=True)
    assert 'data-testid="stats-empty"' in html
    assert "<svg" not in html


def test_applicants_have_no_statistics_link(cases, browser):
    html = browser("zhangsan").get("/my/cases").get_data(as_text=True)
    assert 'href="/statistics"' not in html
