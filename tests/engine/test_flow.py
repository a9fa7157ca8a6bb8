"""The demo process driven through the service layer: three tiers, send-back, escalation, message, timers."""

import pytest
from sqlalchemy import select

from app.cases.models import Case, CaseEvent, CaseStatus, EventKind
from app.engine import runtime, tasks
from app.engine.errors import Conflict, ModelError, NotAllowed
from app.engine.jobs import sweep_timers
from app.engine.models import HumanTask, InstanceTimer, MessageSubscription
from app.extensions import db


def open_tasks(case) -> list[HumanTask]:
    return db.session.scalars(select(HumanTask).where(HumanTask.case_id == case.id)).all()


def only_task(case) -> HumanTask:
    rows = open_tasks(case)
    assert len(rows) == 1, [r.bpmn_id for r in rows]
    return rows[0]


def complete(task, user, **data):
    runtime.complete_task(task.id, user, data)
    db.session.commit()


def test_tiers_send_back_escalation_and_message(make_case, users, units):
    case = make_case(area=800.0)
    accept = only_task(case)
    assert (accept.bpmn_id, accept.candidate_org.code, accept.candidate_role.value) == ("accept", "220102001", "clerk")
    assert accept.due_at is not None

    complete(accept, users["nanling_clerk"], decision="accept")
    review = only_task(case)
    assert (review.bpmn_id, review.candidate_org.code, review.candidate_role.value) == (
        "county_review", "220102", "reviewer")
    timers = db.session.scalars(select(InstanceTimer).where(InstanceTimer.instance_id == review.instance_id)).all()
    assert sorted(t.bpmn_id for t in timers) == ["review_overdue", "review_warning"]

    complete(review, users["nanguan_reviewer"], decision="send_back", opinion="补充材料")
    back = only_task(case)
    assert back.bpmn_id == "accept"
    assert back.candidate_org.code == "220102001"
    complete(back, users["nanling_clerk2"], decision="accept")
    complete(only_task(case), users["nanguan_reviewer"], decision="escalate")
    city = only_task(case)
    assert (city.bpmn_id, city.candidate_org.code, city.candidate_role.value) == ("city_approve", "220100", "approver")
    complete(city, users["city_approver"], decision="approve")

    assert open_tasks(case) == []
    sub = db.session.scalar(select(MessageSubscription))
    assert (sub.message_name, sub.correlation_key) == ("demo_result", f"case_no={case.case_no}")
    record, delivered = runtime.deliver_message("demo_result", {"case_no": case.case_no}, {"case_no": case.case_no,
                                                                                          "ok": True}, "m-1", "test")
    db.session.commit()
    assert delivered
    db.session.refresh(case)
    assert case.status == CaseStatus.COMPLETED
    assert case.outcome == "completed"
    kinds = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                                .order_by(CaseEvent.at, CaseEvent.id))]
    assert kinds.count(EventKind.SENT_BACK) == 1
    assert kinds[-2:] == [EventKind.MESSAGE_RECEIVED, EventKind.COMPLETED]

    # The same message id again changes nothing and says so.
    again, delivered = runtime.deliver_message("demo_result", {"case_no": case.case_no}, {}, "m-1", "test")
    assert not delivered
    assert again.id == record.id


def test_large_area_goes_to_city_and_city_can_refuse(make_case, users):
    case = make_case(area=25000.0)
    complete(only_task(case), users["nanling_clerk"], decision="accept")
    complete(only_task(case), users["nanguan_reviewer"], decision="approve")
    city = only_task(case)
    assert city.bpmn_id == "city_approve"
    complete(city, users["city_approver"], decision="reject", opinion="不符合规划")
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.COMPLETED, "rejected_by_city")


def test_wrong_office_and_wrong_role_cannot_complete(make_case, users):
    case = make_case()
    task = only_task(case)
    for outsider in ("ziqiang_clerk", "nongan_town_clerk", "nanguan_reviewer", "city_supervisor"):
        with pytest.raises(NotAllowed):
            runtime.complete_task(task.id, users[outsider], {"decision": "accept"})
        db.session.rollback()
    assert only_task(case).bpmn_id == "accept"


