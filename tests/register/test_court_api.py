"""The courts' API (联动共享, 法院): register queries by unit number and by ID number, logged with the
document and officer they rest on; seizures, queued seizures and releases lodged as cases that take
effect at the time of receipt; and the OpenAPI document of the whole /api/v1."""

import re
import threading
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.api.auth import new_token
from app.api.models import PartnerClient, PartnerQuery
from app.api.openapi import DOCUMENT
from app.cases import queues
from app.cases.models import Case
from app.core.models import AuditEntry
from app.engine.models import HumanTask
from app.extensions import db
from app.orgs.models import Role
from app.register import demo, history, rules
from app.register import entry as register
from app.register.models import (
    Holding,
    RegistrationType,
    Restriction,
    RestrictionKind,
    RestrictionState,
    RightType,
)
from tests.register.conftest import LI

COURT = "长春市南关区人民法院"
COURT_ID = demo.org_id("112201000")
GROUNDS = {"document_no": "(2026)吉0102执协查12号", "officer": "李明"}


def partner(name: str = "吉林省高级人民法院执行查控系统", scopes: str = "register:query court:orders",
            active: bool = True) -> str:
    token, digest = new_token()
    db.session.add(PartnerClient(name=name, token_sha256=digest, scopes=scopes, active=active))
    db.session.commit()
    return token


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def query(client, path: str, token: str | None, **params):
    return client.get(f"/api/v1{path}", query_string=params, headers=bearer(token))


def order(client, token: str | None, **body):
    return client.post("/api/v1/court-orders", json=body, headers=bearer(token))


def seize(client, token, unit_no: str, request_id: str, **extra):
    body = {"request_id": request_id, "order": "seize", "unit_no": unit_no,
            "document_no": f"(2026)吉0102执{request_id}号", "court_name": COURT, "court_id_number": COURT_ID,
            "officer": "李明", **extra}
    return order(client, token, **body)


def release(client, token, seizure_key: str, request_id: str, **extra):
    body = {"request_id": request_id, "order": "release", "seizure_key": seizure_key,
            "document_no": f"(2026)吉0102执{request_id}号之二", "court_name": COURT, "court_id_number": COURT_ID,
            "officer": "李明", **extra}
    return order(client, token, **body)


def stored() -> dict:
    """What a request could write: cases, register restrictions, tasks, query log, audit log."""
    db.session.rollback()
    counts = {name: db.session.scalar(select(func.count()).select_from(model)) for name, model in (
        ("cases", Case), ("restrictions", Restriction), ("tasks", HumanTask), ("queries", PartnerQuery),
        ("audit", AuditEntry))}
    db.session.rollback()
    return counts


def queries() -> list[PartnerQuery]:
    db.session.rollback()
    return db.session.scalars(select(PartnerQuery).order_by(PartnerQuery.id)).all()


# --------------------------------------------------------------------------- the OpenAPI document


