"""CLI commands: `flask --app wsgi deploy | seed-demo | sweep | outbox | tax-result | audit verify | partner create |
certificates …`."""

import click
from flask import Flask

from app.extensions import db


def register_cli(app: Flask) -> None:
    from app.certificates.cli import group as certificates
    from app.records.cli import group as archive

    app.cli.add_command(certificates)
    app.cli.add_command(archive)

    @app.cli.command("deploy")
    def deploy():
        """Parse, validate and store every model in processes/ (new content hash = new version)."""
        from app.engine.definitions import DeployError, deploy_all

        try:
            rows = deploy_all(app.config["PROCESSES_DIR"])
        except DeployError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        for row in rows:
            click.echo(f"{row.process_id} v{row.version} {row.sha256[:12]} ({row.source_path})")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo org units, accounts, the demo service and a few cases (idempotent)."""
        from app.demo_data import APPLICANTS, DEMO_PASSWORD, REGISTER_APPLICANTS, STAFF, seed_all

        seed_all()
        db.session.commit()
        click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
        for username, name, roles in STAFF:
            click.echo(f"  {username:20} {name}  [{', '.join(f'{r.value}@{c}' for c, r in roles)}]")
        for username, name, _, _ in [*APPLICANTS, *REGISTER_APPLICANTS]:
            click.echo(f"  {username:20} {name}  [applicant]")

    @app.cli.command("sweep")
    def sweep():
        """Fire every due timer once (the Celery beat task does this on a schedule)."""
        from app.engine.jobs import sweep_timers

        click.echo(f"advanced {sweep_timers()} instance(s)")

    audit_group = click.Group("audit", help="The hash-chained audit log.")
    app.cli.add_command(audit_group)

    @audit_group.command("verify")
    def audit_verify():
        """Check every link of the chain; report the first broken one."""
        from app.core.audit import verify

        count, broken = verify()
        if broken:
            click.echo(f"BROKEN at entry {broken.entry_id}: {broken.reason} ({count} entries read)")
            raise SystemExit(1)
        click.echo(f"OK: {count} entries, chain intact")

    partner_group = click.Group("partner", help="Partner agencies that call the API.")
    app.cli.add_command(partner_group)

    @partner_group.command("create")
    @click.argument("name")
    @click.option("--scopes", default="messages:send", show_default=True)
    def partner_create(name, scopes):
        """Create a partner and print its token (shown once, stored only as a hash)."""
        from app.api.auth import new_token
        from app.api.models import PartnerClient

        token, digest = new_token()
        db.session.add(PartnerClient(name=name, token_sha256=digest, scopes=scopes))
        db.session.commit()
        click.echo(token)

    @app.cli.command("outbox")
    def deliver_outbox():
        """Deliver due messages to other agencies once (workers do it every OUTBOX_SECONDS)."""
        from app.core.outbox import deliver_due

        click.echo(f"delivered {deliver_due()} message(s)")

    @app.cli.command("tax-result")
    @click.argument("case_no")
    @click.option("--status", type=click.Choice(["cleared", "unpaid"]), default="cleared")
    @click.option("--voucher", default="", help="完税凭证号")
    def tax_result(case_no, status, voucher):
        """For drills and demos without the tax bureau's system: deliver the result it would send."""
        from app.engine import runtime
        from app.engine.errors import EngineError
        from app.extensions import db

        payload = {"case_no": case_no, "status": status, "voucher_no": voucher}
        try:
            _record, delivered = runtime.deliver_message("tax_result", {"case_no": case_no}, payload,
                                                         f"cli-tax-{case_no}-{status}-{voucher}", sender="cli")
        except EngineError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo("delivered" if delivered else "already delivered")