def test_claimed_task_is_only_for_its_claimer(make_case, users):
    case = make_case()
    task = only_task(case)
    tasks.claim(task.id, users["nanling_clerk"])
    db.session.commit()
    with pytest.raises(Conflict, match="南岭街道窗口 张丽"):
        tasks.claim(task.id, users["nanling_clerk2"])
    db.session.rollback()
    with pytest.raises(Conflict):
        runtime.complete_task(task.id, users["nanling_clerk2"], {"decision": "accept"})
    db.session.rollback()


def test_warning_then_overdue_timers_fire_from_the_sweeper(make_case, users, clock):
    case = make_case()
    complete(only_task(case), users["nanling_clerk"], decision="accept")
    review = only_task(case)
    assert sweep_timers() == 0

    clock.advance(days=6)  # past the warning (1 working day before the 5-working-day deadline)
    assert sweep_timers() == 1
    db.session.expire_all()
    assert only_task(case).id == review.id  # non-interrupting: the review stays open
    fired = db.session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.TIMER_FIRED)).all()
    assert [e.task_bpmn_id for e in fired] == ["review_warning"]
    assert sweep_timers() == 0  # fires once

    clock.advance(days=3)
    assert sweep_timers() == 1
    db.session.expire_all()
    assert only_task(case).bpmn_id == "city_approve"  # escalated at the deadline


def test_failing_script_leaves_instance_unchanged(make_case, users, monkeypatch):
    case = make_case()
    task = only_task(case)
    before = db.session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task.id))
    from app.engine.models import ProcessInstance

    state_before = db.session.get(ProcessInstance, before).state

    def broken(_n):
        raise RuntimeError("calendar service down")

    engine = runtime.script_engine()
    monkeypatch.setitem(engine.environment.globals, "deadline", broken)
    with pytest.raises(ModelError, match="calendar service down"):
        runtime.complete_task(task.id, users["nanling_clerk"], {"decision": "accept"})
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(ProcessInstance, before).state == state_before
    assert only_task(case).bpmn_id == "accept"


def test_suspend_pauses_deadlines_and_resume_moves_them(make_case, users, clock):
    case = make_case()
    task = only_task(case)
    due_before, case_due_before = task.due_at, case.due_at
    runtime.suspend(case, users["nanguan_supervisor"], "等待鉴定")
    db.session.commit()
    with pytest.raises(NotAllowed):
        runtime.complete_task(task.id, users["nanling_clerk"], {"decision": "accept"})
    db.session.rollback()
    clock.advance(days=7)  # Mon -> next Mon: 5 working days
    paused = runtime.resume(db.session.get(Case, case.id), users["nanguan_supervisor"])
    db.session.commit()
    assert paused == 5
    db.session.expire_all()
    assert only_task(case).due_at > due_before
    assert db.session.get(Case, case.id).due_at > case_due_before
    assert db.session.get(Case, case.id).paused_days == 5  # not counted as time taken
    kinds = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert EventKind.SUSPENDED in kinds
    assert EventKind.RESUMED in kinds


def test_applicant_withdraws_while_the_model_allows_it(make_case, users):
    case = make_case()
    runtime.withdraw(case, users["zhangsan"], "不再需要")
    db.session.commit()
    db.session.refresh(case)
    assert (case.status, case.outcome) == (CaseStatus.WITHDRAWN, "withdrawn")
    assert open_tasks(case) == []
    assert db.session.scalars(select(InstanceTimer)).all() == []


def test_withdrawal_refused_once_the_city_has_it(make_case, users):
    case = make_case(area=25000.0)
    complete(only_task(case), users["nanling_clerk"], decision="accept")
    complete(only_task(case), users["nanguan_reviewer"], decision="approve")
    assert only_task(case).bpmn_id == "city_approve"
    with pytest.raises(NotAllowed):
        runtime.withdraw(case, users["zhangsan"])
    db.session.rollback()
    assert db.session.get(Case, case.id).status == CaseStatus.RUNNING
