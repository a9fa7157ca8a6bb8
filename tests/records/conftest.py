"""Closed cases to file: a transfer with its materials, notices and signed certificate; plain
withdrawn cases for volume."""

import pytest
from sqlalchemy import select

from app.certificates import rendering
from app.certificates.models import Certificate
from app.engine import runtime
from app.extensions import db
from app.records import filing
from app.records.models import FilingBatch
from tests.archive.conftest import make_s3_store, s3_endpoint  # noqa: F401  (fixture)
from tests.register.conftest import pdf_upload, register_units  # noqa: F401  (fixtures)
from tests.register.test_certificates import run_transfer
from tests.register.test_services import complete


@pytest.fixture
def store(ctx):
    """The object store the app is configured with (tests that need a particular one override this)."""
    from app.cases.materials import object_store

    return object_store()


@pytest.fixture(params=["local", "s3", "s3-locked"])
def each_store(request, ctx, tmp_path, monkeypatch):
    """The app running on a local directory, on a plain S3 bucket, and on an S3 bucket with object lock
    (versioned): everything the test does (materials, certificates, packages) goes to that store."""
    from archive.storage import LocalStore

    if request.param == "local":
        chosen = LocalStore(str(tmp_path / "objects"))
    else:
        chosen = make_s3_store(request.getfixturevalue("s3_endpoint"), object_lock=request.param == "s3-locked")
    monkeypatch.setattr("archive.storage.store_from_config", lambda config: chosen)
    return chosen


@pytest.fixture
def uploads(pdf_upload):  # noqa: F811  (the fixture imported above)
    return lambda: {code: pdf_upload(f"{code}.pdf") for code in ("id_proof", "title_cert", "contract")}


@pytest.fixture
def closed_transfer(store, users, units, register_units, uploads):  # noqa: F811
    """王伟's flat sold to 张三, closed, its title certificate rendered and signed (committed)."""
    case = run_transfer(users, units, register_units["owned"], "wangwei", "zhangsan", uploads)
    complete(case, users["nanguan_registrar"], "issue", decision="issue", channel="online")
    assert rendering.render_pending() == 1
    db.session.refresh(case)
    assert case.closed_at is not None
    assert db.session.scalars(select(Certificate).where(Certificate.case_id == case.id)).one().file_id
    return case


@pytest.fixture
def closed_case(store, make_case, users):
    """A demo case withdrawn by its applicant: closed, with no files (committed)."""

    def make(township: str = "220102001", title: str = "测试宗地"):
        case = make_case(township=township, title=title)
        runtime.withdraw(case, users["zhangsan"], "不再申请")
        db.session.commit()
        return case

    return make


@pytest.fixture
def file_now(users):
    """File CASES as the city archivist, run the job, and return the batch (committed)."""

    def file(*cases, archivist: str = "city_archivist") -> FilingBatch:
        batch = filing.start_batch(list(cases), users[archivist])
        db.session.commit()
        filing.run_jobs()
        return db.session.get(FilingBatch, batch.id, populate_existing=True)

    return file
