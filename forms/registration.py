"""Forms of the registration models (processes/registration/): the clerks' and registrars' decisions."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from forms.common import DecisionForm


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _decisions(*pairs):
    return RadioField(_l("Decision"), choices=list(pairs), validators=[DataRequired()])


APPROVE, REFUSE = ("approve", _l("Approve")), ("refuse", _l("Refuse registration"))


class PreReviewForm(DecisionForm):
    """预审受理: accept; list every material to correct at once (一次性告知); or refuse in writing."""

    decision = _decisions(("accept", _l("Accept")), ("correct", _l("Ask for corrections")),
                          ("refuse", _l("Refuse to accept")))
    items = CheckboxesField(_l("Materials to correct (list them all at once)"), choices=[])
    needs_opinion = ("refuse", "correct")

    def bind(self, case) -> None:
        self.items.choices = [(m["code"], m["name"]) for m in case.service.materials]

    def validate_items(self, field):
        if self.decision.data == "correct" and not field.data:
            raise ValidationError(_l("Tick every material the applicant must correct."))


class ReviewForm(DecisionForm):
    decision = _decisions(APPROVE, ("escalate", _l("Refer to the city")), REFUSE)
    needs_opinion = ("refuse", "escalate")


class FirstReviewForm(DecisionForm):
    decision = _decisions(APPROVE, REFUSE)
    needs_opinion = ("refuse",)


class SecondReviewForm(DecisionForm):
    decision = _decisions(APPROVE, ("send_back", _l("Back to the first review")), ("escalate", _l("Refer to the city")),
                          REFUSE)
    needs_opinion = ("refuse", "send_back", "escalate")


class CityReviewForm(DecisionForm):
    decision = _decisions(APPROVE, REFUSE)
    needs_opinion = ("refuse",)


class EntryForm(DecisionForm):
    """登簿: the registrar enters the case's changes in the register, or refuses registration."""

    decision = _decisions(("enter", _l("Enter in the register")), REFUSE)
    needs_opinion = ("refuse",)


class IssueForm(DecisionForm):
    decision = _decisions(("issue", _l("Issued")))
    channel = RadioField(_l("How the applicant receives it"), choices=[
        ("online", _l("Electronic certificate, downloaded online (no visit)")), ("post", _l("By post (no visit)")),
        ("window", _l("Collected at the window (one visit)"))], validators=[DataRequired()])


class CourtAckForm(DecisionForm):
    decision = _decisions(("acknowledge", _l("Checked; reply sent to the court")))
