"""Forms of the staff pages (Flask-WTF: CSRF on every one)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from citizen_desk.core.forms import Versioned
from citizen_desk.staff.models import Role, TokenPurpose

ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.manager: _l("Office manager"),
    Role.clerk: _l("Counter clerk"),
    Role.ngo: _l("NGO staff"),
}
PURPOSE_LABELS = {
    TokenPurpose.kiosk: _l("Ticket kiosk"),
    TokenPurpose.display: _l("Waiting-room display"),
    TokenPurpose.integration: _l("Integration"),
}
LANGUAGE_CHOICES = [SelectChoice("el", "Ελληνικά"), SelectChoice("en", "English")]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter your e-mail address.")), Length(max=254)])
    # No length limit here: an over-long password fails like any wrong one.
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])
    submit = SubmitField(_l("Sign in"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password."))],
        description=_l("At least 12 characters. Several unrelated words are easy to remember "
                       "and hard to guess."))
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Enter the new password again.")),
        EqualTo("new_password", _l("The two new passwords are not the same."))])
    submit = SubmitField(_l("Change password"))


class StaffForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[
        DataRequired(_l("Enter an e-mail address like name@example.gr.")), Length(max=254)])
    display_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the person's name.")), Length(max=200)])
    locale = SelectField(_l("Language of the staff pages"), choices=LANGUAGE_CHOICES)
    role = SelectField(_l("Role"), choices=[])
    office = SelectField(_l("Office"), choices=[], validators=[Optional()])
    organisation = SelectField(_l("Organisation"), choices=[], validators=[Optional()])
    submit = SubmitField(_l("Create account"))


class ProfileForm(Versioned, FlaskForm):
    display_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter the person's name.")), Length(max=200)])
    locale = SelectField(_l("Language of the staff pages"), choices=LANGUAGE_CHOICES)
    submit = SubmitField(_l("Save"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[])
    office = SelectField(_l("Office"), choices=[], validators=[Optional()])
    submit = SubmitField(_l("Add role"))



class DeviceTokenForm(FlaskForm):
    name = StringField(_l("Device name"), validators=[
        DataRequired(_l("Give the device a name, e.g. “Display hall A”.")), Length(max=200)])
    office = SelectField(_l("Office"), choices=[])
    purpose = SelectField(_l("Purpose"), choices=[
        SelectChoice(TokenPurpose.kiosk.value, PURPOSE_LABELS[TokenPurpose.kiosk]),
        SelectChoice(TokenPurpose.display.value, PURPOSE_LABELS[TokenPurpose.display])])
    submit = SubmitField(_l("Create token"))


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the organisation's name.")), Length(max=200)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    contact_email = EmailField(_l("Contact e-mail"), validators=[Optional(), Length(max=254)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=40)])
    submit = SubmitField(_l("Create organisation"))
