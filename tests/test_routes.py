"""Every route against every kind of user: anonymous, applicants (owner or not), staff of the case's
office and of its county and city, and staff of another jurisdiction (农安县).

`Browser` runs each request in a fresh app context, as in production (and as conftest's `client` does):
the `ctx` fixture keeps one app context pushed for the whole test, and Flask would reuse it for
test-client requests, so `g` (where Flask-Login keeps the current user) would otherwise carry one
browser's login over into another browser's request.

A refused request must change nothing: `state()` is compared before and after.
"""

import importlib
import io
import re
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app import create_app
from app.api.auth import new_token
from app.api.models import PartnerClient, PartnerQuery
from app.cases import materials
from app.cases.models import Case, CaseEvent, CaseStatus, EventKind, Material
from app.cases.uploads import inspect
from app.core.models import AuditEntry, HolidaySchedule
from app.demo_data import DEMO_PASSWORD
from app.engine import runtime, tasks
from app.engine.models import HumanTask, MessageSubscription, ProcessInstance, ReceivedMessage
from app.extensions import db
from app.orgs.models import User
from tests import samples

CERTS = "tests.register.test_certificates:"
RECORDS = "tests.records.test_views:"
# (endpoint, method) -> the tests that exercise it. A route missing here fails test_every_route_is_covered.
COVERAGE = {
    ("core.index", "GET"): ["test_index_sends_each_user_home"],
    ("core.healthz", "GET"): ["test_healthz_is_public_and_reports_each_dependency"],
    ("core.calendar_admin", "GET"): ["test_calendar_admin_page"],
    ("core.calendar_admin", "POST"): ["test_calendar_admin_post", "test_post_without_csrf_token_is_refused"],
    ("auth.login", "GET"): ["test_login_page_and_wrong_password", "test_login_sends_each_user_home"],
    ("auth.login", "POST"): ["test_login_page_and_wrong_password", "test_login_sends_each_user_home",
                             "test_login_follows_only_local_next", "test_login_rate_limit",
                             "test_post_without_csrf_token_is_refused"],
    ("auth.logout", "POST"): ["test_logout", "test_post_without_csrf_token_is_refused"],
    ("auth.set_language", "POST"): ["test_language_switch", "test_post_without_csrf_token_is_refused"],
    ("cases.workbench", "GET"): ["test_workbench"],
    ("cases.task_page", "GET"): ["test_task_page", "test_task_page_of_a_finished_task",
                                 "test_task_page_lists_materials_against_the_checklist"],
    ("cases.complete", "POST"): ["test_complete", "test_complete_with_invalid_form",
                                 "test_post_without_csrf_token_is_refused"],
    ("cases.claim", "POST"): ["test_claim", "test_claim_of_a_claimed_task", "test_post_without_csrf_token_is_refused"],
    ("cases.unclaim", "POST"): ["test_unclaim", "test_post_without_csrf_token_is_refused"],
    ("cases.reassign", "POST"): ["test_reassign", "test_reassign_to_someone_ineligible",
                                 "test_reassign_of_a_county_task_needs_the_city",
                                 "test_post_without_csrf_token_is_refused"],
    ("cases.case_page", "GET"): ["test_case_page"],
    ("cases.diagram_xml", "GET"): ["test_diagram_xml"],
    ("cases.suspend", "POST"): ["test_suspend", "test_post_without_csrf_token_is_refused"],
    ("cases.resume", "POST"): ["test_resume", "test_post_without_csrf_token_is_refused"],
    ("cases.withdraw", "POST"): ["test_withdraw", "test_withdraw_where_the_model_does_not_allow_it",
                                 "test_post_without_csrf_token_is_refused"],
    ("cases.my_cases", "GET"): ["test_my_cases"],
    ("cases.new_case", "GET"): ["test_new_case_page"],
    ("cases.new_case", "POST"): ["test_new_case_post", "test_new_case_with_bad_files_stores_nothing",
                                 "test_double_submit_makes_one_case",
                                 "test_a_form_without_its_submission_key_is_refused",
                                 "test_a_request_over_the_size_limit_is_refused_with_a_message",
                                 "test_post_without_csrf_token_is_refused"],
    ("cases.material_file", "GET"): ["test_material_file"],
    ("register.search", "GET"): ["test_register_search"],
    ("register.unit_page", "GET"): ["test_register_unit_page", "test_register_unit_page_as_of_a_date"],
    ("stats.one_visit", "GET"): [
        "tests.cases.test_statistics:test_statistics_page_by_user",
        "tests.cases.test_statistics:test_statistics_page_of_a_county_reviewer",
        "tests.cases.test_statistics:test_statistics_page_filters",
        "tests.cases.test_statistics:test_statistics_page_with_bad_dates_says_so_and_shows_the_default_period"],
    ("portal.services", "GET"): ["tests.cases.test_portal:test_services_and_guide_are_public"],
    ("portal.guide", "GET"): ["tests.cases.test_portal:test_services_and_guide_are_public"],
    ("portal.apply", "GET"): ["tests.cases.test_portal:test_apply_page_by_user"],
    ("portal.apply", "POST"): [
        "tests.cases.test_portal:test_apply_by_user", "tests.cases.test_portal:test_draft_round_trip",
        "tests.cases.test_portal:test_bad_input_is_refused_with_a_message_and_stores_nothing",
        "tests.cases.test_portal:test_double_submitted_application_makes_one_case"],
    ("portal.delete_draft", "POST"): ["tests.cases.test_portal:test_draft_round_trip"],
    ("portal.confirm", "POST"): ["tests.cases.test_portal:test_joint_party_confirms_online"],
    ("portal.fix_correction", "POST"): ["tests.cases.test_portal:test_correction_online"],
    ("auth.signup", "GET"): ["tests.cases.test_portal:test_signup"],
    ("auth.signup", "POST"): ["tests.cases.test_portal:test_signup"],
    ("cases.log_visit", "POST"): ["tests.cases.test_portal:test_log_visit"],
    ("cases.retry_outbox", "POST"): ["tests.cases.test_portal:test_outbox_retry"],
    ("cases.document_file", "GET"): ["tests.cases.test_portal:test_notices_are_word_documents_listed_with_the_case"],
    ("api.post_message", "POST"): ["test_api_authentication", "test_api_delivers_once_and_reports_duplicates",
                                   "test_api_unknown_case_is_a_conflict", "test_api_malformed_body"],
    ("api.openapi", "GET"): ["test_court_api_is_for_tokens_not_sessions",
                             "tests.register.test_court_api:test_openapi_document_validates_and_describes_every_route"],
    ("api.register_unit", "GET"): [
        "test_court_api_is_for_tokens_not_sessions", "tests.register.test_court_api:test_query_by_unit_number",
        "tests.register.test_court_api:test_query_of_a_unit_not_in_the_register_is_answered_404_and_logged",
        "tests.register.test_court_api:test_a_query_without_its_grounds_is_refused_and_logs_nothing",
        "tests.register.test_court_api:test_a_malformed_unit_number_is_refused_naming_the_part",
        "tests.register.test_court_api:test_tokens_and_scopes"],
    ("api.register_party_units", "GET"): [
        "test_court_api_is_for_tokens_not_sessions", "tests.register.test_court_api:test_query_by_id_number",
        "tests.register.test_court_api:test_a_query_without_its_grounds_is_refused_and_logs_nothing",
        "tests.register.test_court_api:test_a_wrong_check_digit_is_refused",
        "tests.register.test_court_api:test_tokens_and_scopes"],
    ("api.post_court_order", "POST"): [
        "test_court_api_is_for_tokens_not_sessions",
        "tests.register.test_court_api:test_a_seizure_on_a_free_unit_takes_effect_at_receipt_and_blocks_a_transfer",
        "tests.register.test_court_api:test_a_second_seizure_is_queued_and_takes_effect_when_the_first_is_released",
        "tests.register.test_court_api:test_a_repeated_request_is_answered_the_same_and_changes_nothing",
        "tests.register.test_court_api:test_releasing_an_unknown_or_released_seizure_is_a_conflict",
        "tests.register.test_court_api:test_an_invalid_order_is_refused_with_every_problem_and_stores_nothing",
        "tests.register.test_court_api:test_an_order_for_a_unit_not_in_the_register_or_not_json_stores_nothing",
        "tests.register.test_court_api:test_tokens_and_scopes"],
    ("certificates.verify_link", "GET"): [CERTS + "test_the_verification_page_shows_minimal_data_and_live_status"],
    ("certificates.verify_upload", "GET"): [CERTS + "test_an_uploaded_copy_is_checked_and_each_check_logged"],
    ("certificates.verify_upload", "POST"): [CERTS + "test_an_uploaded_copy_is_checked_and_each_check_logged",
                                             CERTS + "test_re_signing_many_returns_at_once_and_shows_progress"],
    ("certificates.download", "GET"): [CERTS + "test_downloads_are_for_holders_and_staff_of_the_jurisdiction",
                                       CERTS + "test_a_mortgage_proof_is_cancelled_with_the_mortgage"],
    ("certificates.mine", "GET"): [CERTS + "test_holders_list_their_own_certificates"],
    ("certificates.print_view", "GET"): [CERTS + "test_the_counter_print_view_records_each_print"],
    ("certificates.register", "GET"): [CERTS + "test_the_register_lists_the_jurisdictions_certificates",
                                       CERTS + "test_a_character_the_font_lacks_fails_that_certificate_visibly"],
    ("certificates.rerender", "POST"): [CERTS + "test_re_signing_many_returns_at_once_and_shows_progress"],
    ("certificates.job_page", "GET"): [CERTS + "test_re_signing_many_returns_at_once_and_shows_progress"],
    ("certificates.job_json", "GET"): [CERTS + "test_re_signing_many_returns_at_once_and_shows_progress"],
    # The archive: every route against no login, an applicant, staff of other roles and another county's
    # archivist in test_who_may_use_each_page (and without a CSRF token in test_posts_without_a_csrf_token_are_refused).
    ("records.intake", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_the_intake_queue_lists_closed_cases_of_the_archivists_jurisdiction",
        RECORDS + "test_the_intake_queue_is_paginated"],
    ("records.file_cases", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_filing_one_and_then_many_runs_in_a_batch_and_reports_each_code",
        RECORDS + "test_a_bad_or_foreign_case_is_refused_and_nothing_queued"],
    ("records.send_back", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_a_case_sent_back_goes_to_its_office_and_returns_when_resubmitted",
        RECORDS + "test_a_case_waiting_in_a_batch_cannot_be_sent_back"],
    ("records.batch_page", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_filing_one_and_then_many_runs_in_a_batch_and_reports_each_code",
        RECORDS + "test_a_failed_filing_is_shown_on_the_batch_page"],
    ("records.batch_json", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_filing_one_and_then_many_runs_in_a_batch_and_reports_each_code",
        RECORDS + "test_a_failed_filing_is_shown_on_the_batch_page"],
    ("records.catalogue", "GET"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_the_catalogue_finds_records_by_each_filter",
        RECORDS + "test_the_catalogue_shows_only_the_users_jurisdiction",
        RECORDS + "test_the_catalogue_shows_the_last_check_and_audit"],
    ("records.record_page", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_the_record_page_describes_the_record_its_package_and_files"],
    ("records.download_file", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_a_download_needs_a_purpose_and_returns_the_file_logged",
        RECORDS + "test_staff_read_files_only_through_an_approved_request",
        RECORDS + "test_a_refused_request_does_not_grant",
        RECORDS + "test_an_audit_after_tampering_shows_the_failure_and_nothing_damaged_is_handed_out"],
    ("records.download_package", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_the_package_download_is_a_bag_that_validates",
        RECORDS + "test_an_audit_after_tampering_shows_the_failure_and_nothing_damaged_is_handed_out"],
    ("records.check_page", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_check_now_writes_a_report_listing_the_four_properties",
        RECORDS + "test_a_report_of_another_record_is_not_found_under_this_one"],
    ("records.check_now", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_check_now_writes_a_report_listing_the_four_properties"],
    ("records.audit_now", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_an_audit_after_tampering_shows_the_failure_and_nothing_damaged_is_handed_out"],
    ("records.legal_hold", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_legal_hold_is_placed_and_lifted_with_reasons"],
    ("records.request_access", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_staff_read_files_only_through_an_approved_request"],
    ("records.access_page", "GET"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_staff_read_files_only_through_an_approved_request",
        RECORDS + "test_a_refused_request_does_not_grant"],
    ("records.decide", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_staff_read_files_only_through_an_approved_request",
        RECORDS + "test_a_refused_request_does_not_grant"],
    ("records.returns", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_a_case_sent_back_goes_to_its_office_and_returns_when_resubmitted"],
    ("records.resubmit", "POST"): [
        RECORDS + "test_who_may_use_each_page", RECORDS + "test_posts_without_a_csrf_token_are_refused",
        RECORDS + "test_a_case_sent_back_goes_to_its_office_and_returns_when_resubmitted"],
    ("records.audits", "GET"): [
        RECORDS + "test_who_may_use_each_page",
        RECORDS + "test_an_audit_after_tampering_shows_the_failure_and_nothing_damaged_is_handed_out"],
}


def test_every_route_is_covered(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - set(COVERAGE) == set(), "new routes without access tests"
    assert set(COVERAGE) - routes == set(), "tests listed for routes that no longer exist"
    for names in COVERAGE.values():
        for name in names:
            # "module:test" names a test in another module (e.g. "tests.cases.test_portal:test_guide").
            module, _, test = name.rpartition(":")
            where = vars(importlib.import_module(module)) if module else globals()
            assert callable(where.get(test)), f"{name} is listed but not defined"


# --------------------------------------------------------------------------- harness

LOGIN = "login"  # expectation: redirected to the login page
OK = "ok"  # expectation: the request succeeds (what success means is checked by each test)


class Browser:
    """A test client that runs every request in its own app context (own `g` and session)."""

    def __init__(self, app, username: str | None = None):
        self.app = app
        self.client = app.test_client()
        self.username = username
        if username:
            response = self.post("/login", {"username": username, "password": DEMO_PASSWORD})
            assert response.status_code == 302, f"{username} could not log in"

    def request(self, method: str, url: str, **kwargs):
        with self.app.app_context():
            return self.client.open(url, method=method, **kwargs)

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def csrf_token(self) -> str:
        html = self.get("/login").get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, "no CSRF token on the login page"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            token = self.csrf_token()
            data.setdefault("csrf_token", token)
            data.setdefault("task-csrf_token", token)  # the task form has the prefix "task"
        return self.request("POST", url, data=data, **kwargs)

    def follow(self, response):
        return self.get(response.location)


@pytest.fixture
def browser(ctx):
    return lambda username=None: Browser(ctx, username)


def path_of(response) -> str:
    return urlsplit(response.location or "").path


def check(response, expected, redirect_to: str | None = None):
    """expected: LOGIN, an HTTP status, or OK with `redirect_to` (a path) when success is a redirect."""
    where = f"{response.status_code} -> {response.location}"
    if expected == LOGIN:
        assert (response.status_code, path_of(response)) == (302, "/login"), where
    elif expected == OK and redirect_to:
        assert (response.status_code, path_of(response)) == (302, redirect_to), where
    elif expected == OK:
        assert response.status_code == 200, where
    else:
        assert response.status_code == expected, where


def flash_errors(browser: Browser, response) -> list[str]:
    html = browser.follow(response).get_data(as_text=True)
    return re.findall(r'<div class="flash error"[^>]*>([^<]*)</div>', html)


def assert_refused(browser, response, redirect_to, before) -> None:
    """A refusal the user is told about: redirected with an error message, and nothing changed."""
    check(response, OK, redirect_to=redirect_to)
    assert state() == before
    assert flash_errors(browser, response)


def state() -> dict:
    """Everything a request could change, read fresh from the database."""
    db.session.rollback()
    rows = {
        "cases": [(c.id, c.status, c.outcome, c.closed_at, c.suspended_at, c.due_at) for c in db.session.scalars(
            select(Case).order_by(Case.id))],
        "instances": [(i.id, i.status, i.row_version) for i in db.session.scalars(
            select(ProcessInstance).order_by(ProcessInstance.id))],
        "tasks": [(t.id, t.bpmn_id, t.assignee_id, t.due_at) for t in db.session.scalars(
            select(HumanTask).order_by(HumanTask.id))],
        "events": db.session.scalars(select(CaseEvent.id).order_by(CaseEvent.id)).all(),
        "audit": db.session.scalar(select(func.count()).select_from(AuditEntry)),
        "schedules": db.session.scalars(select(HolidaySchedule.year)).all(),
        "messages": db.session.scalars(select(ReceivedMessage.message_id)).all(),
        "materials": db.session.scalars(select(Material.sha256).order_by(Material.id)).all(),
    }
    db.session.rollback()
    return rows


def task_row(task_id: int) -> HumanTask | None:
    db.session.expire_all()
    return db.session.get(HumanTask, task_id)


def case_row(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


@pytest.fixture
def world(ctx, users, units, make_case):
    """A demo case of 南岭街道 (南关区) filed by zhangsan, waiting at its township `accept` task."""
    case = make_case()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    world = SimpleNamespace(case_id=case.id, case_no=case.case_no, task_id=task.id, instance_id=task.instance_id,
                            ids={name: u.id for name, u in users.items()}, unit_ids={c: u.id for c, u in units.items()})
    db.session.commit()
    return world


def claim_for(world, username: str) -> None:
    tasks.claim(world.task_id, db.session.get(User, world.ids[username]))
    db.session.commit()


# The people of the demo organisation, by what they are to a 南岭街道 case.
OUTSIDERS = ["ziqiang_clerk", "nongan_town_clerk", "nongan_reviewer"]  # offices whose jurisdiction excludes it


# --------------------------------------------------------------------------- public and session routes


def test_healthz_is_public_and_reports_each_dependency(browser, ctx):
    response = browser().get("/healthz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "object_store", "job_queue"}
    assert all(check_["ok"] is True for check_ in body["checks"].values())
    assert body["checks"]["database"]["detail"] == db.engine.dialect.name


@pytest.mark.parametrize(("who", "home"), [(None, "/login"), ("nanling_clerk", "/workbench"),
                                       ("admin", "/workbench"), ("zhangsan", "/my/cases")])
def test_index_sends_each_user_home(ctx, browser, who, home):
    response = browser(who).get("/")
    assert response.status_code == 302
    assert path_of(response) == home


def test_login_page_and_wrong_password(ctx, browser):
    b = browser()
    assert b.get("/login").status_code == 200
    before = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.login_failed"))
    response = b.post("/login", {"username": "nanling_clerk", "password": "not-the-password"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    check(b.get("/workbench"), LOGIN)  # not logged in
    after = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.login_failed"))
    assert after == before + 1
    # An unknown user gets the same answer.
    response = b.post("/login", {"username": "nobody", "password": "not-the-password"})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)


@pytest.mark.parametrize(("who", "home"), [("nanling_clerk", "/workbench"), ("zhangsan", "/my/cases")])
def test_login_sends_each_user_home(ctx, browser, who, home):
    b = browser()
    response = b.post("/login", {"username": who, "password": DEMO_PASSWORD})
    check(response, OK, redirect_to=home)
    assert b.get(home).status_code == 200


@pytest.mark.parametrize(("target", "lands"), [("/workbench?view=all", "/workbench"),
                                           ("https://evil.example/phish", "/workbench"),
                                           ("//evil.example/phish", "/workbench"),
                                           ("/\t/evil.example/phish", "/workbench"),
                                           ("/\\evil.example/phish", None)])
def test_login_follows_only_local_next(ctx, browser, target, lands):
    b = browser()
    token = b.csrf_token()
    response = b.request("POST", "/login", query_string={"next": target},
                         data={"username": "nanling_clerk", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).netloc in ("", "localhost"), location
    assert not location.startswith("//"), location
    assert "\\" not in location, location  # browsers read "/\\x" as "//x"
    if lands:
        assert path_of(response) == lands


def test_logout(ctx, browser):
    b = browser("nanling_clerk")
    assert b.get("/workbench").status_code == 200
    check(b.post("/logout"), OK, redirect_to="/login")
    check(b.get("/workbench"), LOGIN)
    # Logging out when not logged in is harmless.
    check(browser().post("/logout"), OK, redirect_to="/login")


def test_language_switch(ctx, browser):
    b = browser("nanling_clerk")
    assert '<html lang="zh-CN">' in b.get("/workbench").get_data(as_text=True)
    response = b.post("/language/en", {"next": "/workbench"})
    check(response, OK, redirect_to="/workbench")
    assert '<html lang="en">' in b.get("/workbench").get_data(as_text=True)
    # An unknown language changes nothing; an outside `next` is not followed.
    response = b.post("/language/xx", {"next": "https://evil.example/"})
    check(response, OK, redirect_to="/")
    assert urlsplit(response.location).netloc in ("", "localhost")
    assert '<html lang="en">' in b.get("/workbench").get_data(as_text=True)
    # Anonymous visitors may switch too.
    anonymous = browser()
    check(anonymous.post("/language/en", {"next": "/login"}), OK, redirect_to="/login")
    assert '<html lang="en">' in anonymous.get("/login").get_data(as_text=True)


def test_login_rate_limit(ctx):
    """A separate app with rate limiting on, on the same database: the 4th login POST in a minute is refused."""
    from app.extensions import limiter

    saved = limiter.enabled  # the Limiter object is shared by every app: put it back for the other tests
    limited = create_app("test", SQLALCHEMY_DATABASE_URI=ctx.config["SQLALCHEMY_DATABASE_URI"],
                         SQLALCHEMY_ENGINE_OPTIONS=ctx.config["SQLALCHEMY_ENGINE_OPTIONS"],
                         OBJECT_STORE_DIR=ctx.config["OBJECT_STORE_DIR"],
                         RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    try:
        b = Browser(limited)
        codes = [b.post("/login", {"username": "nanling_clerk", "password": "wrong"}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        # Even the right password is refused until the window passes; the page itself stays reachable.
        assert b.post("/login", {"username": "nanling_clerk", "password": DEMO_PASSWORD}).status_code == 429
        assert b.get("/login").status_code == 200
        check(b.get("/workbench"), LOGIN)
    finally:
        limiter.enabled = saved
        with limited.app_context():
            db.engine.dispose()
    # The shared test app is still unlimited.
    b = Browser(ctx)
    assert [b.post("/login", {"username": "x", "password": "y"}).status_code for _ in range(12)] == [200] * 12


# --------------------------------------------------------------------------- workbench, task pages


@pytest.mark.parametrize(("who", "expected", "lists_case"), [
    (None, LOGIN, False), ("zhangsan", 403, False), ("changchun_dev", 403, False),
    ("nanling_clerk", OK, True), ("nanguan_reviewer", OK, True), ("city_supervisor", OK, True), ("admin", OK, True),
    ("ziqiang_clerk", OK, False), ("nongan_town_clerk", OK, False), ("nongan_reviewer", OK, False),
])
def test_workbench(world, browser, who, expected, lists_case):
    response = browser(who).get("/workbench?view=all")
    check(response, expected)
    assert (f'data-case-no="{world.case_no}"' in response.get_data(as_text=True)) is lists_case


@pytest.mark.parametrize(("who", "expected", "may_work"), [
    (None, LOGIN, False), ("zhangsan", 403, False), ("changchun_dev", 403, False),
    *[(who, 404, False) for who in OUTSIDERS],
    ("nanling_clerk", OK, True), ("nanling_clerk2", OK, True),
    ("nanguan_reviewer", OK, False), ("nanguan_supervisor", OK, False), ("city_supervisor", OK, False),
])
def test_task_page(world, browser, who, expected, may_work):
    b = browser(who)
    before = state()
    response = b.get(f"/tasks/{world.task_id}")
    check(response, expected)
    if expected == OK:
        html = response.get_data(as_text=True)
        assert world.case_no in html
        assert ('data-testid="task-form"' in html) is may_work
    else:
        assert state() == before


def test_task_page_lists_materials_against_the_checklist(world, browser, users):
    b = browser("nanling_clerk")
    html = b.get(f"/tasks/{world.task_id}").get_data(as_text=True)
    section = html[html.index('data-testid="materials"'):]
    assert '<li class="missing">' in section
    assert "宗地图" in section
    assert "缺少" in section
    case = db.session.get(Case, world.case_id)
    [material] = materials.attach(case, {"site_plan": inspect("宗地图.pdf", samples.pdf(), 2**20)},
                                  users["zhangsan"].id)
    db.session.commit()
    html = b.get(f"/tasks/{world.task_id}").get_data(as_text=True)
    section = html[html.index('data-testid="materials"'):]
    assert '<li class="missing">' not in section
    assert f"/cases/{world.case_id}/materials/{material.id}" in section
    assert material.sha256[:12] in section
    assert "材料已提交" in html  # on the timeline


def test_task_page_of_a_finished_task(world, browser):
    b = browser("nanling_clerk")
    missing = world.task_id + 1000
    check(b.get(f"/tasks/{missing}"), OK, redirect_to="/workbench")


def _completed(world) -> bool:
    rows = db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.case_id == world.case_id)).all()
    return rows == ["county_review"]


@pytest.mark.parametrize(("who", "expected", "redirect_to"), [
    (None, LOGIN, None), ("zhangsan", 403, None), ("changchun_dev", 403, None),
    *[(who, 404, None) for who in OUTSIDERS],
    ("nanguan_reviewer", "refused", "/tasks/{task}"), ("city_supervisor", "refused", "/tasks/{task}"),
    ("nanling_clerk", OK, "/workbench"), ("nanling_clerk2", OK, "/workbench"),
])
def test_complete(world, browser, who, expected, redirect_to):
    b = browser(who)
    before = state()
    response = b.post(f"/tasks/{world.task_id}", {"task-decision": "accept", "task-opinion": ""})
    redirect_to = redirect_to and redirect_to.format(task=world.task_id)
    if expected == "refused":
        assert_refused(b, response, redirect_to, before)
        return
    check(response, expected, redirect_to)
    if expected == OK:
        assert _completed(world)
        event = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == world.case_id,
                                                           CaseEvent.kind == EventKind.TASK_COMPLETED)).one()
        assert (event.actor_id, event.task_bpmn_id, event.detail) == (world.ids[who], "accept",
                                                                      {"decision": "accept"})
    else:
        assert state() == before


def test_complete_with_invalid_form(world, browser):
    b = browser("nanling_clerk")
    before = state()
    response = b.post(f"/tasks/{world.task_id}", {"task-decision": "teleport"})
    assert response.status_code == 422
    response = b.post(f"/tasks/{world.task_id}", {"task-decision": "reject", "task-opinion": ""})
    assert response.status_code == 422  # refusing needs reasons
    assert state() == before


@pytest.mark.parametrize(("who", "expected", "redirect_to"), [
    (None, LOGIN, None), ("zhangsan", 403, None), ("changchun_dev", 403, None),
    *[(who, 404, None) for who in OUTSIDERS],
    ("nanguan_reviewer", "refused", "/workbench"), ("nanguan_supervisor", "refused", "/workbench"),
    ("nanling_clerk", OK, "/tasks/{task}"),
])
def test_claim(world, browser, who, expected, redirect_to):
    b = browser(who)
    before = state()
    response = b.post(f"/tasks/{world.task_id}/claim")
    redirect_to = redirect_to and redirect_to.format(task=world.task_id)
    if expected == "refused":
        assert_refused(b, response, redirect_to, before)
        return
    check(response, expected, redirect_to)
    if expected == OK:
        assert task_row(world.task_id).assignee_id == world.ids[who]
    else:
        assert state() == before
        assert task_row(world.task_id).assignee_id is None


def test_claim_of_a_claimed_task(world, browser):
    claim_for(world, "nanling_clerk")
    b = browser("nanling_clerk2")
    before = state()
    response = b.post(f"/tasks/{world.task_id}/claim")
    check(response, OK, redirect_to="/workbench")
    assert state() == before
    assert any("南岭街道窗口 张丽" in message for message in flash_errors(b, response))
    # Claiming again as the claimer is a no-op success.
    check(browser("nanling_clerk").post(f"/tasks/{world.task_id}/claim"), OK, redirect_to=f"/tasks/{world.task_id}")
    assert task_row(world.task_id).assignee_id == world.ids["nanling_clerk"]


@pytest.mark.parametrize(("who", "expected", "redirect_to"), [
    (None, LOGIN, None), ("zhangsan", 403, None), ("changchun_dev", 403, None),
    *[(who, 404, None) for who in OUTSIDERS],
    ("nanling_clerk2", "refused", "/tasks/{task}"), ("nanguan_reviewer", "refused", "/tasks/{task}"),
    ("nanling_clerk", OK, "/workbench"), ("nanguan_supervisor", OK, "/workbench"),
    ("city_supervisor", OK, "/workbench"),
])
def test_unclaim(world, browser, who, expected, redirect_to):
    claim_for(world, "nanling_clerk")
    b = browser(who)
    before = state()
    response = b.post(f"/tasks/{world.task_id}/unclaim")
    redirect_to = redirect_to and redirect_to.format(task=world.task_id)
    if expected == "refused":
        assert_refused(b, response, redirect_to, before)
        return
    check(response, expected, redirect_to)
    if expected == OK:
        assert task_row(world.task_id).assignee_id is None
        assert db.session.scalars(select(CaseEvent.actor_id).where(CaseEvent.kind == EventKind.UNCLAIMED)).all() == [
            world.ids[who]]
    else:
        assert state() == before


@pytest.mark.parametrize(("who", "expected", "redirect_to"), [
    (None, LOGIN, None), ("zhangsan", 403, None), ("changchun_dev", 403, None),
    *[(who, 404, None) for who in OUTSIDERS],
    ("nanguan_reviewer", "refused", "/tasks/{task}"), ("nanling_clerk", "refused", "/tasks/{task}"),
    ("nanling_clerk2", "refused", "/tasks/{task}"), ("admin", "refused", "/tasks/{task}"),
    ("nanguan_supervisor", OK, "/tasks/{task}"), ("city_supervisor", OK, "/tasks/{task}"),
])
def test_reassign(world, browser, who, expected, redirect_to):
    claim_for(world, "nanling_clerk")
    b = browser(who)
    before = state()
    response = b.post(f"/tasks/{world.task_id}/reassign", {"assignee_id": str(world.ids["nanling_clerk2"])})
    redirect_to = redirect_to and redirect_to.format(task=world.task_id)
    if expected == "refused":
        assert_refused(b, response, redirect_to, before)
        assert task_row(world.task_id).assignee_id == world.ids["nanling_clerk"]
        return
    check(response, expected, redirect_to)
    if expected == OK:
        assert task_row(world.task_id).assignee_id == world.ids["nanling_clerk2"]
        event = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.REASSIGNED)).one()
        assert event.actor_id == world.ids[who]
        assert (event.detail["from"], event.detail["to"]) == (world.ids["nanling_clerk"], world.ids["nanling_clerk2"])
    else:
        assert state() == before
        assert task_row(world.task_id).assignee_id == world.ids["nanling_clerk"]


def test_reassign_of_a_county_task_needs_the_city(world, browser, users):
    runtime.complete_task(world.task_id, users["nanling_clerk"], {"decision": "accept"})
    db.session.commit()
    review = db.session.scalars(select(HumanTask).where(HumanTask.case_id == world.case_id)).one()
    assert review.bpmn_id == "county_review"
    review_id = review.id
    url, form = f"/tasks/{review_id}/reassign", {"assignee_id": str(world.ids["nanguan_reviewer"])}
    county = browser("nanguan_supervisor")  # same tier as the task: not above it
    before = state()
    response = county.post(url, form)
    check(response, OK, redirect_to=f"/tasks/{review_id}")
    assert state() == before
    assert flash_errors(county, response)
    check(browser("city_supervisor").post(url, form), OK, redirect_to=f"/tasks/{review_id}")
    assert task_row(review_id).assignee_id == world.ids["nanguan_reviewer"]


@pytest.mark.parametrize("assignee", ["nanguan_reviewer", "ziqiang_clerk", "zhangsan", "", "not-a-number", "999999"])
def test_reassign_to_someone_ineligible(world, browser, assignee):
    claim_for(world, "nanling_clerk")
    b = browser("nanguan_supervisor")
    before = state()
    value = str(world.ids[assignee]) if assignee in world.ids else assignee
    response = b.post(f"/tasks/{world.task_id}/reassign", {"assignee_id": value})
    check(response, OK, redirect_to=f"/tasks/{world.task_id}")
    assert state() == before
    assert flash_errors(b, response)


# --------------------------------------------------------------------------- case pages


CASE_VIEWERS = [
    (None, LOGIN), ("zhangsan", OK), ("changchun_dev", 404), *[(who, 404) for who in OUTSIDERS],
    ("nanling_clerk", OK), ("nanguan_reviewer", OK), ("nanguan_supervisor", OK), ("city_supervisor", OK),
    ("city_approver", OK), ("admin", OK),
]


@pytest.mark.parametrize(("who", "expected"), CASE_VIEWERS)
def test_case_page(world, browser, who, expected):
    b = browser(who)
    before = state()
    response = b.get(f"/cases/{world.case_id}")
    check(response, expected)
    if expected == OK:
        assert world.case_no in response.get_data(as_text=True)
    else:
        assert state() == before
    if who is not None:
        assert b.get(f"/cases/{world.case_id + 1000}").status_code == 404


@pytest.mark.parametrize(("who", "expected"), CASE_VIEWERS)
def test_diagram_xml(world, browser, who, expected):
    b = browser(who)
    before = state()
    response = b.get(f"/cases/{world.case_id}/diagram.bpmn")
    check(response, expected)
    if expected == OK:
        assert response.headers["Content-Type"].startswith("application/xml")
        assert 'id="demo_review"' in response.get_data(as_text=True)
    assert state() == before  # reading the diagram is not a case view


SUPERVISORS = [
    (None, LOGIN), ("zhangsan", 403), ("changchun_dev", 404), *[(who, 404) for who in OUTSIDERS],
    ("nanling_clerk", 403), ("nanguan_reviewer", 403), ("city_approver", 403), ("admin", 403),
    ("nanguan_supervisor", OK), ("city_supervisor", OK),
]


@pytest.mark.parametrize(("who", "expected"), SUPERVISORS)
def test_suspend(world, browser, who, expected):
    b = browser(who)
    before = state()
    response = b.post(f"/cases/{world.case_id}/suspend", {"reason": "等待鉴定"})
    check(response, expected, redirect_to=f"/cases/{world.case_id}")
    if expected == OK:
        assert case_row(world.case_id).status == CaseStatus.SUSPENDED
        assert db.session.get(ProcessInstance, world.instance_id).status == "suspended"
        # A reason is required.
        check(b.post(f"/cases/{world.case_id}/resume"), OK, redirect_to=f"/cases/{world.case_id}")
        middle = state()
        blank = b.post(f"/cases/{world.case_id}/suspend", {"reason": "  "})
        check(blank, OK, redirect_to=f"/cases/{world.case_id}")
        assert state() == middle
    else:
        assert state() == before


@pytest.mark.parametrize(("who", "expected"), SUPERVISORS)
def test_resume(world, browser, users, who, expected):
    runtime.suspend(db.session.get(Case, world.case_id), users["nanguan_supervisor"], "等待鉴定")
    db.session.commit()
    b = browser(who)
    before = state()
    response = b.post(f"/cases/{world.case_id}/resume")
    check(response, expected, redirect_to=f"/cases/{world.case_id}")
    if expected == OK:
        assert case_row(world.case_id).status == CaseStatus.RUNNING
        assert db.session.scalars(select(CaseEvent.actor_id).where(CaseEvent.kind == EventKind.RESUMED)).all() == [
            world.ids[who]]
    else:
        assert state() == before
        assert case_row(world.case_id).status == CaseStatus.SUSPENDED


# --------------------------------------------------------------------------- withdrawal

@pytest.mark.parametrize(("who", "expected"), [
    (None, LOGIN), ("changchun_dev", 404), *[(who, 404) for who in OUTSIDERS],
    ("nanling_clerk", 403), ("nanguan_supervisor", 403), ("city_supervisor", 403), ("admin", 403),
    ("zhangsan", OK),
])
def test_withdraw(world, browser, who, expected):
    b = browser(who)
    if who == "zhangsan":  # the model allows withdrawal at `accept`, and the owner is offered it
        assert f"/cases/{world.case_id}/withdraw" in b.get(f"/cases/{world.case_id}").get_data(as_text=True)
    before = state()
    response = b.post(f"/cases/{world.case_id}/withdraw", {"reason": "不再需要"})
    check(response, expected, redirect_to="/my/cases")
    if expected == OK:
        case = case_row(world.case_id)
        assert (case.status, case.outcome) == (CaseStatus.WITHDRAWN, "withdrawn")
        assert db.session.scalars(select(HumanTask).where(HumanTask.case_id == world.case_id)).all() == []
        event = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.WITHDRAWN)).one()
        assert (event.actor_id, event.note) == (world.ids["zhangsan"], "不再需要")
    else:
        assert state() == before
        assert case_row(world.case_id).status == CaseStatus.RUNNING


def test_withdraw_where_the_model_does_not_allow_it(world, browser, users):
    # At the city's approval step the model no longer allows withdrawal.
    for username, decision in (("nanling_clerk", "accept"), ("nanguan_reviewer", "escalate")):
        task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == world.case_id)).one()
        runtime.complete_task(task.id, users[username], {"decision": decision})
        db.session.commit()
    assert db.session.scalars(select(HumanTask.bpmn_id).where(HumanTask.case_id == world.case_id)).all() == [
        "city_approve"]
    b = browser("zhangsan")
    assert f"/cases/{world.case_id}/withdraw" not in b.get(f"/cases/{world.case_id}").get_data(as_text=True)
    before = state()
    response = b.post(f"/cases/{world.case_id}/withdraw", {"reason": "不再需要"})
    check(response, OK, redirect_to=f"/cases/{world.case_id}")
    assert state() == before
    assert flash_errors(b, response)


# --------------------------------------------------------------------------- applicants' pages


@pytest.mark.parametrize(("who", "expected", "lists_case"), [
    (None, LOGIN, False), ("zhangsan", OK, True), ("changchun_dev", OK, False),
])
def test_my_cases(world, browser, who, expected, lists_case):
    response = browser(who).get("/my/cases")
    check(response, expected)
    assert (world.case_no in response.get_data(as_text=True)) is lists_case


@pytest.mark.parametrize("who", ["nanling_clerk", "admin"])
def test_my_cases_sends_staff_to_the_workbench(world, browser, who):
    check(browser(who).get("/my/cases"), OK, redirect_to="/workbench")


@pytest.mark.parametrize(("who", "expected"), [
    (None, LOGIN), ("zhangsan", OK), ("changchun_dev", OK), ("nanling_clerk", 403), ("admin", 403),
])
def test_new_case_page(ctx, browser, who, expected):
    check(browser(who).get("/my/cases/new"), expected)


@pytest.mark.parametrize(("who", "expected"), [
    (None, LOGIN), ("nanling_clerk", 403), ("city_supervisor", 403), ("admin", 403), ("zhangsan", OK),
])
def test_new_case_post(world, browser, who, expected):
    b = browser(who)
    before = state()
    form = {"title": "新申请宗地", "township": str(world.unit_ids["220102002"]), "area_m2": "1200.50",
            "submission_key": str(uuid.uuid4())}
    site_plan = samples.pdf("parcel map")
    response = b.post("/my/cases/new", {**form, "site_plan": (io.BytesIO(site_plan), "../宗地图.pdf")})
    if expected != OK:
        check(response, expected)
        assert state() == before
        return
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    new = db.session.scalars(select(Case).where(Case.title == "新申请宗地")).one()
    assert path_of(response) == f"/cases/{new.id}"
    assert (new.applicant_id, new.jurisdiction_id) == (world.ids["zhangsan"], world.unit_ids["220102002"])
    [material] = db.session.scalars(select(Material).where(Material.case_id == new.id)).all()
    assert (material.code, material.filename, material.content_type) == ("site_plan", "宗地图.pdf", "application/pdf")
    assert materials.read(material) == site_plan
    # An invalid form is shown again and creates nothing.
    middle = state()
    bad = b.post("/my/cases/new", {"title": "", "township": str(world.unit_ids["220102002"]), "area_m2": "-1",
                                   "submission_key": str(uuid.uuid4())})
    assert bad.status_code == 200
    assert state() == middle
    # A county is not a township.
    wrong = b.post("/my/cases/new", {**form, "township": str(world.unit_ids["220102"]),
                                     "submission_key": str(uuid.uuid4()),
                                     "site_plan": (io.BytesIO(site_plan), "map.pdf")})
    assert wrong.status_code in (200, 302)
    assert state()["cases"] == middle["cases"]


@pytest.mark.parametrize(("files", "message"), [
    ({}, "请附上此材料"),  # the required parcel map left out
    ({"site_plan": (samples.exe(), "宗地图.pdf")}, "不是 PDF、JPEG 或 PNG 文件"),
    ({"site_plan": (samples.pdf(), "宗地图.png")}, "与其内容类型"),
    ({"site_plan": (samples.pdf(), "map.pdf"), "id_copy": (b"plain text", "id.jpg")}, "不是 PDF、JPEG 或 PNG 文件"),
    ({"site_plan": (samples.pdf() + b"\0" * (2 * 2**20), "big.pdf")}, "上限为 2 MB"),
])
def test_new_case_with_bad_files_stores_nothing(world, browser, ctx, files, message):
    ctx.config["MAX_MATERIAL_BYTES"] = 2 * 2**20
    try:
        b = browser("zhangsan")
        before = state()
        form = {"title": "坏文件申请", "township": str(world.unit_ids["220102002"]), "area_m2": "100",
                "submission_key": str(uuid.uuid4())}
        response = b.post("/my/cases/new", {**form, **{k: (io.BytesIO(d), n) for k, (d, n) in files.items()}})
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
        assert state() == before
    finally:
        ctx.config["MAX_MATERIAL_BYTES"] = 10 * 2**20


def test_double_submit_makes_one_case(world, browser):
    """The same form posted twice (a double click, a retried request) makes one case; the second post
    lands on it with a message. A new form is a new application."""
    b = browser("zhangsan")
    form = {"title": "重复提交", "township": str(world.unit_ids["220102002"]), "area_m2": "100",
            "submission_key": str(uuid.uuid4())}
    data = samples.pdf("same file")
    first = b.post("/my/cases/new", {**form, "site_plan": (io.BytesIO(data), "a.pdf")})
    before = state()
    second = b.post("/my/cases/new", {**form, "site_plan": (io.BytesIO(data), "a.pdf")})
    assert second.status_code == 302
    assert second.location == first.location
    assert state() == before
    assert any("已提交" in m for m in re.findall(r'<div class="flash info"[^>]*>([^<]*)</div>',
                                                 b.follow(second).get_data(as_text=True)))
    again = b.post("/my/cases/new", {**form, "submission_key": str(uuid.uuid4()),
                                     "site_plan": (io.BytesIO(data), "a.pdf")})
    assert again.location != first.location
    assert len(db.session.scalars(select(Case).where(Case.title == "重复提交")).all()) == 2


def test_a_form_without_its_submission_key_is_refused(world, browser):
    b = browser("zhangsan")
    before = state()
    response = b.post("/my/cases/new", {"title": "无键", "township": str(world.unit_ids["220102002"]),
                                        "area_m2": "100", "submission_key": "not-a-key",
                                        "site_plan": (io.BytesIO(samples.pdf()), "a.pdf")})
    assert response.status_code == 200
    assert state() == before


@pytest.mark.parametrize(("who", "expected"), CASE_VIEWERS)
def test_material_file(world, browser, users, who, expected):
    case = db.session.get(Case, world.case_id)
    data = samples.png()
    [material] = materials.attach(case, {"site_plan": inspect("现场照片.png", data, 2**20)}, users["zhangsan"].id)
    db.session.commit()
    b = browser(who)
    before = state()
    response = b.get(f"/cases/{world.case_id}/materials/{material.id}")
    check(response, expected)
    if expected == OK:
        assert response.data == data
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
        assert state()["audit"] == before["audit"] + 1  # reading a material is logged
    else:
        assert state() == before
    if who is not None:  # a material of another case is not found through this one
        assert b.get(f"/cases/{world.case_id + 1}/materials/{material.id}").status_code == 404
        assert b.get(f"/cases/{world.case_id}/materials/{material.id + 1}").status_code == 404


# --------------------------------------------------------------------------- admin


ADMIN_ONLY = [(None, LOGIN), ("zhangsan", 403), ("nanling_clerk", 403), ("city_supervisor", 403),
              ("nongan_reviewer", 403), ("admin", OK)]


@pytest.mark.parametrize(("who", "expected"), ADMIN_ONLY)
def test_calendar_admin_page(ctx, browser, who, expected):
    check(browser(who).get("/admin/calendar"), expected)


@pytest.mark.parametrize(("who", "expected"), ADMIN_ONLY)
def test_calendar_admin_post(ctx, browser, who, expected):
    b = browser(who)
    before = state()
    response = b.post("/admin/calendar", {"year": "2027", "holidays": "01-01..01-03\n02-05..02-13",
                                          "workdays": "", "source": "测试"})
    check(response, expected, redirect_to="/admin/calendar")
    if expected == OK:
        row = db.session.get(HolidaySchedule, 2027)
        assert row is not None
        assert "2027-01-01" in row.holidays
        assert row.entered_by_id is not None
        audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "calendar.schedule")).one()
        assert audit.actor_id == row.entered_by_id
        middle = state()
        check(b.post("/admin/calendar", {"year": "1999", "holidays": ""}), OK, redirect_to="/admin/calendar")
        assert b.post("/admin/calendar", {"year": "2028", "holidays": "02-30"}).status_code == 422
        assert state() == middle
    else:
        assert state() == before


# --------------------------------------------------------------------------- CSRF


def _posts(world):
    """(who would succeed, url, form) for every browser POST route."""
    task, case = world.task_id, world.case_id
    return {
        "login": (None, "/login", {"username": "nanling_clerk", "password": DEMO_PASSWORD}),
        "logout": ("nanling_clerk", "/logout", {}),
        "language": ("nanling_clerk", "/language/en", {"next": "/workbench"}),
        "complete": ("nanling_clerk", f"/tasks/{task}", {"task-decision": "accept"}),
        "claim": ("nanling_clerk", f"/tasks/{task}/claim", {}),
        "unclaim": ("nanling_clerk", f"/tasks/{task}/unclaim", {}),
        "reassign": ("nanguan_supervisor", f"/tasks/{task}/reassign",
                     {"assignee_id": str(world.ids["nanling_clerk2"])}),
        "suspend": ("nanguan_supervisor", f"/cases/{case}/suspend", {"reason": "等待鉴定"}),
        "resume": ("nanguan_supervisor", f"/cases/{case}/resume", {}),
        "withdraw": ("zhangsan", f"/cases/{case}/withdraw", {}),
        "new_case": ("zhangsan", "/my/cases/new", {"title": "无令牌", "township": str(world.unit_ids["220102001"]),
                                                   "area_m2": "10"}),
        "calendar": ("admin", "/admin/calendar", {"year": "2027", "holidays": "01-01"}),
    }


@pytest.mark.parametrize("route", ["login", "logout", "language", "complete", "claim", "unclaim", "reassign",
                                   "suspend", "resume", "withdraw", "new_case", "calendar"])
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_post_without_csrf_token_is_refused(world, browser, users, route, token):
    if route in ("unclaim", "reassign"):
        claim_for(world, "nanling_clerk")
    if route == "resume":
        runtime.suspend(db.session.get(Case, world.case_id), users["nanguan_supervisor"], "等待鉴定")
        db.session.commit()
    who, url, form = _posts(world)[route]
    b = browser(who)
    b.get("/login")  # the session has a CSRF secret; the request just does not carry the token
    before = state()
    if token == "forged":
        form = {**form, "csrf_token": "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.forged.token"}
    response = b.post(url, form, csrf=False)
    assert response.status_code == 400
    assert state() == before
    if route == "login":
        check(b.get("/workbench"), LOGIN)
    if route in ("logout", "language"):
        html = b.get("/workbench").get_data(as_text=True)
        assert response.status_code == 400
        assert '<html lang="zh-CN">' in html
        assert "data-testid=\"who\"" in html


# --------------------------------------------------------------------------- partner API


def partner(name: str, scopes: str = "messages:send", active: bool = True) -> str:
    token, digest = new_token()
    db.session.add(PartnerClient(name=name, token_sha256=digest, scopes=scopes, active=active))
    db.session.commit()
    return token


@pytest.fixture
def waiting(world, users):
    """The world's case moved on to await_result, where it waits for the message demo_result."""
    for username, decision in (("nanling_clerk", "accept"), ("nanguan_reviewer", "approve")):
        task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == world.case_id)).one()
        runtime.complete_task(task.id, users[username], {"decision": decision})
        db.session.commit()
    sub = db.session.scalars(select(MessageSubscription)).one()
    assert (sub.message_name, sub.correlation_key) == ("demo_result", f"case_no={world.case_no}")
    return world


