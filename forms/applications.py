"""Online application forms of the registration services, one per catalogue `form_key`. Each turns
its checked fields into an `Application` (app/register/applications.py); the register-dependent
checks (who holds the unit, seizures, pending cases) run there, so one message lists them all."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, FieldList, Form, FormField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import UUID, DataRequired, Length, NumberRange, Optional, ValidationError

from app.register.applications import Application, PartyInput, identify
from app.register.unit_numbers import UnitNumberError, parse
from forms.uploads import MaterialField


def _unit_number(form, field):
    try:
        field.data = parse(field.data or "").value
    except UnitNumberError as exc:
        raise ValidationError(str(exc)) from None


def _id_number(form, field):
    if field.data:
        try:
            field.data = identify(field.data)[1]
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class PartyForm(Form):
    """One party: a name and an ID number (resident ID or unified social credit code)."""

    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    id_number = StringField(_l("ID number"), validators=[Optional(), Length(max=20), _id_number])
    share = DecimalField(_l("Share"), places=4, validators=[Optional(), NumberRange(min=Decimal("0.0001"), max=1)])

    def validate_name(self, field):
        if bool((field.data or "").strip()) != bool(self.id_number.data):
            raise ValidationError(_l("Give both the name and the ID number, or neither."))


def _parties(field) -> list[PartyInput]:
    return [PartyInput(e.form.name.data.strip(), e.form.id_number.data, e.form.share.data)
            for e in field.entries if (e.form.name.data or "").strip()]


def _at_least_one(form, field):
    if not any((e.form.name.data or "").strip() for e in field.entries):
        raise ValidationError(_l("Give at least one party."))


class ApplicationForm(FlaskForm):
    submission_key = HiddenField(validators=[DataRequired(), UUID()])
    draft_id = HiddenField()
    unit_no = StringField(_l("Real-estate unit number (28 characters)"), validators=[DataRequired(), _unit_number])
    office = SelectField(_l("Service point (where any visit would be)"), coerce=int, validators=[DataRequired()])
    save_draft = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit application"))

    def material_fields(self) -> list[MaterialField]:
        return [f for f in self if isinstance(f, MaterialField)]

    def detail_fields(self) -> list:
        skip = {"submission_key", "draft_id", "unit_no", "office", "save_draft", "submit", "csrf_token"}
        return [f for f in self if f.name not in skip and not isinstance(f, MaterialField)]

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data)


class TransferForm(ApplicationForm):
    sellers = FieldList(FormField(PartyForm), label=_l("Sellers (every holder in the register)"), min_entries=2,
                        max_entries=2, validators=[_at_least_one])
    buyers = FieldList(FormField(PartyForm), label=_l("Buyers"), min_entries=2, max_entries=2,
                       validators=[_at_least_one])
    holding = SelectField(_l("How the buyers will hold it"), choices=[
        ("sole", _l("Sole owner")), ("joint", _l("Joint ownership")), ("shares", _l("Ownership in shares"))])
    price_yuan = DecimalField(_l("Price (yuan)"), places=2,
                              validators=[DataRequired(), NumberRange(min=1, max=10_000_000_000)])
    contract_no = StringField(_l("Contract number (filed online)"), validators=[DataRequired(), Length(max=64)])
    id_proof = MaterialField(_l("Applicants' proof of identity"), code="id_proof", required=True)
    title_cert = MaterialField(_l("Title certificate"), code="title_cert", required=True)
    contract = MaterialField(_l("Sale contract"), code="contract", required=True)
    marriage = MaterialField(_l("Proof of marital status (optional)"), code="marriage")

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data, obligors=_parties(self.sellers),
                           holders=_parties(self.buyers), holding=self.holding.data, price_yuan=self.price_yuan.data,
                           contract_no=self.contract_no.data.strip())


class MortgageForm(ApplicationForm):
    mortgagors = FieldList(FormField(PartyForm), label=_l("Mortgagors (every holder in the register)"),
                           min_entries=2, max_entries=2, validators=[_at_least_one])
    bank_name = StringField(_l("Lending bank"), validators=[DataRequired(), Length(max=100)])
    bank_id_number = StringField(_l("Bank's unified social credit code"),
                                 validators=[DataRequired(), Length(max=20), _id_number])
    amount_yuan = DecimalField(_l("Secured amount (yuan)"), places=2,
                               validators=[DataRequired(), NumberRange(min=1, max=10_000_000_000)])
    contract_no = StringField(_l("Mortgage contract number"), validators=[DataRequired(), Length(max=64)])
    id_proof = MaterialField(_l("Applicants' proof of identity"), code="id_proof", required=True)
    title_cert = MaterialField(_l("Title certificate"), code="title_cert", required=True)
    loan_contract = MaterialField(_l("Loan and mortgage contracts"), code="loan_contract", required=True)

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data, obligors=_parties(self.mortgagors),
                           holders=[PartyInput(self.bank_name.data.strip(), self.bank_id_number.data)],
                           amount_yuan=self.amount_yuan.data, contract_no=self.contract_no.data.strip())


class CancellationForm(ApplicationForm):
    mortgage_key = StringField(_l("Mortgage number in the register"), validators=[DataRequired(), Length(max=32)])
    id_proof = MaterialField(_l("Applicant's proof of identity"), code="id_proof", required=True)
    release_proof = MaterialField(_l("Proof the mortgage has ended"), code="release_proof", required=True)

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data,
                           mortgage_key=self.mortgage_key.data.strip().upper())


class ChangeForm(ApplicationForm):
    old_name = StringField(_l("Name as in the register"), validators=[DataRequired(), Length(max=100)])
    old_id_number = StringField(_l("ID number as in the register"),
                                validators=[DataRequired(), Length(max=20), _id_number])
    new_name = StringField(_l("Name now"), validators=[DataRequired(), Length(max=100)])
    new_id_number = StringField(_l("ID number now"), validators=[DataRequired(), Length(max=20), _id_number])
    id_proof = MaterialField(_l("Applicant's proof of identity"), code="id_proof", required=True)
    title_cert = MaterialField(_l("Title certificate"), code="title_cert", required=True)
    change_proof = MaterialField(_l("Proof of the change"), code="change_proof", required=True)

    def validate_new_name(self, field):
        if field.data.strip() == self.old_name.data.strip() and self.new_id_number.data == self.old_id_number.data:
            raise ValidationError(_l("Nothing has changed: give the new name or the new ID number."))

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data,
                           obligors=[PartyInput(self.old_name.data.strip(), self.old_id_number.data)],
                           holders=[PartyInput(self.new_name.data.strip(), self.new_id_number.data)])


class ReplacementForm(ApplicationForm):
    """换证、补证: which certificate, and whether it is damaged (exchanged) or lost (re-issued after a
    public notice). Both materials are optional here; the application check asks for the one the
    reason needs, counting a file kept with a draft."""

    certificate_no = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=64)])
    reason = SelectField(_l("Why a new certificate is needed"), choices=[
        ("damaged", _l("It is damaged: exchange it")),
        ("lost", _l("It is lost: re-issue it after a public notice of 15 working days"))])
    id_proof = MaterialField(_l("Applicant's proof of identity"), code="id_proof", required=True)
    damaged_cert = MaterialField(_l("The damaged certificate (for an exchange)"), code="damaged_cert")
    loss_statement = MaterialField(_l("Loss statement (for a re-issue)"), code="loss_statement")

    def to_application(self) -> Application:
        return Application(unit_no=self.unit_no.data, office_id=self.office.data,
                           certificate_no=self.certificate_no.data, reason=self.reason.data)


APPLICATION_FORMS = {"reg_transfer": TransferForm, "reg_mortgage": MortgageForm,
                     "reg_mortgage_cancellation": CancellationForm, "reg_change": ChangeForm,
                     "reg_certificate_replacement": ReplacementForm}