def test_openapi_document_validates_and_describes_every_route(app, client):
    validate(DOCUMENT)
    paths = DOCUMENT["paths"]
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes[path] = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert {path: set(operations) for path, operations in paths.items()} == routes
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path == "/openapi.json":
                assert operation["security"] == []  # public
                continue
            [requirement] = operation["security"]
            [scope] = requirement["bearerToken"]
            assert scope in operation["summary"]
            assert {"400", "401", "403"} <= set(operation["responses"]), (method, path)
    response = client.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    assert response.get_json() == DOCUMENT
    example = paths["/messages"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert example["name"] == "tax_result"


# --------------------------------------------------------------------------- queries


def test_query_by_unit_number(register_units, client, clock):
    token = partner()
    before = stored()
    co_owned = register_units["co_owned"]
    spaced = f"{co_owned[:6]} {co_owned[6:12]} {co_owned[12:19].lower()} {co_owned[19:]}"  # as a person types it
    response = query(client, f"/register/units/{spaced}", token, **GROUNDS)
    assert response.status_code == 200, response.get_data(as_text=True)
    unit = response.get_json()
    assert unit["unit_no"] == register_units["co_owned"]
    assert (unit["location"], unit["land_area_m2"], unit["building_area_m2"]) == ("长春市南关区人民大街2号", "98.50",
                                                                                   "90.50")
    assert (unit["land_use"], unit["county_code"], unit["county"]) == ("城镇住宅用地", "220102", "南关区")
    [right] = unit["rights"]
    assert (right["right_type"], right["holding"]) == ("4", "shares")
    assert right["certificate_no"] == "吉(2025)长春市不动产权第0000002号"
    assert [(h["name"], h["id_type"], h["share"]) for h in right["holders"]] == [
        ("王伟", "resident_id", "0.5000"), ("李娜", "resident_id", "0.5000")]
    assert right["holders"][1]["id_number"] == LI[2]
    assert (unit["restrictions"], unit["mortgaged"], unit["seized"], unit["under_objection"]) == ([], False, False,
                                                                                                   False)
    assert unit["answered_at"] == clock.now.isoformat()

    [logged] = queries()
    assert (logged.kind, logged.subject, logged.document_no, logged.officer, logged.results) == (
        "unit", register_units["co_owned"], GROUNDS["document_no"], "李明", 1)
    assert db.session.get(PartnerClient, logged.partner_id).name == "吉林省高级人民法院执行查控系统"
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.partner_query")).one()
    assert (audit.object_type, audit.object_id) == ("unit", register_units["co_owned"])
    assert audit.detail == {"partner": "吉林省高级人民法院执行查控系统", **GROUNDS, "results": 1}
    assert stored() == {**before, "queries": 1, "audit": before["audit"] + 1}


def test_query_shows_mortgages_and_seizures(register_units, client):
    token = partner()
    mortgaged = query(client, f"/register/units/{register_units['mortgaged']}", token, **GROUNDS).get_json()
    assert (mortgaged["mortgaged"], mortgaged["seized"]) == (True, False)
    [mortgage] = mortgaged["restrictions"]
    assert (mortgage["kind"], mortgage["state"], mortgage["rank"], mortgage["amount"]) == ("mortgage", "effective",
                                                                                             1, "500000.00")
    assert mortgage["document_no"] == "借抵字第00001号"
    seized = query(client, f"/register/units/{register_units['seized']}", token, **GROUNDS).get_json()
    assert (seized["mortgaged"], seized["seized"]) == (False, True)
    [seizure] = seized["restrictions"]
    assert (seizure["key"], seizure["kind"], seizure["holder"]) == ("TS0000001", "seizure", COURT)
    assert seizure["received_at"] is not None


def test_query_of_a_unit_not_in_the_register_is_answered_404_and_logged(register_units, client):
    token = partner()
    absent = demo.unit_number("220102", 299)
    response = query(client, f"/register/units/{absent}", token, **GROUNDS)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    [logged] = queries()
    assert (logged.kind, logged.subject, logged.results, logged.officer) == ("unit", absent, 0, "李明")
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "register.partner_query")) == 1


def test_query_by_id_number(register_units, client, users):
    token = partner()
    wang = query(client, f"/register/parties/{users['wangwei'].id_number}/units", token, **GROUNDS).get_json()
    assert (wang["id_number"], wang["id_type"]) == (users["wangwei"].id_number, "resident_id")
    assert [u["unit_no"] for u in wang["units"]] == sorted(register_units.values())
    li = query(client, f"/register/parties/{LI[2].lower()}/units", token, **GROUNDS).get_json()
    assert [u["unit_no"] for u in li["units"]] == [register_units["co_owned"]]
    assert li["units"][0]["rights"][0]["holding"] == "shares"  # the same summary as by unit number
    assert li["id_number"] == LI[2]  # normalised: the check character X in upper case

    # Nobody with this number holds anything; the answer says so explicitly.
    nobody = demo.resident_id("220102", 7)
    response = query(client, f"/register/parties/{nobody}/units", token, **GROUNDS)
    assert response.status_code == 200
    assert response.get_json()["units"] == []
    bank = query(client, f"/register/parties/{users['ccb_changchun'].id_number}/units", token, **GROUNDS).get_json()
    assert (bank["id_type"], bank["units"]) == ("uscc", [])  # a mortgagee holds no right to the unit

    logged = queries()
    assert [(q.kind, q.subject, q.results) for q in logged] == [
        ("party", users["wangwei"].id_number, 4), ("party", LI[2], 1), ("party", nobody, 0),
        ("party", users["ccb_changchun"].id_number, 0)]
    assert {(q.document_no, q.officer) for q in logged} == {(GROUNDS["document_no"], "李明")}