def message(world, message_id: str = "result-0001", case_no: str | None = None) -> dict:
    case_no = case_no or world.case_no
    return {"message_id": message_id, "name": "demo_result", "correlation": {"case_no": case_no},
            "payload": {"case_no": case_no, "ok": True}}


def api(b: Browser, body, token: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return b.request("POST", "/api/v1/messages", json=body, headers=headers, **kwargs)


def test_api_authentication(waiting, browser):
    world = waiting
    good = partner("不动产登记中心")
    read_only = partner("只读伙伴", scopes="cases:read")
    retired = partner("停用伙伴", active=False)
    anonymous, staff = browser(), browser("city_supervisor")
    before = state()
    for token in (None, "not-a-token", retired):
        response = api(anonymous, message(world), token)
        assert response.status_code == 401, token
        assert response.get_json()["error"] == "unauthorized"
    response = api(anonymous, message(world), read_only)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    # A staff session cookie is no credential for the API.
    assert api(staff, message(world)).status_code == 401
    # Neither is the token sent some other way.
    response = anonymous.request("POST", "/api/v1/messages", json=message(world), headers={"Authorization": good})
    assert response.status_code == 401
    assert state() == before


def test_api_delivers_once_and_reports_duplicates(waiting, browser):
    world = waiting
    token = partner("不动产登记中心")
    b = browser()
    response = api(b, message(world), token)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"message_id": "result-0001", "delivered": True, "duplicate": False}
    case = case_row(world.case_id)
    assert (case.status, case.outcome) == (CaseStatus.COMPLETED, "completed")
    after_first = state()

    again = api(b, message(world), token)
    assert again.status_code == 200
    assert again.get_json() == {"message_id": "result-0001", "delivered": False, "duplicate": True}
    assert state() == after_first
    received = db.session.scalars(select(ReceivedMessage)).one()
    assert received.sender == "partner:不动产登记中心"
    kinds = db.session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == world.case_id)).all()
    assert kinds.count(EventKind.MESSAGE_RECEIVED) == 1


