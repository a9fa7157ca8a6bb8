"""formKey (a property on each BPMN user task) -> the WTForms class that collects its data."""

from forms.common import DemoAcceptForm, DemoCityApproveForm, DemoReviewForm

FORMS = {
    "demo_accept": DemoAcceptForm,
    "demo_review": DemoReviewForm,
    "demo_city_approve": DemoCityApproveForm,
}


def form_for(form_key: str):
    try:
        return FORMS[form_key]
    except KeyError:
        raise LookupError(f"no form registered for formKey {form_key!r}") from None