def test_a_former_holder_holds_nothing(register_units, client, users, clock):
    """Only current versions count: after a transfer the seller's ID number no longer finds the unit."""
    sold = register.enter_now(None, None, RegistrationType.TRANSFER, "转移", at=clock.now - timedelta(days=1))
    register.write(sold, "right", "T0000000", register_units["owned"], {
        "right_type": RightType.STATE_LAND_USE_BUILDING, "holding": Holding.SOLE, "certificate_no": "吉(2026)新证",
        "holders": [{"party_id": register.party(*LI).id, "share": None}]})
    db.session.commit()
    token = partner()
    wang = query(client, f"/register/parties/{users['wangwei'].id_number}/units", token, **GROUNDS).get_json()
    assert register_units["owned"] not in [u["unit_no"] for u in wang["units"]]
    assert len(wang["units"]) == 3
    li = query(client, f"/register/parties/{LI[2]}/units", token, **GROUNDS).get_json()
    assert [u["unit_no"] for u in li["units"]] == sorted([register_units["owned"], register_units["co_owned"]])


@pytest.mark.parametrize(("params", "named"), [
    ({"officer": "李明"}, "document_no"),
    ({"document_no": "(2026)吉0102执协查12号"}, "officer"),
    ({"document_no": "  ", "officer": "李明"}, "document_no"),
    ({"document_no": "号" * 101, "officer": "李明"}, "at most 100"),
    ({"document_no": "(2026)吉0102执协查12号", "officer": "名" * 101}, "at most 100"),
], ids=["no-document", "no-officer", "blank-document", "long-document", "long-officer"])
def test_a_query_without_its_grounds_is_refused_and_logs_nothing(register_units, client, users, params, named):
    token = partner()
    before = stored()
    for path in (f"/register/units/{register_units['owned']}", f"/register/parties/{users['wangwei'].id_number}/units"):
        response = query(client, path, token, **params)
        assert response.status_code == 400
        assert response.get_json()["error"] == "bad_request"
        assert named in response.get_json()["message"]
    assert stored() == before


def test_a_malformed_unit_number_is_refused_naming_the_part(register_units, client):
    token = partner()
    before = stored()
    response = query(client, "/register/units/220102001003XB00012F00010001", token, **GROUNDS)
    assert response.status_code == 400
    assert "character 13" in response.get_json()["message"]
    short = query(client, "/register/units/220102001003", token, **GROUNDS)
    assert "28 characters" in short.get_json()["message"]
    assert stored() == before


def test_a_wrong_check_digit_is_refused(register_units, client, users):
    token = partner()
    before = stored()
    number = users["wangwei"].id_number
    wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
    response = query(client, f"/register/parties/{wrong}/units", token, **GROUNDS)
    assert response.status_code == 400
    assert "check digit" in response.get_json()["message"]
    assert stored() == before


@pytest.mark.parametrize("route", ["unit", "party", "order"])
def test_tokens_and_scopes(register_units, client, users, route):
    good_scope = "court:orders" if route == "order" else "register:query"
    other_scope = "register:query" if route == "order" else "court:orders"
    wrong_scope = partner("税务局", scopes=f"messages:send {other_scope}")
    retired = partner("停用法院", scopes=good_scope, active=False)

    def call(token):
        if route == "unit":
            return query(client, f"/register/units/{register_units['owned']}", token, **GROUNDS)
        if route == "party":
            return query(client, f"/register/parties/{users['wangwei'].id_number}/units", token, **GROUNDS)
        return seize(client, token, register_units["owned"], "KZ-1")

    before = stored()
    for token in (None, "not-a-token", retired):
        response = call(token)
        assert response.status_code == 401, token
        assert response.get_json()["error"] == "unauthorized"
    response = call(wrong_scope)
    assert response.status_code == 403
    assert good_scope in response.get_json()["message"]
    assert stored() == before


# --------------------------------------------------------------------------- orders


def _restriction(key: str) -> Restriction | None:
    db.session.rollback()
    return db.session.scalar(history.current(Restriction).where(Restriction.key == key))


