"""formKey (a property on each BPMN user task) -> the WTForms class that collects its data."""

from forms import registration as reg
from forms.common import DemoAcceptForm, DemoCityApproveForm, DemoReviewForm

FORMS = {
    "demo_accept": DemoAcceptForm,
    "demo_review": DemoReviewForm,
    "demo_city_approve": DemoCityApproveForm,
    "reg_pre_review": reg.PreReviewForm,
    "reg_review": reg.ReviewForm,
    "reg_first_review": reg.FirstReviewForm,
    "reg_second_review": reg.SecondReviewForm,
    "reg_city_review": reg.CityReviewForm,
    "reg_entry": reg.EntryForm,
    "reg_issue": reg.IssueForm,
    "reg_court_ack": reg.CourtAckForm,
}


def form_for(form_key: str):
    try:
        return FORMS[form_key]
    except KeyError:
        raise LookupError(f"no form registered for formKey {form_key!r}") from None
