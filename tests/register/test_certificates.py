"""Electronic certificates through the registration services: issued after entry, rendered in the
background, downloaded by holders, printed at the counter, verified by anyone, and moved on by later
registrations (superseded, cancelled)."""

import io
import re
import subprocess
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.cases import parties
from app.cases.models import Case, CaseEvent, EventKind, Service
from app.certificates import issuing, numbering, rendering
from app.certificates.models import (
    Certificate,
    CertificateFile,
    CertificateKind,
    CertificateSequence,
    CertificateStatus,
    RenderJob,
    RenderState,
    VerificationCheck,
)
from app.engine import runtime
from app.extensions import db
from app.register.applications import Application, PartyInput, submit
from documents import identifiers
from tests import samples
from tests.engine.test_concurrency import race
from tests.register.test_services import accept_all_the_way, complete
from tests.test_routes import LOGIN, OK, Browser, check


@pytest.fixture
def browser(ctx):
    return lambda username=None: Browser(ctx, username)


def run_transfer(users, units, unit_no, seller, buyer, uploads) -> Case:
    """A transfer from SELLER to BUYER (user names) through every step, entered in the register."""
    app = Application(unit_no=unit_no, office_id=units["220102001"].id,
                      obligors=[PartyInput(users[seller].display_name.split()[-1], users[seller].id_number)],
                      holders=[PartyInput(users[buyer].display_name.split()[-1], users[buyer].id_number)],
                      holding="sole", price_yuan=Decimal("1200000"), contract_no=f"长房网签{uuid.uuid4().hex[:6]}")
    case = submit(users[seller], db.session.get(Service, "reg_transfer"), app, uploads(), str(uuid.uuid4()))
    db.session.commit()
    assert parties.confirm(case, users[buyer]) is True
    db.session.commit()
    accept_all_the_way(case, users, reviews=("first_review", "second_review"))
    runtime.deliver_message("tax_result", {"case_no": case.case_no}, {"case_no": case.case_no, "status": "cleared"},
                            f"tax-{case.id}", "test")
    db.session.commit()
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    return case


@pytest.fixture
def uploads(pdf_upload):
    return lambda: {code: pdf_upload(f"{code}.pdf") for code in ("id_proof", "title_cert", "contract")}


@pytest.fixture
def issued(users, units, register_units, uploads):
    """王伟's flat sold to 张三: the case, and its title certificate rendered and signed."""
    case = run_transfer(users, units, register_units["owned"], "wangwei", "zhangsan", uploads)
    certificate = db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)).one()
    assert rendering.render_pending() == 1
    db.session.refresh(certificate)
    return case, certificate


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_transfer_issues_a_numbered_signed_title_certificate(issued, register_units, browser, tmp_path):
    case, certificate = issued
    assert certificate.kind == CertificateKind.TITLE
    assert certificate.number == "吉(2026)长春市不动产权第0000001号"  # a 南关区 flat: the city registers
    assert identifiers.ecert_id_valid(certificate.ecert_id)
    assert certificate.ecert_id.split(".")[6] == certificate.issuer.uscc
    assert (certificate.status, certificate.render_state) == (CertificateStatus.ISSUED, RenderState.READY)
    assert certificate.entry_id is not None
    assert certificate.unit_no == register_units["owned"]
    # Zero visits: the buyer downloads it from the portal.
    response = browser("zhangsan").get(f"/certificates/{certificate.id}.pdf")
    check(response, OK)
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    assert "张三" in text
    assert register_units["owned"] in text
    assert certificate.number in text
    file = db.session.get(CertificateFile, certificate.file_id)
    import hashlib

    assert hashlib.sha256(response.data).hexdigest() == file.sha256
    assert 'data-testid="certificate-download"' in browser("zhangsan").get(f"/cases/{case.id}").get_data(as_text=True)
    timeline = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                          CaseEvent.kind == EventKind.DOCUMENT)).all()
    assert any(e.detail.get("certificate_id") == certificate.id for e in timeline)


