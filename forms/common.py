"""Forms of the demo review process (processes/common/demo_review.bpmn)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import UUID, DataRequired, Length, NumberRange, ValidationError

from forms.uploads import MaterialField


class DecisionForm(FlaskForm):
    """A decision among the model's branches, with an opinion that is required when sending back or refusing."""

    decision = RadioField(_l("Decision"), validators=[DataRequired()])
    opinion = TextAreaField(_l("Opinion"), validators=[Length(max=2000)])
    needs_opinion: tuple[str, ...] = ("reject", "send_back")

    def validate_opinion(self, field):
        if self.decision.data in self.needs_opinion and not (field.data or "").strip():
            raise ValidationError(_l("Give your reasons for this decision."))


class DemoAcceptForm(DecisionForm):
    decision = RadioField(_l("Decision"), choices=[("accept", _l("Accept")), ("reject", _l("Refuse"))],
                          validators=[DataRequired()])


class DemoReviewForm(DecisionForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve")), ("send_back", _l("Send back")), ("escalate", _l("Escalate to the city"))],
        validators=[DataRequired()],
    )


class DemoCityApproveForm(DecisionForm):
    decision = RadioField(_l("Decision"), choices=[("approve", _l("Approve")), ("reject", _l("Reject"))],
                          validators=[DataRequired()])


class DemoApplicationForm(FlaskForm):
    """An application to the demo service: where the land is and how large."""

    submission_key = HiddenField(validators=[DataRequired(), UUID()])
    title = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    township = SelectField(_l("Township or street"), coerce=int, validators=[DataRequired()])
    area_m2 = DecimalField(_l("Area (m²)"), places=2,
                           validators=[DataRequired(), NumberRange(min=0.01, max=10_000_000)])
    # Codes and requirements as in the demo service's catalogue row (app/demo_data.py).
    site_plan = MaterialField(_l("Parcel map (PDF, JPEG or PNG)"), code="site_plan", required=True)
    id_copy = MaterialField(_l("Proof of identity (optional)"), code="id_copy")
