from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class SignupForm(FlaskForm):
    """An applicant's account. The ID number is checked by its check digit here; production ties the
    account to the province's real-name authentication, which this form stands in for."""

    username = StringField(_l("Username"), validators=[
        DataRequired(), Length(min=3, max=64),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("Use letters, digits, dot, dash or underscore."))])
    display_name = StringField(_l("Full name or organisation name"), validators=[DataRequired(), Length(max=100)])
    id_number = StringField(_l("Resident ID number or unified social credit code"),
                            validators=[DataRequired(), Length(max=20)])
    phone = StringField(_l("Mobile phone (optional)"), validators=[
        Optional(), Regexp(r"^1\d{10}$", message=_l("A mobile number has 11 digits and starts with 1."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=256)])
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])

    def validate_id_number(self, field):
        from app.register.applications import identify

        try:
            self.id_type, field.data = identify(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