def test_downloads_are_for_holders_and_staff_of_the_jurisdiction(issued, browser):
    _case, certificate = issued
    url = f"/certificates/{certificate.id}.pdf"
    check(browser().get(url), LOGIN)
    check(browser("wangwei").get(url), 404)  # the seller sees the case, but the certificate is the buyer's
    check(browser("nongan_registrar").get(url), 404)  # another county
    for who in ("zhangsan", "nanling_clerk", "nanguan_registrar", "city_supervisor"):
        check(browser(who).get(url), OK)
    check(browser("changchun_dev").get(url), 404)  # another applicant
    check(browser("zhangsan").get(f"/certificates/{certificate.id + 99}.pdf"), 404)


def test_the_counter_print_view_records_each_print(issued, browser):
    case, certificate = issued
    url = f"/certificates/{certificate.id}/print"
    check(browser().get(url), LOGIN)
    check(browser("zhangsan").get(url), 403)
    check(browser("nongan_registrar").get(url), 404)
    page = browser("nanling_clerk").get(url)
    check(page, OK)
    assert f"/certificates/{certificate.id}.pdf?inline=1" in page.get_data(as_text=True)
    frame = browser("nanling_clerk").get(f"/certificates/{certificate.id}.pdf?inline=1")
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "attachment" not in frame.headers.get("Content-Disposition", "")
    db.session.rollback()
    printed = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.kind == EventKind.DOCUMENT)).all()
    assert [e.detail.get("printed") for e in printed].count(True) == 1


def test_the_verification_page_shows_minimal_data_and_live_status(issued, users, units, register_units, uploads,
                                                                   browser):
    _case, certificate = issued
    anyone = browser()
    page = anyone.get(f"/v/{certificate.token}").get_data(as_text=True)
    assert 'data-status="issued"' in page
    assert certificate.number in page
    assert certificate.unit_no in page
    assert "长春市自然资源局" in page
    assert "张三" not in page
    assert users["zhangsan"].id_number not in page  # no holder, no ID number
    check(anyone.get("/v/not-a-token"), 404)
    # 张三 sells on to 王伟: the first certificate is superseded by that case and its entry.
    later = run_transfer(users, units, register_units["owned"], "zhangsan", "wangwei", uploads)
    db.session.refresh(certificate)
    assert certificate.status == CertificateStatus.SUPERSEDED
    assert certificate.status_case_id == later.id
    assert certificate.status_entry_id == db.session.scalar(select(Certificate.entry_id).where(
        Certificate.case_id == later.id))
    page = anyone.get(f"/v/{certificate.token}").get_data(as_text=True)
    assert 'data-status="superseded"' in page
    newer = db.session.scalars(select(Certificate).where(Certificate.case_id == later.id)).one()
    assert newer.number == "吉(2026)长春市不动产权第0000002号"  # the next number, no gap
    checks = db.session.scalars(select(VerificationCheck).where(VerificationCheck.method == "link")
                                .order_by(VerificationCheck.id)).all()
    assert [(c.certificate_id, c.outcome) for c in checks] == [
        (certificate.id, "issued"), (None, "unknown"), (certificate.id, "superseded")]