def test_api_unknown_case_is_a_conflict(waiting, browser):
    world = waiting
    token = partner("不动产登记中心")
    before = state()
    response = api(browser(), message(world, case_no="220102-2026-9999999"), token)
    assert response.status_code == 409
    assert response.get_json()["error"] == "not_waiting"
    assert state() == before


@pytest.mark.parametrize("body", [
    "not json at all", ["a", "list"], {}, {"name": "demo_result", "correlation": {"case_no": "x"}},
    {"message_id": "", "name": "demo_result", "correlation": {"case_no": "x"}},
    {"message_id": "m" * 65, "name": "demo_result", "correlation": {"case_no": "x"}},
    {"message_id": "m-1", "correlation": {"case_no": "x"}},
    {"message_id": "m-1", "name": "demo_result", "correlation": "case_no=x"},
    {"message_id": "m-1", "name": "demo_result", "correlation": {"case_no": ["x"]}},
    {"message_id": "m-1", "name": "demo_result", "correlation": {"case_no": "x"}, "payload": [1]},
    {"message_id": "m-1", "name": "demo_result", "correlation": {"case_no": "x"}, "payload": {"typename": "X"}},
], ids=["text", "list", "empty", "no-id", "blank-id", "long-id", "no-name", "correlation-text",
        "correlation-list-value", "payload-list", "payload-typename"])
