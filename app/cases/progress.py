"""Where a case stands, in plain words for the applicant: the step, the office that holds it, and
whether it waits on them. Read from the derived task and subscription rows, never the workflow."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.cases.models import Case, CaseStatus
from app.engine.models import HumanTask, MessageSubscription, ProcessInstance
from app.extensions import db
from app.orgs.models import OrgUnit

STEPS = {
    "reg_pre_review": _l("Pre-review and acceptance"), "reg_review": _l("Under review"),
    "reg_first_review": _l("Under review (first review)"), "reg_second_review": _l("Under review (second review)"),
    "reg_city_review": _l("Under review at the city bureau"), "reg_entry": _l("Waiting for entry in the register"),
    "reg_issue": _l("Certificate being prepared"), "reg_court_ack": _l("Being checked by the registrar"),
}
WAITS = {
    "parties_confirmed": (_l("Waiting for the other parties to confirm online"), True),
    "correction_fixed": (_l("Waiting for your corrections"), True),
    "tax_result": (_l("Waiting for the tax bureau's result"), False),
}
OUTCOMES = {"registered": _l("Completed: entered in the register"), "not_accepted": _l("Not accepted"),
            "not_registered": _l("Registration refused"), "withdrawn": _l("Withdrawn")}


@dataclass(frozen=True)
class Progress:
    label: str
    offices: list[OrgUnit]
    waits_on_applicant: bool


def of(case: Case) -> Progress:
    return of_many([case])[case.id]


def of_many(cases: list[Case]) -> dict[int, Progress]:
    """Progress of several cases (an applicant's list) in two queries, not two per case."""
    open_ids = [c.id for c in cases if c.status == CaseStatus.RUNNING]
    tasks: dict[int, list[HumanTask]] = {}
    waits: dict[int, list[str]] = {}
    if open_ids:
        for t in db.session.scalars(select(HumanTask).where(HumanTask.case_id.in_(open_ids))
                                    .options(joinedload(HumanTask.candidate_org)).order_by(HumanTask.id)):
            tasks.setdefault(t.case_id, []).append(t)
        for case_id, name in db.session.execute(
                select(ProcessInstance.case_id, MessageSubscription.message_name)
                .join(ProcessInstance, ProcessInstance.id == MessageSubscription.instance_id)
                .where(ProcessInstance.case_id.in_(open_ids))):
            waits.setdefault(case_id, []).append(name)
    return {c.id: _progress(c, tasks.get(c.id, []), waits.get(c.id, [])) for c in cases}


def _progress(case: Case, tasks: list[HumanTask], waits: list[str]) -> Progress:
    if case.status in (CaseStatus.COMPLETED, CaseStatus.WITHDRAWN):
        return Progress(str(OUTCOMES.get(case.outcome, _l("Closed"))), [], False)
    if case.status == CaseStatus.SUSPENDED:
        return Progress(str(_l("Suspended by the bureau; deadlines are paused")), [], False)
    labels = [str(STEPS.get(t.form_key, t.name)) for t in tasks]
    offices = [t.candidate_org for t in tasks if t.candidate_org is not None]
    waits_on_you = False
    for name in waits:
        if name in WAITS:
            labels.append(str(WAITS[name][0]))
            waits_on_you = waits_on_you or WAITS[name][1]
    return Progress("；".join(dict.fromkeys(labels)) or str(_l("In progress")), list(dict.fromkeys(offices)),
                    waits_on_you)