def test_a_mortgage_proof_is_cancelled_with_the_mortgage(users, units, register_units, pdf_upload, browser):
    wang, bank = users["wangwei"], users["ccb_changchun"]
    app = Application(unit_no=register_units["owned"], office_id=units["220102001"].id,
                      obligors=[PartyInput("王伟", wang.id_number)],
                      holders=[PartyInput(bank.display_name, bank.id_number)], amount_yuan=Decimal("300000"),
                      contract_no="借抵字第00009号")
    case = submit(wang, db.session.get(Service, "reg_mortgage"), app,
                  {code: pdf_upload() for code in ("id_proof", "title_cert", "loan_contract")}, str(uuid.uuid4()))
    db.session.commit()
    parties.confirm(case, bank)
    db.session.commit()
    accept_all_the_way(case, users)
    complete(case, users["nanguan_registrar"], "register_entry", decision="enter")
    proof = db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)).one()
    assert proof.kind == CertificateKind.PROOF
    assert proof.number == "吉(2026)长春市不动产证明第0000001号"
    assert proof.holders == [{"name": bank.display_name, "id_number": bank.id_number}]
    assert dict(proof.face["rows"])["证明权利或事项"] == "抵押权"
    assert "300,000.00" in dict(proof.face["rows"])["其他"]
    rendering.render_pending()
    check(browser("ccb_changchun").get(f"/certificates/{proof.id}.pdf"), OK)
    check(browser("wangwei").get(f"/certificates/{proof.id}.pdf"), 404)

    cancel = Application(unit_no=register_units["owned"], office_id=units["220102001"].id,
                         mortgage_key=proof.item_key)
    cancellation = submit(bank, db.session.get(Service, "reg_mortgage_cancellation"), cancel,
                          {"id_proof": pdf_upload(), "release_proof": pdf_upload()}, str(uuid.uuid4()))
    db.session.commit()
    accept_all_the_way(cancellation, users)
    complete(cancellation, users["nanguan_registrar"], "register_entry", decision="enter")
    db.session.refresh(proof)
    assert (proof.status, proof.status_case_id) == (CertificateStatus.CANCELLED, cancellation.id)
    assert 'data-status="cancelled"' in browser().get(f"/v/{proof.token}").get_data(as_text=True)