def test_a_seizure_on_a_free_unit_takes_effect_at_receipt_and_blocks_a_transfer(register_units, client, clock, users,
                                                                                 units):
    token = partner()
    unit_no = register_units["owned"]
    assert not rules.blocking(rules.check_unit(unit_no, changes_ownership=True))
    response = seize(client, token, unit_no, "KZ-1")
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    case = db.session.scalars(select(Case)).one()
    assert answer == {"case_no": case.case_no, "order": "seize", "seizure_key": f"SC{case.id:08d}",
                      "state": "effective", "took_effect": None, "received_at": clock.now.isoformat()}
    assert (case.service_code, case.unit_no, case.jurisdiction_id) == ("reg_court_order", unit_no,
                                                                       units["220102"].id)
    assert case.applicant_data["name"] == COURT

    seizure = _restriction(answer["seizure_key"])
    assert (seizure.state, seizure.received_at, seizure.document_no) == (RestrictionState.EFFECTIVE, clock.now,
                                                                         "(2026)吉0102执KZ-1号")
    assert (seizure.holder.name, seizure.holder.id_number) == (COURT, COURT_ID)
    assert history.record(unit_no).seized
    blocked = rules.blocking(rules.check_unit(unit_no, changes_ownership=True))
    assert [f.rule for f in blocked] == ["seized"]
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == case.case_no)).all()
    assert "api.court_order" in actions

    # The county registrar checks the order and confirms the reply to the court.
    [task] = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()
    assert (task.bpmn_id, task.form_key, task.candidate_org_id, task.candidate_role) == (
        "acknowledge", "reg_court_ack", units["220102"].id, Role.REGISTRAR)
    waiting = queues.page(users["nanguan_registrar"], queues.QueueFilter(view="unclaimed"), 20)
    assert [t.id for t, _case in waiting.rows] == [task.id]
    assert queues.page(users["nongan_registrar"], queues.QueueFilter(view="unclaimed"), 20).rows == []


def test_a_second_seizure_is_queued_and_takes_effect_when_the_first_is_released(register_units, client, clock):
    token = partner()
    unit_no = register_units["owned"]
    first = seize(client, token, unit_no, "KZ-1").get_json()
    clock.advance(hours=2)
    second = seize(client, token, unit_no, "KZ-2").get_json()
    assert (first["state"], second["state"]) == ("effective", "queued")
    assert second["received_at"] == clock.now.isoformat()
    record = history.record(unit_no)
    assert [(r.key, r.state) for r in record.restrictions] == [(first["seizure_key"], RestrictionState.EFFECTIVE),
                                                                (second["seizure_key"], RestrictionState.QUEUED)]

    clock.advance(days=1)
    response = release(client, token, first["seizure_key"], "KZ-3", unit_no=unit_no)
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["case_no"] not in (first["case_no"], second["case_no"])
    assert {k: answer[k] for k in ("order", "seizure_key", "state", "took_effect", "received_at")} == {
        "order": "release", "seizure_key": first["seizure_key"], "state": "released",
        "took_effect": second["seizure_key"], "received_at": clock.now.isoformat()}
    db.session.rollback()
    record = history.record(unit_no)
    assert [(r.key, r.state) for r in record.restrictions] == [(second["seizure_key"], RestrictionState.EFFECTIVE)]
    assert record.seized
    # As the register stood before the release, the first seizure was the effective one.
    earlier = history.record(unit_no, clock.now - timedelta(hours=1))
    assert [r.key for r in earlier.of_kind(RestrictionKind.SEIZURE)] == [first["seizure_key"]]

    clock.advance(days=1)
    last = release(client, token, second["seizure_key"], "KZ-4").get_json()
    assert (last["state"], last["took_effect"]) == ("released", None)
    db.session.rollback()
    assert not history.record(unit_no).seized
    assert not rules.blocking(rules.check_unit(unit_no, changes_ownership=True))


def test_a_repeated_request_is_answered_the_same_and_changes_nothing(register_units, client, clock):
    token = partner()
    unit_no = register_units["owned"]
    first = seize(client, token, unit_no, "KZ-1")
    assert first.status_code == 201
    after = stored()
    clock.advance(minutes=5)
    again = seize(client, token, unit_no, "KZ-1")
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert stored() == after

    # Still the first answer after the seizure was released, and a repeated release is no conflict.
    released = release(client, token, first.get_json()["seizure_key"], "KZ-2")
    assert released.status_code == 201
    after = stored()
    assert seize(client, token, unit_no, "KZ-1").get_json() == first.get_json()
    repeat = release(client, token, first.get_json()["seizure_key"], "KZ-2")
    assert (repeat.status_code, repeat.get_json()) == (200, released.get_json())
    assert stored() == after

    # The same id for another order is refused rather than answered with the first order's result.
    reused = seize(client, token, register_units["co_owned"], "KZ-1")
    assert (reused.status_code, reused.get_json()["error"]) == (409, "request_id_reused")
    assert stored() == after
    # Request ids are the partner's own: another partner's KZ-1 is another order.
    other = seize(client, partner("长春市中级人民法院"), unit_no, "KZ-1")
    assert other.status_code == 201
    assert other.get_json()["case_no"] != first.get_json()["case_no"]


