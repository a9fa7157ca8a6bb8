"""The electronic archive: filing throughput and fixity-audit throughput.

    PYTHONPATH=. .venv/bin/python bench/archive.py [--cases 20] [--files 20] [--mb 10]

1. Filing (PostgreSQL database smartland_bench_archive, local object store): CASES closed cases, each
   with FILES materials of MB megabytes in all, filed in one batch by the filing job as it runs in a
   worker: read back every material, build the BagIt package (SHA-256 + SHA-512), store it
   content-addressed with read-back, record it and run the filing-stage four-property check.
   Printed as packages filed per minute, one worker.
2. Fixity audit of those packages from the local store (read + size + SHA-256 of every package,
   one result row committed per package), in MB/s; and SHA-256 alone over the same bytes in memory,
   for comparison.
"""

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import ensure_database, fixed_clock, fresh_schema, make_app, value


def _pdf(size: int) -> bytes:
    """A PDF-shaped file of SIZE bytes with incompressible content (scans are incompressible too). No
    "/" in the random part: by chance it could spell a PDF name such as /JS, which filing refuses."""
    head, tail = b"%PDF-1.7\n% scanned page\n", b"\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)).replace(b"/", b"0") + tail


def _closed_cases(count: int, files: int, megabytes: float) -> list[int]:
    from sqlalchemy import select

    from app.cases.materials import object_store
    from app.cases.models import Material, Service
    from app.cases.operations import open_case
    from app.engine import runtime
    from app.extensions import db
    from app.orgs.models import OrgUnit, User

    applicant = db.session.scalar(select(User).where(User.username == "zhangsan"))
    township = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "220102001"))
    store = object_store()
    size = int(megabytes * 2**20 / files)
    ids = []
    for n in range(count):
        case = open_case(db.session.get(Service, "demo_review"), township, f"归档基准{n}", {"area_m2": 1.0},
                         applicant=applicant, actor_id=applicant.id)
        for i in range(files):
            data = _pdf(size)
            digest = hashlib.sha256(data).hexdigest()
            key = f"materials/{case.case_no}/{digest}.pdf"
            store.put(key, data, "application/pdf")
            db.session.add(Material(case_id=case.id, code=f"scan{i:02d}", filename=f"扫描件{i:02d}.pdf",
                                    content_type="application/pdf", size=len(data), sha256=digest, object_key=key,
                                    uploaded_by_id=applicant.id))
        runtime.withdraw(case, applicant, "基准")
        db.session.commit()
        ids.append(case.id)
    return ids


def main(cases: int = 20, files: int = 20, megabytes: float = 10.0) -> dict:
    app = make_app(ensure_database("smartland_bench_archive"))
    app.config.update(OBJECT_STORE="local")
    with app.app_context():
        from sqlalchemy import func, select

        from app.cases.models import Case
        from app.extensions import db
        from app.orgs.models import User
        from app.records import auditing, filing
        from app.records.models import ArchiveRecord, FilingBatch

        fixed_clock()
        fresh_schema(app)
        ids = _closed_cases(cases, files, megabytes)
        archivist = db.session.scalar(select(User).where(User.username == "city_archivist"))
        batch = filing.start_batch([db.session.get(Case, i) for i in ids], archivist)
        db.session.commit()
        t0 = time.perf_counter()
        filed = filing.file_pending()
        elapsed = time.perf_counter() - t0
        batch = db.session.get(FilingBatch, batch.id)
        if filed != cases or batch.done != cases:
            errors = {item.error for item in batch.items if item.error}
            raise RuntimeError(f"filed {filed} of {cases}: {errors}")
        package_mb = db.session.scalar(select(func.avg(ArchiveRecord.byte_count))) / 2**20

        t1 = time.perf_counter()
        run = auditing.run_audit("cli")
        audit_s = time.perf_counter() - t1
        if run.failures:
            raise RuntimeError(f"{run.failures} packages failed their audit")

        from app.records.checking import read_package

        blobs = [read_package(r) for r in db.session.scalars(select(ArchiveRecord))]
        t2 = time.perf_counter()
        for blob in blobs:
            hashlib.sha256(blob).digest()
        sha_s = time.perf_counter() - t2
        total_mb = sum(len(b) for b in blobs) / 2**20
        return {
            f"packages filed per minute ({files} files, {package_mb:.1f} MB each), one worker":
                value(filed / elapsed * 60, unit="per min"),
            "fixity audit from the local store (read + SHA-256, one result row per package)":
                value(run.bytes_read / 2**20 / audit_s, unit="MB/s"),
            "SHA-256 alone over the same packages in memory": value(total_mb / sha_s, unit="MB/s"),
        }


if __name__ == "__main__":
    from bench.run import print_figures

    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--mb", type=float, default=10.0)
    args = parser.parse_args()
    print_figures(main(args.cases, args.files, args.mb))