def _upload(client, url, data: bytes, name="c.pdf"):
    return client.post(url, {"pdf": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _stored_pdf(certificate) -> bytes:
    from app.cases.materials import object_store

    return object_store().get(db.session.get(CertificateFile, certificate.file_id).object_key)


def test_an_uploaded_copy_is_checked_and_each_check_logged(issued, browser):
    _case, certificate = issued
    good = _stored_pdf(certificate)
    anyone = browser()
    page = _upload(anyone, f"/v/{certificate.token}", good).get_data(as_text=True)
    assert 'data-outcome="intact"' in page
    assert certificate.number in page
    altered = bytearray(good)
    altered[len(good) // 3] ^= 0x01
    assert 'data-outcome="altered"' in _upload(anyone, "/verify", bytes(altered)).get_data(as_text=True)
    assert 'data-outcome="unsigned"' in _upload(anyone, "/verify", samples.pdf("x")).get_data(as_text=True)
    assert 'data-outcome="intact"' in _upload(anyone, "/verify", good).get_data(as_text=True)
    before = db.session.scalar(select(func.count()).select_from(VerificationCheck))
    refused = _upload(anyone, "/verify", b"GIF89a not a pdf", "c.gif")
    check(refused, OK, redirect_to="/verify")  # told why, nothing checked
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(VerificationCheck)) == before
    outcomes = db.session.scalars(select(VerificationCheck.outcome).where(VerificationCheck.method == "upload")
                                  .order_by(VerificationCheck.id)).all()
    assert outcomes == ["intact", "altered", "unsigned", "intact"]
    assert anyone.post("/verify", {"pdf": (io.BytesIO(good), "c.pdf")}, csrf=False,
                       content_type="multipart/form-data").status_code == 400
    check(anyone.get("/verify"), OK)


def test_numbers_run_per_issuing_office_and_year_and_a_rollback_gives_its_number_back(ctx, units):
    city, nongan = units["220100"], units["220122"]
    assert numbering.issuer_of(units["220102001"]) == city  # a district township: the city registers
    assert numbering.issuer_of(units["220122100"]) == nongan  # a county registers its own
    assert [numbering.next_sequence(city, 2026, CertificateKind.TITLE) for _ in range(3)] == [1, 2, 3]
    assert numbering.next_sequence(nongan, 2026, CertificateKind.TITLE) == 1
    assert numbering.next_sequence(city, 2026, CertificateKind.PROOF) == 1
    assert numbering.next_sequence(city, 2027, CertificateKind.TITLE) == 1
    db.session.commit()
    assert numbering.next_sequence(city, 2026, CertificateKind.TITLE) == 4
    db.session.rollback()
    assert numbering.next_sequence(city, 2026, CertificateKind.TITLE) == 4
    db.session.rollback()
    assert numbering.number(nongan, 2026, CertificateKind.PROOF, 7) == "吉(2026)农安县不动产证明第0000007号"


def test_concurrent_issuers_get_every_number_once_without_gaps(ctx, units):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set TEST_DATABASE_URL)")
    city_id = units["220100"].id

    def job():
        from app.orgs.models import OrgUnit

        city = db.session.get(OrgUnit, city_id)
        return lambda: numbering.next_sequence(city, 2026, CertificateKind.TITLE)

    outcomes = race(ctx, [job] * 12)
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert sorted(o.value for o in outcomes) == list(range(1, 13))
    db.session.rollback()
    assert db.session.get(CertificateSequence, (city_id, 2026, CertificateKind.TITLE)).last == 12


def _more_certificates(case, certificate, count: int) -> None:
    job = issuing.start_job("test batch", None)
    for n in range(count):
        issuing._new(case, None, CertificateKind.TITLE, certificate.unit_no, f"X{n}", certificate.face["rows"],
                     [{"name": "张三", "id_number": certificate.holders[0]["id_number"], "share": ""}], None, job)
    db.session.flush()
    for row in db.session.scalars(select(Certificate).where(Certificate.render_job_id == job.id)):
        row.render_state = RenderState.READY  # as if produced: the batch below renders them again
    db.session.commit()


def test_re_signing_many_returns_at_once_and_shows_progress(issued, browser):
    case, certificate = issued
    old_copy = _stored_pdf(certificate)
    _more_certificates(case, certificate, 11)
    check(browser("nanguan_registrar").post("/certificates/rerender"), 403)  # supervisors and admins only
    supervisor = browser("nanguan_supervisor")
    response = supervisor.post("/certificates/rerender")
    job_id = int(re.search(r"/certificates/jobs/(\d+)$", response.location).group(1))
    # The request only queued the work: nothing has been rendered yet.
    db.session.rollback()
    job = db.session.get(RenderJob, job_id)
    assert (job.total, job.done) == (12, 0)
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.render_state == RenderState.PENDING)) == 12
    check(supervisor.get(f"/certificates/jobs/{job_id}"), OK)
    check(browser("nongan_registrar").get(f"/certificates/jobs/{job_id}.json"), 404)
    rendering.render_pending(limit=5)
    assert supervisor.get(f"/certificates/jobs/{job_id}.json").get_json() | {"failures": []} == {
        "id": job_id, "label": job.label, "total": 12, "done": 5, "failed": 0, "finished": False, "failures": []}
    rendering.render_pending()
    state = supervisor.get(f"/certificates/jobs/{job_id}.json").get_json()
    assert (state["done"], state["finished"]) == (12, True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CertificateFile).where(
        CertificateFile.certificate_id == certificate.id)) == 2
    # A copy handed out before the re-signing still verifies as ours.
    page = _upload(browser(), f"/v/{certificate.token}", old_copy).get_data(as_text=True)
    assert 'data-outcome="intact"' in page


def test_a_character_the_font_lacks_fails_that_certificate_visibly(issued, browser):
    case, certificate = issued
    job = issuing.start_job("bad name", None)
    bad = issuing._new(case, None, CertificateKind.TITLE, certificate.unit_no, "XBAD", [["权利人", "王\U0001F600"]],
                       [{"name": "王\U0001F600", "id_number": "x", "share": ""}], None, job)
    db.session.commit()
    assert rendering.render_pending() == 0
    db.session.refresh(bad)
    assert bad.render_state == RenderState.FAILED
    assert "U+1F600" in bad.render_error
    assert db.session.get(RenderJob, job.id).failed == 1
    page = browser("nanguan_registrar").get("/certificates?render=failed").get_data(as_text=True)
    assert bad.number in page
    assert "U+1F600" in page