def test_releasing_an_unknown_or_released_seizure_is_a_conflict(register_units, client):
    token = partner()
    before = stored()
    unknown = release(client, token, "SC99999999", "KZ-1")
    assert (unknown.status_code, unknown.get_json()["error"]) == (409, "not_seized")
    assert "SC99999999" in unknown.get_json()["message"]
    wrong_unit = release(client, token, "TS0000001", "KZ-2", unit_no=register_units["owned"])
    assert (wrong_unit.status_code, wrong_unit.get_json()["error"]) == (409, "wrong_unit")
    assert stored() == before

    assert release(client, token, "TS0000001", "KZ-3").status_code == 201
    after = stored()
    twice = release(client, token, "TS0000001", "KZ-4")
    assert (twice.status_code, twice.get_json()["error"]) == (409, "not_seized")
    assert stored() == after


GOOD = {"request_id": "KZ-9", "order": "seize", "document_no": "(2026)吉0102执9号", "court_name": COURT,
        "court_id_number": COURT_ID, "officer": "李明"}


@pytest.mark.parametrize(("change", "named"), [
    ({"request_id": None}, ["request_id is required"]),
    ({"order": "freeze"}, ['order must be "seize" or "release"']),
    ({"unit_no": None}, ["unit_no is required"]),
    ({"unit_no": "220102001003XB00012F00010001"}, ["character 13"]),
    ({"seizure_key": "TS0000001"}, ["seizure_key names the seizure to release"]),
    ({"order": "release", "unit_no": None}, ["seizure_key is required"]),
    ({"document_no": "", "officer": None}, ["document_no is required", "officer is required"]),
    ({"document_no": "号" * 101}, ["document_no must be at most 100 characters"]),
    ({"court_id_number": COURT_ID[:-1] + ("1" if COURT_ID[-1] != "1" else "2")}, ["check digit"]),
    ({"court_id_number": "长春市南关区人民法院"}, ["not a unified social credit code"]),
], ids=["no-request-id", "bad-order", "no-unit", "bad-unit", "key-on-seizure", "no-key-on-release", "no-document",
        "long-document", "court-check-digit", "court-not-uscc"])
def test_an_invalid_order_is_refused_with_every_problem_and_stores_nothing(register_units, client, change, named):
    token = partner()
    before = stored()
    body = {**GOOD, "unit_no": register_units["owned"], **change}
    response = order(client, token, **{k: v for k, v in body.items() if v is not None})
    assert response.status_code == 400, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["error"] == "bad_request"
    assert len(answer["problems"]) == len(named)
    for problem, expected in zip(answer["problems"], named, strict=True):
        assert expected in problem
    assert stored() == before


def test_an_order_for_a_unit_not_in_the_register_or_not_json_stores_nothing(register_units, client):
    token = partner()
    before = stored()
    absent = seize(client, token, demo.unit_number("220102", 299), "KZ-1")
    assert (absent.status_code, absent.get_json()["error"]) == (404, "not_found")
    text = client.post("/api/v1/court-orders", data="seize it", content_type="application/json",
                       headers=bearer(token))
    assert (text.status_code, text.get_json()["error"]) == (400, "bad_request")
    assert stored() == before


# --------------------------------------------------------------------------- at once (PostgreSQL)


def at_once(app, requests) -> list:
    """Send each request (a function of a test client) from its own thread, released together."""
    barrier = threading.Barrier(len(requests))
    answers: list = [None] * len(requests)

    def send(i, request):
        client = app.test_client()
        barrier.wait(timeout=60)
        with app.app_context():
            answers[i] = request(client)
            answers[i] = (answers[i].status_code, answers[i].get_json())

    threads = [threading.Thread(target=send, args=(i, r), daemon=True) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a request hung (deadlock?)"
    return answers


@pytest.fixture
def pg(register_units):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set TEST_DATABASE_URL)")
    return register_units


def test_the_same_request_sent_several_times_at_once_lodges_one_order(pg, app):
    token = partner()
    answers = at_once(app, [lambda c: seize(c, token, pg["owned"], "KZ-1")] * 4)
    assert sorted(status for status, _body in answers) == [200, 200, 200, 201]
    assert len({str(body) for _status, body in answers}) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    assert [r.state for r in history.record(pg["owned"]).of_kind(RestrictionKind.SEIZURE, None)] == [
        RestrictionState.EFFECTIVE]


def test_two_seizures_at_once_one_takes_effect_the_other_is_queued(pg, app):
    token = partner()
    answers = at_once(app, [lambda c: seize(c, token, pg["owned"], "KZ-1"),
                            lambda c: seize(c, token, pg["owned"], "KZ-2")])
    assert [status for status, _body in answers] == [201, 201]
    assert sorted(body["state"] for _status, body in answers) == ["effective", "queued"]