def test_api_malformed_body(waiting, browser, body):
    token = partner("不动产登记中心")
    before = state()
    b = browser()
    if isinstance(body, str):
        response = b.request("POST", "/api/v1/messages", data=body, content_type="application/json",
                             headers={"Authorization": f"Bearer {token}"})
    else:
        response = api(b, body, token)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "bad_request"
    assert state() == before


@pytest.mark.parametrize("who", [None, "zhangsan", "nanling_clerk", "nanguan_registrar", "city_supervisor", "admin"])
def test_court_api_is_for_tokens_not_sessions(world, browser, who):
    """The courts' routes answer only to a partner token: a logged-in browser of any kind gets 401 and
    changes nothing (not even the query log); the OpenAPI document is public."""
    b = browser(who)
    before = state()
    grounds = {"document_no": "(2026)吉0102执协查1号", "officer": "李明"}
    order = {"request_id": "KZ-1", "order": "seize", "unit_no": "220102001003GB00012F00010001",
             "document_no": "(2026)吉0102执1号", "court_name": "长春市南关区人民法院",
             "court_id_number": "112201000MA0000000", "officer": "李明"}
    for response in (b.get("/api/v1/register/units/220102001003GB00012F00010001", query_string=grounds),
                     b.get("/api/v1/register/parties/11010519491231002X/units", query_string=grounds),
                     b.request("POST", "/api/v1/court-orders", json=order)):
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
    assert state() == before
    assert db.session.scalar(select(func.count()).select_from(PartnerQuery)) == 0
    document = b.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.get_json()["openapi"] == "3.1.0"


