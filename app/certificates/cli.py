"""`flask --app wsgi certificates sample OUT.pdf | dev-key | render | re-sign`."""

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db

group = AppGroup("certificates", help="Electronic certificates: sample, development key, rendering.")

SAMPLE_ROWS = (("权利人", "王喆、李堃（各50%）"), ("共有情况", "按份共有"),
               ("坐落", "长春市南关区人民大街1000号1单元101室"), ("不动产单元号", "220102001001GB00001F00010101"),
               ("权利类型", "国有建设用地使用权/房屋（构筑物）所有权"), ("权利性质", "出让/市场化商品房"),
               ("用途", "城镇住宅用地/住宅"), ("面积", "共有宗地面积 1200.00㎡／房屋建筑面积 89.50㎡"),
               ("使用期限", "2006年05月01日起2076年04月30日止"),
               ("权利其他状况", "张昇、赵珺为共同居住人（样本数据）"))


@group.command("sample")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def sample(out):
    """Write a signed specimen certificate with demo data, to check a new key or template."""
    from app.certificates import rendering
    from documents.certificates import CertificateFace
    from documents.identifiers import ecert_id

    face = CertificateFace(kind="title", number="吉(2026)长春市不动产权第0000001号",
                           ecert_id=ecert_id(current_app.config["ECERT_TYPE_CODES"]["title"], "11220100001000010X",
                                             "20260000001"),
                           verify_url=f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/v/specimen",
                           issuer="长春市自然资源局", issued_on=date.today(), rows=SAMPLE_ROWS,
                           notes="样本，不作登记凭证。", sample=True)
    signer = rendering.signer()
    pdf = signer.sign(rendering.renderer().pdf(face), reason="样本", location="长春市")
    Path(out).write_bytes(pdf)
    click.echo(f"{out}: {len(pdf)} bytes, signed by {signer.subject}")


@group.command("dev-key")
def dev_key():
    """Create the development signing key at SIGNING_P12 unless a key is already there."""
    from documents.signing import make_development_pkcs12

    path = Path(current_app.config["SIGNING_P12"] or "")
    if not current_app.config["SIGNING_P12"]:
        raise click.ClickException("SIGNING_P12 is not set")
    if path.is_file():
        click.echo(f"{path}: signing key present")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(make_development_pkcs12("长春市自然资源局", current_app.config["SIGNING_P12_PASSWORD"].encode()))
    path.chmod(0o600)
    click.echo(f"{path}: development signing key created (self-signed; never use it in production)")


@group.command("render")
def render():
    """Render every pending certificate now (what the background job does)."""
    from app.certificates.rendering import render_pending

    click.echo(f"{render_pending()} certificates rendered")


@group.command("re-sign")
def re_sign():
    """Render and sign every current certificate again (after changing the key or the template)."""
    from sqlalchemy import select

    from app.certificates import issuing
    from app.certificates.models import Certificate, CertificateStatus

    chosen = db.session.scalars(select(Certificate).where(Certificate.status == CertificateStatus.ISSUED)).all()
    job = issuing.rerender(chosen, f"re-sign {len(chosen)} certificates", None)
    db.session.commit()
    click.echo(f"batch {job.id}: {job.total} certificates queued")
