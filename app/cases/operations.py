"""Opening cases: numbering, deadlines, and starting the service's process."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.cases import materials
from app.cases.models import Case, Service
from app.core.clock import now_utc
from app.core.deadlines import deadline_after
from app.engine import runtime
from app.engine.definitions import latest_definition
from app.engine.errors import EngineError
from app.extensions import db
from app.orgs import tree
from app.orgs.models import OrgUnit, Tier, User

DEMO_SERVICE = "demo_review"

def township_choices() -> list[tuple[int, str]]:
    return tree.townships()


def open_case(service: Service, jurisdiction: OrgUnit, title: str, data: dict, *, applicant: User | None,
              actor_id: int | None, applicant_data: dict | None = None, uploads: dict | None = None,
              submission_key: str | None = None, unit_no: str = "", rows=None) -> Case:
    """Create the case, fix its committed deadline, attach the checked `uploads` ({material code:
    Upload}) and start the service's current process version. `rows(case)` may return more rows
    that belong to the case (its parties, ...), written with it."""
    definition = latest_definition(service.process_id)
    if definition is None or not service.active:
        raise EngineError(_l("This service is not available at the moment."))
    now = now_utc()
    deadline = deadline_after(service.committed_days, now)
    case = Case(case_no="", service_code=service.code, title=title, jurisdiction=jurisdiction,
                jurisdiction_id=jurisdiction.id, applicant=applicant, submitted_at=now, due_at=deadline.due_at,
                due_estimated=deadline.estimated, applicant_data=applicant_data or {}, submission_key=submission_key,
                unit_no=unit_no)
    db.session.add(case)
    db.session.flush()
    # Office code, year and a serial unique across the system: readable on the phone and on paper.
    case.case_no = f"{jurisdiction.code[:6]}-{now.year}-{case.id:07d}"
    # The files and their timeline line are saved with the process's first state: one audit entry.
    stored = materials.store(case, uploads or {}, actor_id)
    if rows is not None:
        db.session.add_all(rows(case))
    events, detail = materials.recorded(case, stored, actor_id)
    runtime.start(case, definition, data, actor_id, events=events, audit_detail=detail)
    return case


def submit_demo_application(applicant: User, form_data: dict, uploads: dict) -> Case:
    service = db.session.get(Service, DEMO_SERVICE)
    township = db.session.get(OrgUnit, form_data["township"])
    if service is None or township is None or township.tier != Tier.TOWNSHIP:
        raise EngineError(_l("Choose a township or street from the list."))
    return open_case(service, township, form_data["title"].strip(), {"area_m2": float(form_data["area_m2"])},
                     applicant=applicant, actor_id=applicant.id,
                     applicant_data={"name": applicant.display_name, "id_number": applicant.id_number or ""},
                     uploads=uploads, submission_key=form_data["submission_key"])


def already_submitted(applicant: User, submission_key: str) -> Case | None:
    return db.session.scalar(select(Case).where(Case.submission_key == submission_key,
                                                Case.applicant_id == applicant.id))