def test_a_request_over_the_size_limit_is_refused_with_a_message(world, browser, ctx):
    ctx.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    try:
        b = browser("zhangsan")
        before = state()
        form = {"title": "超大申请", "township": str(world.unit_ids["220102002"]), "area_m2": "100",
                "site_plan": (io.BytesIO(samples.pdf() + b"\0" * 128 * 1024), "big.pdf")}
        response = b.post("/my/cases/new", form)
        assert response.status_code == 413
        assert "文件过大" in response.get_data(as_text=True)
        assert state() == before
    finally:
        ctx.config["MAX_CONTENT_LENGTH"] = 40 * 2**20


def test_refusals_are_pages_in_the_users_language(world, browser):
    b = browser("ziqiang_clerk")
    response = b.get(f"/cases/{world.case_id}")
    assert response.status_code == 404
    assert 'data-testid="error"' in response.get_data(as_text=True)
    assert "不在您的管辖范围内" in response.get_data(as_text=True)


# --------------------------------------------------------------------------- register


@pytest.fixture
def register_unit(ctx, users, clock):
    """A unit of 南关区 in the register, entered a week ago, owned by 张三."""
    from datetime import timedelta
    from decimal import Decimal

    from app.orgs.models import IdType
    from app.register import entry as register
    from app.register.models import Holding, RegistrationType, RightType

    unit_no = "220102001003GB00012F00010001"
    owner = register.party("张三", IdType.RESIDENT_ID, "11010519491231002X")
    entry = register.enter_now(None, users["admin"].id, RegistrationType.FIRST, at=clock.now - timedelta(days=7))
    register.write(entry, "unit", unit_no, unit_no, {"location": "南关区人民大街 1 号", "land_area_m2": Decimal(90),
                                                      "building_area_m2": Decimal(80), "land_use": "城镇住宅用地",
                                                      "county_code": "220102"})
    register.write(entry, "right", "R-1", unit_no, {
        "right_type": RightType.STATE_LAND_USE_BUILDING, "holding": Holding.SOLE,
        "certificate_no": "吉(2026)长春市不动产权第0000001号", "holders": [{"party_id": owner.id, "share": None}]})
    db.session.commit()
    return unit_no