def test_the_register_lists_the_jurisdictions_certificates(issued, browser):
    _case, certificate = issued
    check(browser().get("/certificates"), LOGIN)
    check(browser("zhangsan").get("/certificates"), 403)
    assert certificate.number in browser("nanguan_registrar").get("/certificates").get_data(as_text=True)
    assert certificate.number in browser("city_supervisor").get("/certificates?q=张三").get_data(as_text=True)
    assert certificate.number not in browser("nanguan_registrar").get(
        "/certificates?status=cancelled").get_data(as_text=True)
    assert certificate.number not in browser("nongan_registrar").get("/certificates").get_data(as_text=True)


def _wait_until_finished(job_id: int, seconds: float = 120) -> None:
    """Poll the batch another thread or process is rendering; the caller asserts on what was done."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        if db.session.get(RenderJob, job_id, populate_existing=True).finished_at is not None:
            return
        time.sleep(0.2)


def test_the_renderer_thread_renders_after_commit_without_the_request_waiting(issued, ctx):
    case, certificate = issued
    _more_certificates(case, certificate, 2)
    job = issuing.rerender(db.session.scalars(select(Certificate)).all(), "background", None)
    ctx.config["CERTIFICATE_RENDERING"] = "thread"
    try:
        db.session.commit()  # the commit wakes the renderer thread
        _wait_until_finished(job.id)
    finally:
        ctx.config["CERTIFICATE_RENDERING"] = "manual"
        rendering.stop_thread()
    assert db.session.get(RenderJob, job.id).done == 3


def test_in_production_a_commit_that_issues_sends_the_rendering_job_through_redis(issued, ctx):
    """CERTIFICATE_RENDERING=celery: the commit that queues certificates sends the task by name to the
    broker, and a Celery worker renders them."""
    from celery.contrib.testing.worker import start_worker

    from app.celery_jobs import make_celery
    from tests.engine.test_celery import BROKER, _redis_up

    if not _redis_up():
        pytest.skip("Redis is not running")
    _case, certificate = issued
    # A Redis database of its own: the timer-sweep test's worker must not take this task, nor this one its.
    broker = BROKER.rsplit("/", 1)[0] + "/14"
    ctx.config.update(CELERY_BROKER_URL=broker, CERTIFICATE_RENDERING="celery")
    worker_app = make_celery(ctx)
    try:
        job = issuing.rerender([certificate], "celery", None)
        db.session.commit()  # queues smartland.render_certificates on the broker
        with start_worker(worker_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            _wait_until_finished(job.id)
    finally:
        ctx.config.update(CELERY_BROKER_URL="", CERTIFICATE_RENDERING="manual")
    assert db.session.get(RenderJob, job.id).done == 1


def test_operators_commands_write_a_signed_sample_and_a_development_key(ctx, tmp_path):
    from documents import signing

    runner = ctx.test_cli_runner()
    out = tmp_path / "sample.pdf"
    result = runner.invoke(args=["certificates", "sample", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert signing.verify(data, rendering.trusted_certificates()).ok
    key = tmp_path / "keys" / "dev.p12"
    old = ctx.config["SIGNING_P12"]
    ctx.config["SIGNING_P12"] = str(key)
    try:
        assert runner.invoke(args=["certificates", "dev-key"]).exit_code == 0
        made = key.read_bytes()
        assert signing.Signer(made, ctx.config["SIGNING_P12_PASSWORD"].encode()).subject
        assert "present" in runner.invoke(args=["certificates", "dev-key"]).output
        assert key.read_bytes() == made  # an existing key is never replaced
    finally:
        ctx.config["SIGNING_P12"] = old


def test_holders_list_their_own_certificates(issued, browser):
    _case, certificate = issued
    page = browser("zhangsan").get("/my/certificates").get_data(as_text=True)
    assert certificate.number in page
    assert f"/certificates/{certificate.id}.pdf" in page
    assert certificate.number not in browser("wangwei").get("/my/certificates").get_data(as_text=True)
    check(browser().get("/my/certificates"), LOGIN)
    check(browser("nanguan_registrar").get("/my/certificates"), 403)
