"""The hash-chained audit log: what writes entries, how `verify()` and `flask audit verify` find tampering."""

import re

import pytest
from sqlalchemy import JSON, bindparam, select, text

from app.core import audit
from app.core.models import AuditEntry
from app.demo_data import DEMO_PASSWORD
from app.engine import runtime, tasks
from app.engine.models import HumanTask
from app.extensions import db
import itertools


def entries() -> list[AuditEntry]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


@pytest.fixture
def history(make_case, users):
    """A case submitted, claimed and completed: a chain of several entries, committed."""
    case = make_case()
    task = db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).one()
    tasks.claim(task.id, users["nanling_clerk"])
    db.session.commit()
    runtime.complete_task(task.id, users["nanling_clerk"], {"decision": "accept"})
    db.session.commit()
    audit.record("test.note", "case", case.case_no, actor_id=users["admin"].id, detail={"n": 1, "text": "备注"})
    db.session.commit()
    return case


def test_actions_append_linked_entries(history, users):
    rows = entries()
    assert [(r.action, r.object_id) for r in rows] == [
        ("case.start", history.case_no), ("task.claim", history.case_no), ("task.complete", history.case_no),
        ("test.note", history.case_no)]
    assert [r.actor_id for r in rows] == [users["zhangsan"].id, users["nanling_clerk"].id,
                                         users["nanling_clerk"].id, users["admin"].id]
    assert rows[2].detail == {"task": "accept", "decision": "accept"}
    assert rows[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.entry_hash
    assert len({r.entry_hash for r in rows}) == len(rows)


def test_intact_chain_verifies(history):
    assert audit.verify() == (4, None)


def test_empty_chain_verifies(ctx):
    assert audit.verify() == (0, None)


def _tamper_detail(entry_id: int, detail: dict) -> None:
    db.session.execute(text("UPDATE audit_entry SET detail = :detail WHERE id = :id")
                       .bindparams(bindparam("detail", type_=JSON)), {"detail": detail, "id": entry_id})
    db.session.commit()


def test_edited_detail_is_reported_at_that_entry(history):
    rows = entries()
    target = rows[2]
    _tamper_detail(target.id, {"task": "accept", "decision": "reject"})
    count, broken = audit.verify()
    assert broken is not None
    assert broken.entry_id == target.id
    assert "content" in broken.reason
    assert count == 3  # stopped at the third entry


def test_edited_actor_is_reported_at_that_entry(history, users):
    rows = entries()
    db.session.execute(text("UPDATE audit_entry SET actor_id = :actor WHERE id = :id"),
                       {"actor": users["admin"].id, "id": rows[1].id})
    db.session.commit()
    assert audit.verify()[1].entry_id == rows[1].id


def test_deleted_middle_entry_is_reported_at_the_next(history):
    rows = entries()
    db.session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": rows[1].id})
    db.session.commit()
    count, broken = audit.verify()
    assert broken is not None
    assert broken.entry_id == rows[2].id
    assert "previous" in broken.reason
    assert count == 2


def test_rewritten_entry_with_a_fresh_hash_still_breaks_the_next_link(history):
    """An editor who recomputes the edited row's own hash only moves the break one row on."""
    rows = entries()
    target = rows[1]
    target.detail = {"task": "accept", "forged": True}
    target.entry_hash = audit._entry_digest(target.prev_hash, target)
    db.session.commit()
    count, broken = audit.verify()
    assert broken.entry_id == rows[2].id
    assert count == 3


def test_cli_verify_reports_both_outcomes(history, ctx):
    runner = ctx.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "OK: 4 entries, chain intact" in ok.output

    target = entries()[2]
    _tamper_detail(target.id, {"task": "accept", "decision": "approve"})
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1, broken.output
    assert f"BROKEN at entry {target.id}" in broken.output
    assert re.search(r"\(3 entries read\)", broken.output)
    assert "chain intact" not in broken.output
    assert not broken.output.startswith("OK")


def test_viewing_a_case_as_staff_is_audited(history, users, client):
    from tests.conftest import login

    assert login(client, "nanguan_reviewer").status_code == 302
    before = {r.id for r in entries()}
    response = client.get(f"/cases/{history.id}")
    assert response.status_code == 200
    new = [r for r in entries() if r.id not in before]
    views = [r for r in new if r.action == "case.view"]
    assert len(views) == 1
    view = views[0]
    assert (view.actor_id, view.object_type, view.object_id) == (users["nanguan_reviewer"].id, "case", history.case_no)
    assert view.ip == "127.0.0.1"
    assert audit.verify() == (len(before) + len(new), None)


def test_refused_case_view_is_not_recorded_as_a_view(history, users, ctx):
    from tests.conftest import login

    client = ctx.test_client()
    with ctx.app_context():  # a request context of its own, whatever the conftest client does
        assert login(client, "nongan_reviewer", DEMO_PASSWORD).status_code == 302
    before = len(entries())
    with ctx.app_context():
        assert client.get(f"/cases/{history.id}").status_code == 404
    rows = entries()
    assert len(rows) == before
    assert not [r for r in rows if r.action == "case.view" and r.actor_id == users["nongan_reviewer"].id]


def test_cutting_off_the_newest_entries_is_found(history):
    """Deleting the last entries leaves an intact-looking chain; the head still remembers its end."""
    rows = entries()
    db.session.execute(text("DELETE FROM audit_entry WHERE id >= :id"), {"id": rows[-2].id})
    db.session.commit()
    count, broken = audit.verify()
    assert count == len(rows) - 2
    assert broken is not None
    assert broken.entry_id == rows[-3].id
    assert "head" in broken.reason


def test_removing_the_head_is_found(history):
    db.session.execute(text("DELETE FROM audit_head"))
    db.session.commit()
    assert audit.verify()[1] is not None