REGISTER_READERS = [
    (None, LOGIN), ("zhangsan", 404), ("changchun_dev", 404), ("nongan_town_clerk", 404), ("nongan_reviewer", 404),
    ("nanling_clerk", OK), ("ziqiang_clerk", OK), ("nanguan_reviewer", OK), ("city_supervisor", OK),
    ("city_approver", OK),
]


@pytest.mark.parametrize(("who", "expected"), REGISTER_READERS)
def test_register_unit_page(world, register_unit, browser, who, expected):
    b = browser(who)
    before = state()
    response = b.get(f"/register/units/{register_unit}")
    check(response, expected)
    if expected == OK:
        html = response.get_data(as_text=True)
        assert "南关区人民大街 1 号" in html
        assert "张三 (11010519491231002X)" in html
        assert state()["audit"] == before["audit"] + 1  # a view of personal data is logged
    else:
        assert state() == before
    if who is not None:
        assert b.get("/register/units/220102001003GB00012F0001000X").status_code == 404  # malformed


def test_register_unit_page_as_of_a_date(world, register_unit, browser, clock):
    from datetime import timedelta

    b = browser("nanguan_reviewer")
    earlier = (clock.now - timedelta(days=10)).date().isoformat()  # before the unit was entered
    html = b.get(f"/register/units/{register_unit}?at={earlier}").get_data(as_text=True)
    assert 'data-testid="register-empty"' in html
    today = clock.now.date().isoformat()
    assert "张三" in b.get(f"/register/units/{register_unit}?at={today}").get_data(as_text=True)
    bad = b.get(f"/register/units/{register_unit}?at=yesterday")
    assert bad.status_code == 302
    assert "YYYY-MM-DD" in " ".join(flash_errors(b, bad))


@pytest.mark.parametrize(("who", "expected"), [(None, LOGIN), ("zhangsan", 403), ("nanling_clerk", OK)])
def test_register_search(world, register_unit, browser, who, expected):
    b = browser(who)
    check(b.get("/register"), expected)
    if expected != OK:
        return
    found = b.get("/register", query_string={"unit_no": "220102 001003 gb00012 f00010001"})
    assert (found.status_code, path_of(found)) == (302, f"/register/units/{register_unit}")
    wrong = b.get("/register", query_string={"unit_no": "220102001003XB00012F00010001"})
    assert wrong.status_code == 200
    assert "第 13 位" in wrong.get_data(as_text=True)
