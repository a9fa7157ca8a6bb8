"""Certificates and notices: how long one takes, and how fast a batch of 1,000 goes through the app.

    PYTHONPATH=. .venv/bin/python bench/certificates.py [--count 1000] [--samples 60]

1. The documents library alone, one process: an unsigned certificate PDF (layout + CJK font subset),
   a signed one (plus the PAdES signature), and a Word notice. Target: signed median <= 100 ms.
2. The app (PostgreSQL database smartland_bench_certs, local object store): COUNT certificates queued in
   one batch as the issuing step does (numbers, identifiers, faces; the request's share of the work),
   then rendered, signed, stored and committed one by one by the background renderer, as it runs in a
   worker. Printed as the queueing time and certificates per second end to end.
"""

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

if __name__ == "__main__":
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench._common import ensure_database, figure, fixed_clock, fresh_schema, gc_collected, make_app, value

FACE_ROWS = (("权利人", "王喆、李堃（各50%）"), ("共有情况", "按份共有"),
             ("坐落", "长春市南关区人民大街1000号1单元101室"),
             ("不动产单元号", "220102001001GB00001F00010101"), ("权利类型", "国有建设用地使用权/房屋（构筑物）所有权"),
             ("权利性质", "—"), ("用途", "城镇住宅用地"), ("面积", "共有宗地面积 98.50㎡／房屋建筑面积 90.50㎡"),
             ("使用期限", "—"), ("权利其他状况", "证件号码：220102198001010011、220102198202020022"))


def _face(n: int, holder: str = ""):
    from documents.certificates import CertificateFace
    from documents.identifiers import ecert_id

    return CertificateFace(kind="title", number=f"吉(2026)长春市不动产权第{n:07d}号",
                           ecert_id=ecert_id("11100000000013338W001", "11220100001000010X", f"2026{n:07d}"),
                           verify_url=f"https://bdc.example.invalid/v/{n:032d}", issuer="长春市自然资源局",
                           issued_on=date(2026, 11, 24),
                           rows=(("权利人", holder or FACE_ROWS[0][1]), *FACE_ROWS[1:]), notes=f"样本{n}")


def library(samples: int) -> dict:
    from config import Config
    from documents import notices, signing
    from documents.certificates import Renderer

    renderer = Renderer(Config.CERTIFICATE_FONT)
    signer = signing.Signer(signing.make_development_pkcs12("长春市自然资源局", b"bench"), b"bench")
    for n in range(5):  # warm up: fonts loaded, style sheet parsed, caches filled
        signer.sign(renderer.pdf(_face(n)))
    unsigned, signed, rare, notice = [], [], [], []
    with gc_collected():
        for n in range(samples):
            t0 = time.perf_counter()
            renderer.pdf(_face(n))
            unsigned.append((time.perf_counter() - t0) * 1000)
        for n in range(samples):
            t0 = time.perf_counter()
            signer.sign(renderer.pdf(_face(n)), reason="不动产登记电子证照", location="长春市")
            signed.append((time.perf_counter() - t0) * 1000)
        for n in range(samples):  # 䶮 (Extension A) is outside the common cut: the whole face is subset too
            t0 = time.perf_counter()
            signer.sign(renderer.pdf(_face(n, "刘䶮、王喆")), reason="不动产登记电子证照", location="长春市")
            rare.append((time.perf_counter() - t0) * 1000)
        context = {"office": "长春市南关区自然资源局", "doc_no": "南关不动产补字〔2026〕第1号",
                   "date": date(2026, 11, 24),
                   "applicants": ["王喆", "李堃"], "service": "转移登记", "case_no": "220102-2026-0000001",
                   "items": [{"name": f"材料{i}", "reason": "未提交"} for i in range(5)], "note": "",
                   "portal": "https://bdc.example.invalid"}
        for _ in range(samples):
            t0 = time.perf_counter()
            notices.render("correction", context)
            notice.append((time.perf_counter() - t0) * 1000)
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {
        "certificate unsigned (render)": figure(unsigned),
        "certificate signed (render+sign)": figure(signed, target=100, target_text="median <= 100 ms"),
        "certificate signed, a name outside the common cut (䶮)": figure(rare),
        "certificates/s unsigned, one process": value(1000 / med(unsigned), unit="per s"),
        "certificates/s signed, one process": value(1000 / med(signed), unit="per s"),
        "Word notices/s, one process": value(1000 / med(notice), unit="per s"),
    }


def batch(count: int) -> dict:
    from documents.signing import make_development_pkcs12

    key = Path(tempfile.mkdtemp(prefix="smartland-bench-key-")) / "bench.p12"
    key.write_bytes(make_development_pkcs12("长春市自然资源局", b"bench"))
    app = make_app(ensure_database("smartland_bench_certs"))
    app.config.update(SIGNING_P12=str(key), SIGNING_P12_PASSWORD="bench")
    with app.app_context():
        from sqlalchemy import select

        from app.cases.models import Service
        from app.cases.operations import open_case
        from app.certificates import issuing, rendering
        from app.certificates.models import CertificateKind, RenderJob
        from app.extensions import db
        from app.orgs.models import OrgUnit, User

        fixed_clock()
        fresh_schema(app)
        applicant = db.session.scalar(select(User).where(User.username == "zhangsan"))
        township = db.session.scalar(select(OrgUnit).where(OrgUnit.code == "220102001"))
        case = open_case(db.session.get(Service, "demo_review"), township, "证书批量", {"area_m2": 1.0},
                         applicant=applicant, actor_id=applicant.id)
        db.session.commit()
        holders = [{"name": "王喆", "id_number": "220102198001010011", "share": "50%"},
                   {"name": "李堃", "id_number": "220102198202020022", "share": "50%"}]
        t0 = time.perf_counter()
        job = issuing.start_job(f"bench {count}", None)
        for n in range(count):
            issuing._new(case, None, CertificateKind.TITLE, "220102001001GB00001F00010101", f"B{n}",
                         [list(r) for r in FACE_ROWS], holders, None, job)
        db.session.commit()
        queued = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        rendered = rendering.render_pending()
        elapsed = time.perf_counter() - t1
        job = db.session.get(RenderJob, job.id)
        if rendered != count or job.done != count:
            raise RuntimeError(f"rendered {rendered}, done {job.done}, failed {job.failed} of {count}")
        return {
            f"queue {count} certificates (numbers, identifiers, faces; one commit)": value(queued, unit="ms"),
            f"render+sign+store+commit {count} certificates, one worker": value(rendered / elapsed, unit="per s"),
        }


def main(count: int = 1000, samples: int = 60) -> dict:
    figures = library(samples)
    figures.update(batch(count))
    return figures


if __name__ == "__main__":
    from bench.run import print_figures

    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    print_figures(main(args.count, args.samples))
